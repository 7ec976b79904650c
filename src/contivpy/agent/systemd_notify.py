"""Telling systemd how the agent is doing: sd_notify's datagram protocol, spoken directly.

In: the environment systemd starts a ``Type=notify`` service with (``NOTIFY_SOCKET``: a path,
or an abstract name starting with '@'; ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` with
``WatchdogSec=``), and the process's ``AgentHealth``. Out, as datagrams of ``KEY=value``
lines to that socket:

- ``STATUS=`` whenever the agent's state in words changes ("waiting for etcd at ...",
  "waiting for VPP at /run/vpp/api.sock", "resyncing (first resync)", "ready: 3 pods");
- ``READY=1`` once, after the first resync;
- ``WATCHDOG=1`` every half ``WATCHDOG_USEC`` while the event loop is alive (the liveness
  /healthz answers with): a stuck loop stops the pings and systemd restarts the agent;
- until READY, ``EXTEND_TIMEOUT_USEC=`` while alive: waiting for etcd or VPP is the agent's
  normal start, which ``TimeoutStartSec=`` must not cut short; a stuck start still times out;
- ``STOPPING=1`` when the stop begins.

Without ``NOTIFY_SOCKET`` (not started by systemd) nothing is sent. The pings come from a task
on the agent's own asyncio loop, so a blocked loop cannot ping either. Not to be confused with
``contivpy.agent.command``'s stop deadline, a thread that ends a stop that hangs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

import structlog

from contivpy.api.introspection import AgentPhase
from contivpy.async_service import AsyncService, cancel_and_wait

if TYPE_CHECKING:
    from contivpy.agent.health import AgentHealth

log = structlog.get_logger(__name__)

#: how often the state is looked at (STATUS changes, READY, STOPPING)
STATUS_INTERVAL = 0.25
#: the start may go on this long past the last sign of life (EXTEND_TIMEOUT_USEC), re-sent
#: every third of it
START_EXTENSION = 30.0


class NotifySocket:
    """sd_notify's socket: ``send`` one message of ``KEY=value`` lines; inert when unset."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        # WATCHDOG_USEC: systemd wants a ping at least this often; we ping twice as often.
        self.watchdog_interval = watchdog_usec / 2e6 if watchdog_usec else None
        self._socket: socket.socket | None = None
        self._target: str | bytes = ""
        self._warned = False
        if address:
            # '@name': an abstract socket, whose address starts with a NUL byte instead.
            self._target = b"\0" + address[1:].encode() if address.startswith("@") else address
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)  # systemd gone or slow: drop, never wait

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str]) -> NotifySocket:
        """The socket systemd gave this process. The variables are taken out of ``environ``
        (as sd_notify's unset_environment does): the embedded etcd, a child, must not
        notify in the agent's name."""
        address = environ.pop("NOTIFY_SOCKET", "") or None
        usec_text = environ.pop("WATCHDOG_USEC", "")
        pid_text = environ.pop("WATCHDOG_PID", "")
        if address is not None and not address.startswith(("/", "@")):
            log.warning("NOTIFY_SOCKET not supported; systemd is not told", address=address)
            address = None
        usec = int(usec_text) if usec_text.isdigit() and int(usec_text) > 0 else None
        if pid_text and pid_text != str(os.getpid()):
            usec = None  # the watchdog is another process's
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        """Whether systemd listens (NOTIFY_SOCKET was set)."""
        return self._socket is not None

    def send(self, *lines: str) -> bool:
        """Send one message; whether it went (a failure is logged once, never raised)."""
        if self._socket is None:
            return False
        try:
            self._socket.sendto("\n".join(lines).encode(), self._target)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd", socket=self.address, error=str(error))
            return False
        return True

    def close(self) -> None:
        """Close the socket."""
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


class SystemdReporter(AsyncService):
    """Reports the agent's state to systemd while open (see the module docstring)."""

    def __init__(
        self, notify: NotifySocket, health: AgentHealth, *, status_interval: float = STATUS_INTERVAL
    ) -> None:
        self._notify = notify
        self._health = health
        self._interval = status_interval
        if notify.watchdog_interval is not None:
            # A ping is due every watchdog_interval; looking 4 times as often keeps the gap
            # between two pings well inside WATCHDOG_USEC, however the ticks fall.
            self._interval = min(self._interval, notify.watchdog_interval / 4)
        self._status = ""
        self._ready = False
        self._stopping = False
        self._stuck = False
        self._next_ping = 0.0
        self._next_extension = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Report at once (in the background), then every ``status_interval`` seconds."""
        if not self._notify.enabled:
            return
        log.info(
            "notifying systemd",
            socket=self._notify.address,
            watchdog_interval=self._notify.watchdog_interval,
        )
        self._task = asyncio.create_task(self._run(), name="systemd-notify")

    async def stop(self) -> None:
        """Say STOPPING (if not said yet) and stop reporting."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])
        self._say_stopping()
        self._notify.close()

    async def _run(self) -> None:
        while True:  # the first report at once, then one per interval
            try:
                self._report()
            except Exception:  # a bug here must not end the pings: systemd would kill us
                log.exception("systemd report failed")
            await asyncio.sleep(self._interval)

    def _report(self) -> None:
        health, lifecycle = self._health, self._health.lifecycle
        if lifecycle.phase is AgentPhase.STOPPING:
            self._say_stopping()
            return
        lines = []
        status = health.status()
        if status != self._status:
            self._status = status
            lines.append(f"STATUS={status}")
        if not self._ready and lifecycle.phase is AgentPhase.RUNNING:
            self._ready = True
            lines.append("READY=1")
            log.info("told systemd: ready", status=status)
        lines += self._signs_of_life()
        if lines:
            self._notify.send(*lines)

    def _signs_of_life(self) -> list[str]:
        """WATCHDOG=1 (and before READY, EXTEND_TIMEOUT_USEC=) when due and the loop lives."""
        stuck = self._health.liveness()
        if bool(stuck) != self._stuck:
            self._stuck = bool(stuck)
            if stuck:
                log.error("event loop stuck: no more pings to systemd's watchdog", reason=stuck)
            else:
                log.info("event loop alive again: pinging systemd's watchdog")
        if stuck:
            return []
        lines, now = [], time.monotonic()
        interval = self._notify.watchdog_interval
        if interval is not None and now >= self._next_ping:
            self._next_ping = now + interval
            lines.append("WATCHDOG=1")
        if not self._ready and now >= self._next_extension:
            self._next_extension = now + START_EXTENSION / 3
            lines.append(f"EXTEND_TIMEOUT_USEC={int(START_EXTENSION * 1e6)}")
        return lines

    def _say_stopping(self) -> None:
        if not self._stopping:
            self._stopping = True
            self._notify.send("STOPPING=1", "STATUS=stopping")
