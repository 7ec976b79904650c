"""`contivpy agent`'s HTTP endpoint as a probe sees it: /healthz, /readyz and /metrics answer
from the process's first moment, and /readyz says what the agent waits for until it serves."""

from __future__ import annotations

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
