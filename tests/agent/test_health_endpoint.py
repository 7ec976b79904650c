"""`contivpy agent`'s HTTP endpoint as a probe sees it: /healthz, /readyz and /metrics answer
from the process's first moment, and /readyz says what the agent waits for until it serves."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from contivpy.store.embedded import EmbeddedEtcd
from doubles.agent_process import AgentProcess


@pytest.fixture
def agent(etcd_server: EmbeddedEtcd, key_prefix: str) -> Iterator[AgentProcess]:
    # Short: unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="cvhttp", dir="/tmp") as directory:
        process = AgentProcess(
            Path(directory), {"endpoints": [etcd_server.endpoint], "prefix": key_prefix}
        )
        try:
            yield process
        finally:
            process.kill()


def test_readyz_names_what_the_agent_waits_for_until_it_serves(agent: AgentProcess) -> None:
    body = agent.wait_for("/readyz", 503, f"waiting for VPP at {agent.vpp_socket}")
    assert body == f"not ready: waiting for VPP at {agent.vpp_socket}\n"
    assert agent.get("/healthz")[:2] == (200, "text/plain; charset=utf-8")  # alive meanwhile
    status, content_type, _ = agent.get("/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")  # the exposition format

    agent.start_vpp()
    assert agent.wait_for("/readyz", 200) == "ready\n"
    assert agent.get("/healthz")[0::2] == (200, "ok\n")
    status, content_type, metrics = agent.get("/metrics")
    assert (status, content_type.split(";")[0]) == (200, "text/plain")
    assert "\ncontivpy_agent_" in metrics, metrics[:2000]
    assert agent.stop() == 0, agent.log_text()


def test_an_unknown_path_is_404(agent: AgentProcess) -> None:
    assert agent.get("/nothing")[0] == 404
    assert agent.stop() == 0, agent.log_text()


OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"
DOC_PORT = "9999"  # http.address's default port, which docs/OPERATIONS.md's commands use


def checking_it() -> list[str]:
    """The command lines of OPERATIONS.md's "Checking it" block."""
    section = OPERATIONS.read_text().split("### Checking it", 1)[1]
    block = section.split("```", 2)[1]
    return [line for line in block.splitlines()[1:] if line.strip()]


def test_the_operations_guides_checks_answer_as_it_says(agent: AgentProcess) -> None:
    """docs/OPERATIONS.md's curl lines, run through a shell against a real agent, print what
    their comments say. Only the port is substituted: this agent binds a free port, not
    9999, so parallel tests (and anything on the machine) cannot collide with it. The
    systemctl and systemd-analyze lines need the unit installed and running under systemd:
    tests/deploy/test_systemd_unit.py checks the unit file with systemd-analyze instead."""
    lines = checking_it()
    curls = [line for line in lines if line.startswith("curl ")]
    assert len(curls) == 3, lines
    assert all(line.split()[0] in ("curl", "systemctl", "systemd-analyze") for line in lines)
    agent.start_vpp()
    agent.wait_for("/readyz", 200)
    port = str(agent.http_port())
    for line in curls:
        command, _, comment = line.partition("#")
        assert f"127.0.0.1:{DOC_PORT}/" in command, line
        done = subprocess.run(
            ["bash", "-c", command.replace(f":{DOC_PORT}/", f":{port}/")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        if comment.strip():
            assert done.stdout.strip() == comment.strip(), (line, done.stdout)
        else:
            assert "contivpy_agent_" in done.stdout, line
    assert agent.stop() == 0, agent.log_text()
