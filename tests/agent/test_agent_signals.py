"""`contivpy agent` as a process: SIGTERM and SIGINT stop it in every phase (waiting for etcd,
the embedded etcd starting, waiting for VPP, running) with exit code 0 and nothing left
running, and `contivpy ctl status` says from the first moment what the agent waits for.

The bound on a stop is a generous timeout on the wait for the process, not a measurement.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from contivpy.store.embedded import EmbeddedEtcd

BIN = Path(sys.executable).parent
STOP_TIMEOUT = 10.0  # generous: the agent promises 2 s
SIGNALS = [signal.SIGTERM, signal.SIGINT]


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="cvsig", dir="/tmp") as directory:
        yield Path(directory)


class AgentProcess:
    """`contivpy agent --config FILE` with its sockets and state under one directory."""

    def __init__(self, work: Path, store: dict[str, object]) -> None:
        self.work = work
        self.vpp_socket = work / "api.sock"
        self.debug_socket = work / "debug.sock"
        self.log = work / "agent.log"
        config = {
            "nodeName": "sig-node",
            "configureLinux": False,
            "store": store,
            "paths": {
                "stateDir": str(work / "state"),
                "vppSocket": str(self.vpp_socket),
                "cniSocket": str(work / "cni.sock"),
                "debugSocket": str(self.debug_socket),
            },
        }
        self.config = work / "agent.yaml"
        self.config.write_text(yaml.safe_dump(config))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "contivpy"), "--log-json", "agent", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ctl_status(self) -> subprocess.CompletedProcess[str]:
        # The socket through the environment: `ctl --socket` parsing is issue 14's.
        env = {**os.environ, "CONTIVPY_DEBUG_SOCKET": str(self.debug_socket)}
        return subprocess.run(
            [str(BIN / "contivpy"), "ctl", "status"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    def wait_for_status(self, wanted: str) -> str:
        """Poll `ctl status` until its output contains ``wanted``; the output."""
        deadline = time.monotonic() + 60
        last = ""
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"agent exited early: {self.log_text()}"
            if self.debug_socket.exists():
                done = self.ctl_status()
                last = done.stdout + done.stderr
                if done.returncode == 0 and wanted in done.stdout:
                    return done.stdout
            time.sleep(0.1)
        raise AssertionError(f"ctl status never showed {wanted!r}; last: {last}")

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig``; the exit code (the wait times out if the agent ignores it)."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_events(self) -> list[dict[str, object]]:
        events = []
        for line in self.log_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return events

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


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
    vpp_socket = workdir / "api.sock"
    sim = subprocess.Popen(
        [str(BIN / "contivpy"), "vppsim", "--socket", str(vpp_socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        agent = start_agent({"endpoints": [etcd_server.endpoint], "prefix": key_prefix})
        status = agent.wait_for_status("phase        running")
        assert "vpp          connected" in status
        assert agent.stop(signal.SIGTERM) == 0, agent.log_text()
        assert stop_logged_in(agent, "running"), agent.log_text()
    finally:
        sim.terminate()
        sim.wait(timeout=30)
