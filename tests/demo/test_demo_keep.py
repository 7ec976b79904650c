"""`contivpy demo --keep`, as README.md gives it: the cluster keeps running and every command
the demo prints under "Try:" works as printed (the installed `contivpy` on the PATH, from the
repository's root, where its `examples/` are); Ctrl-C then stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_every_command_the_kept_demo_prints_works_as_printed(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = (tmp_path / "stderr").open("w")
    with (
        log,
        subprocess.Popen(
            [str(BIN / "contivpy"), "demo", "--keep", "--workdir", str(tmp_path / "demo")],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
            env=env,
        ) as demo,
    ):
        try:
            _run_printed_commands(demo, env)
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(60)
            finally:
                if demo.poll() is None:
                    demo.kill()
    assert demo.returncode == 0, (tmp_path / "stderr").read_text()[-3000:]


def _run_printed_commands(demo: subprocess.Popen[str], env: dict[str, str]) -> None:
    assert demo.stdout is not None
    lines: list[str] = []
    started = time.monotonic()
    for line in demo.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("The cluster keeps running") or time.monotonic() - started > 180:
            break
    assert any(line.startswith("OK:") for line in lines), "\n".join(lines)
    commands = []
    for line in demo.stdout:
        if not line.startswith("  contivpy "):
            break
        commands.append(line.strip())
        if "sim kube apply" in line:
            break  # the last one printed
    assert {c.split()[4] for c in commands if " ctl " in c} >= {"status", "events", "nat"}
    for command in commands:
        done = subprocess.run(
            command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert done.stdout.strip(), command
