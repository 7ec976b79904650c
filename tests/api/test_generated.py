"""The committed generated code (src/contivpy/_gen) is what scripts/gen-proto makes now."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "src" / "contivpy" / "_gen"


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_committed_generated_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    plugin = Path(sys.executable).parent / "protoc-gen-python_betterproto2"
    if importlib.util.find_spec("grpc_tools") is None or not plugin.exists():
        pytest.skip(
            "needs grpcio-tools and betterproto2-compiler (the dev extras) in this Python's "
            "environment to regenerate src/contivpy/_gen"
        )
    out = tmp_path / "gen"
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        [str(ROOT / "scripts" / "gen-proto"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    fresh, committed = _files(out), _files(GENERATED)
    assert sorted(fresh) == sorted(committed), "run scripts/gen-proto: generated files differ"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run scripts/gen-proto: {stale} differ from proto/"
