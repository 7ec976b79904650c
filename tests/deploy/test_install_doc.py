"""docs/INSTALL.md's commands work as written.

Blocks fenced as ```` ```sh ```` are run here verbatim, one line at a time and in the order of
the document, from a copy of the repository's deploy/ and scripts/ (so regenerating files
leaves the tree alone), with kubectl pointed at the stand-in API server (`contivpy sim kube
serve`): each exits 0. Blocks fenced as ```` ```sh cluster-only ```` need a real cluster, its
nodes or Docker; of those, the files they name must exist and each `contivpy` command line
must be one contivpy's CLI accepts. Every fenced block is one or the other.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contivpy.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "INSTALL.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUN_HERE, CLUSTER_ONLY = "sh", "sh cluster-only"


def blocks(info: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text()) if kind == info]


def lines(info: str) -> list[str]:
    return [line for body in blocks(info) for line in body.splitlines() if line.strip()]


def test_every_block_is_marked() -> None:
    kinds = [kind for kind, _ in FENCE.findall(DOC.read_text())]
    assert kinds
    assert set(kinds) <= {RUN_HERE, CLUSTER_ONLY}, kinds


def test_the_readme_links_the_install_guide() -> None:
    assert "(docs/INSTALL.md)" in (ROOT / "README.md").read_text()


def test_cluster_only_commands_name_what_exists() -> None:
    parser = build_parser()
    commands = lines(CLUSTER_ONLY)
    assert commands
    for line in commands:
        for path in re.findall(r"\bdeploy/[\w./-]*\w", line):
            assert (ROOT / path).exists(), (path, line)
        words = shlex.split(line)
        if "contivpy" in words:
            args = parser.parse_args(words[words.index("contivpy") + 1 :])
            assert args.handler is not None, line


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """deploy/ and scripts/ copied, .venv linked: the commands' relative paths resolve."""
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("deploy", "scripts"):
        shutil.copytree(ROOT / name, work / name)
    (work / ".venv").symlink_to(ROOT / ".venv")
    return work


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_commands_run_verbatim(workdir: Path, standin_kubeconfig: Path) -> None:
    commands = lines(RUN_HERE)
    assert any(line.startswith("kubectl apply -f") for line in commands)
    env = dict(
        os.environ,
        KUBECONFIG=str(standin_kubeconfig),
        HOME=str(standin_kubeconfig.parent),  # kubectl's cache
        PYTHON=sys.executable,
    )
    before = (workdir / "deploy" / "kubernetes" / "agent-config.yaml").read_text()
    for line in commands:
        done = subprocess.run(
            ["bash", "-c", line], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    assert (workdir / "deploy" / "kubernetes" / "agent-config.yaml").read_text() == before
