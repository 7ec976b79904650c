"""Shared by the deploy tests: the Kubernetes API stand-in as a user starts it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def standin_kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """`contivpy sim kube serve --port 0 --kubeconfig K` running; K, once written."""
    path = tmp_path / "kubeconfig"
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "contivpy.cli", "sim", "kube", "serve", "--port", "0"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*command, "--kubeconfig", str(path)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while not path.exists() or not path.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the stand-in wrote no kubeconfig"
            time.sleep(0.05)
        yield path
    finally:
        server.terminate()
        server.wait(timeout=30)
