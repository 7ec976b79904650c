"""`contivpy agent` as a process: SIGTERM and SIGINT stop it in every phase (waiting for etcd,
the embedded etcd starting, waiting for VPP, running) with exit code 0 and nothing left
running, and `contivpy ctl status` says from the first moment what the agent waits for.

The bound on a stop is a generous timeout on the wait for the process, not a measurement.
"""

from __future__ import annotations

import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contivpy.store.embedded import EmbeddedEtcd
from doubles.agent_process import AgentProcess

SIGNALS = [signal.SIGTERM, signal.SIGINT]


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="cvsig", dir="/tmp") as directory:
        yield Path(directory)


@pytest.fixture
def start_agent(workdir: Path) -> Iterator[Callable[[dict[str, object]], AgentProcess]]:
    agents: list[AgentProcess] = []

    def start(store: dict[str, object]) -> AgentProcess:
        agent = AgentProcess(workdir, store)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.kill()


def stop_logged_in(agent: AgentProcess, phase: str) -> bool:
    return any(
        event.get("event") == "stop requested" and event.get("phase") == phase
        for event in agent.log_events()
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def processes_using(path: Path) -> list[int]:
    """Pids whose command line mentions ``path`` (an etcd's data directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_waiting_for_vpp_stops_the_agent(
    sig: signal.Signals,
    start_agent: Callable[[dict[str, object]], AgentProcess],
    etcd_server: EmbeddedEtcd,
    key_prefix: str,
) -> None:
    agent = start_agent({"endpoints": [etcd_server.endpoint], "prefix": key_prefix})
    status = agent.wait_for_status("waiting for VPP")
    waiting = f"waiting for VPP at {agent.vpp_socket}"
    assert f"phase        {waiting}" in status
    assert f"etcd         {etcd_server.endpoint}" in status
    assert agent.stop(sig) == 0, agent.log_text()
    assert stop_logged_in(agent, waiting), agent.log_text()
    assert not agent.debug_socket.exists()  # the debug API was stopped, not abandoned


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_while_waiting_for_etcd_stops_the_agent(
    sig: signal.Signals, start_agent: Callable[[dict[str, object]], AgentProcess]
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"  # nothing listens there
    agent = start_agent({"endpoints": [endpoint], "dialTimeout": 600})
    status = agent.wait_for_status("waiting for etcd")
    assert f"waiting for etcd at {endpoint}" in status
    assert agent.stop(sig) == 0, agent.log_text()
    assert stop_logged_in(agent, f"waiting for etcd at {endpoint}"), agent.log_text()


def test_a_signal_while_the_embedded_etcd_starts_leaves_no_etcd_running(
    start_agent: Callable[[dict[str, object]], AgentProcess], workdir: Path
) -> None:
    agent = start_agent({})  # no endpoints: an embedded etcd under the state directory
    deadline = time.monotonic() + 60
    while not agent.debug_socket.exists():  # up before etcd is: stop it while etcd starts
        assert time.monotonic() < deadline, agent.log_text()
        assert agent.process.poll() is None, agent.log_text()
        time.sleep(0.01)
    assert agent.stop(signal.SIGTERM) == 0, agent.log_text()
    assert processes_using(workdir / "state" / "etcd") == [], agent.log_text()


def test_a_signal_while_running_stops_the_agent(
    start_agent: Callable[[dict[str, object]], AgentProcess],
    etcd_server: EmbeddedEtcd,
    key_prefix: str,
    workdir: Path,
) -> None:
    agent = start_agent({"endpoints": [etcd_server.endpoint], "prefix": key_prefix})
    agent.start_vpp()
    status = agent.wait_for_status("phase        running")
    assert "vpp          connected" in status
    assert agent.stop(signal.SIGTERM) == 0, agent.log_text()
    assert stop_logged_in(agent, "running"), agent.log_text()
