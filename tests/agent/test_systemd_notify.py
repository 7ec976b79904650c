"""What the agent tells systemd, read from a real NOTIFY_SOCKET datagram socket as systemd
would: STATUS lines through the phases, READY=1 after the first resync, WATCHDOG=1 while the
event loop is alive and none while it is stuck, STOPPING=1 at the stop.

No wall-clock assertions: what must arrive is waited for generously; what must not arrive is
watched for over many ping intervals."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contivpy.agent.health import AgentHealth, HealthSettings
from contivpy.agent.http_server import AgentHttpServer
from contivpy.agent.lifecycle import AgentLifecycle
from contivpy.agent.systemd_notify import NotifySocket, SystemdReporter
from contivpy.events.types import HealingResync
from contivpy.store.embedded import EmbeddedEtcd
from doubles.agent_nodes import Node
from doubles.agent_process import AgentProcess

WAIT = 30.0


class Listener:
    """systemd's side: a datagram socket collecting notifications, one message per datagram."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.messages: list[list[str]] = []

    def poll(self, seconds: float) -> list[list[str]]:
        """The messages that arrive within ``seconds`` (also kept in ``messages``)."""
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            got.append(data.decode().split("\n"))
        self.messages += got
        return got

    def wait_for(self, line: str, within: float = WAIT) -> list[str]:
        """Collect until a message holding ``line`` (or starting with it, for "KEY=") arrives;
        that message."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for message in self.poll(0.1):
                if any(
                    got == line or (line.endswith("=") and got.startswith(line)) for got in message
                ):
                    return message
        raise AssertionError(f"no {line!r} within {within} s; got {self.messages}")

    def lines(self) -> list[str]:
        return [line for message in self.messages for line in message]


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short: unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="cvsd", dir="/tmp") as directory:
        yield Path(directory)


@pytest.mark.timeout(120)  # ~14 s: a real agent process waits for VPP, then for its stop
def test_a_started_agent_tells_systemd_each_phase_readiness_liveness_and_its_stop(
    workdir: Path, etcd_server: EmbeddedEtcd, key_prefix: str
) -> None:
    listener = Listener(str(workdir / "notify.sock"))
    env = {"NOTIFY_SOCKET": str(workdir / "notify.sock"), "WATCHDOG_USEC": "200000"}
    store: dict[str, object] = {"endpoints": [etcd_server.endpoint], "prefix": key_prefix}
    agent = AgentProcess(workdir, store, env=env)
    try:
        listener.wait_for(f"STATUS=waiting for VPP at {agent.vpp_socket}")
        # Waiting for VPP is the normal start: alive, so the start timeout is extended...
        # (re-sent every 10 s: the first may have come with the status already)
        if not any(line.startswith("EXTEND_TIMEOUT_USEC=") for line in listener.lines()):
            listener.wait_for("EXTEND_TIMEOUT_USEC=")
        listener.wait_for("WATCHDOG=1")
        assert "READY=1" not in listener.lines()  # ...but not ready

        agent.start_vpp()
        ready = listener.wait_for("READY=1")
        assert "STATUS=ready: 0 pods" in listener.lines() + ready
        pings_after_ready = sum(m.count("WATCHDOG=1") for m in listener.poll(2.0))
        assert pings_after_ready >= 2, listener.messages  # every 0.1 s; 2 in 2 s is generous

        assert agent.stop() == 0, agent.log_text()
        listener.wait_for("STOPPING=1", within=5)
        lines = listener.lines()
        assert lines.index("READY=1") < lines.index("STOPPING=1")
    finally:
        agent.kill()
        listener.sock.close()


def test_the_environment_variables_are_taken_from_the_process() -> None:
    environ = {"NOTIFY_SOCKET": "@cv-test", "WATCHDOG_USEC": "30000000", "OTHER": "x"}
    notify = NotifySocket.from_environment(environ)
    assert environ == {"OTHER": "x"}  # children do not inherit them
    assert notify.enabled
    assert notify.watchdog_interval == 15.0  # half of WatchdogSec
    notify.close()
    other_pid = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    not_ours = NotifySocket.from_environment(other_pid)
    assert not_ours.watchdog_interval is None  # the watchdog is another process's
    not_ours.close()
    without = NotifySocket.from_environment({})
    assert not without.enabled
    assert without.send("READY=1") is False  # not started by systemd: nothing is sent


def test_an_abstract_notify_socket_is_reached() -> None:
    name = f"cv-notify-test-{os.getpid()}"
    listener = Listener(f"\0{name}")
    try:
        notify = NotifySocket(f"@{name}")
        assert notify.send("READY=1", "STATUS=ready: 0 pods")
        assert listener.wait_for("READY=1", within=5) == ["READY=1", "STATUS=ready: 0 pods"]
        notify.close()
    finally:
        listener.sock.close()


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.timeout(120)  # ~2 s alone; its waits are WAIT each, longer than the default
async def test_a_stuck_event_loop_stops_the_watchdog_pings_and_fails_healthz(
    make_node: Callable[[str], Awaitable[Node]], workdir: Path
) -> None:
    node = await make_node("stuck")
    agent = await node.start_agent()
    lifecycle = AgentLifecycle("stuck")
    lifecycle.attach(agent)
    health = AgentHealth(lifecycle, HealthSettings(event_stuck_after=0.5))
    listener = Listener(str(workdir / "notify.sock"))
    notify = NotifySocket(str(workdir / "notify.sock"), watchdog_usec=100_000)  # ping: 0.05 s

    # An event whose handler blocks until the test lets it go: a controller's resync.
    release = asyncio.Event()
    controller: Any = agent.customconfig
    resync = controller.resync

    async def blocking_resync(*args: Any) -> Any:
        await release.wait()
        return await resync(*args)

    controller.resync = blocking_resync
    try:
        async with (
            health,
            AgentHttpServer("127.0.0.1:0", lifecycle, health) as http,
            SystemdReporter(notify, health, status_interval=0.05),
        ):
            await asyncio.to_thread(listener.wait_for, "WATCHDOG=1")
            assert await asyncio.to_thread(_get, http.port, "/healthz") == (200, "ok\n")

            agent.loop.push(HealingResync(error="a test"))  # a full resync: every controller
            for _ in range(int(WAIT / 0.05)):  # until the loop counts as stuck
                status, body = await asyncio.to_thread(_get, http.port, "/healthz")
                if status == 503:
                    break
                await asyncio.sleep(0.05)
            assert status == 503
            assert body.startswith("event loop stuck: HealingResync processed for "), body
            await asyncio.to_thread(listener.poll, 0.2)  # what was under way when it got stuck
            silent = await asyncio.to_thread(listener.poll, 1.0)  # 20 ping intervals
            assert not any("WATCHDOG=1" in message for message in silent), silent
            assert any(
                line.startswith("STATUS=event loop stuck: HealingResync")
                for line in listener.lines()
            )

            seen = len(listener.messages)
            release.set()
            await asyncio.to_thread(listener.wait_for, "WATCHDOG=1")
            assert await asyncio.to_thread(_get, http.port, "/healthz") == (200, "ok\n")
            assert any("STATUS=ready: 0 pods" in m for m in listener.messages[seen:])
    finally:
        release.set()
        listener.sock.close()


async def test_the_status_follows_the_phases_before_the_agent_exists(workdir: Path) -> None:
    lifecycle = AgentLifecycle("early")
    health = AgentHealth(lifecycle)
    listener = Listener(str(workdir / "notify.sock"))
    notify = NotifySocket(str(workdir / "notify.sock"))
    try:
        async with SystemdReporter(notify, health, status_interval=0.05):
            await asyncio.to_thread(listener.wait_for, "STATUS=starting")
            lifecycle.waiting_for_store("etcd at 10.0.0.1:2379")
            await asyncio.to_thread(listener.wait_for, "STATUS=waiting for etcd at 10.0.0.1:2379")
            lifecycle.stopping()  # a stop before etcd was reached: no READY, but STOPPING
            await asyncio.to_thread(listener.wait_for, "STOPPING=1")
        listener.poll(0.2)  # and whatever the reporter's stop sent
        assert "READY=1" not in listener.lines()
        assert listener.lines().count("STOPPING=1") == 1
    finally:
        listener.sock.close()
