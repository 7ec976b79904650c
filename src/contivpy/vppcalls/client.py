"""The agent's VPP client: one connection kept alive, restarts noticed, events re-armed.

In: a socket path and settings; calls and dumps by message name (via :class:`ApiChannel`),
event subscriptions. Out: replies; and on ``connection_events`` a :class:`VppConnected` each
time a connection is ready (``restarted`` when VPP's pid changed, which means VPP lost its
state: the agent answers with a resync) and a :class:`VppDisconnected` each time one is lost.
The client reports; it never calls up the stack.

Health: a ``control_ping`` every ``health_interval`` seconds; no answer, a closed socket or a
different pid ends the connection. Reconnects back off exponentially (``Backoff``), but a new
socket file at the path (a VPP that has just started listening) ends the wait at once: the
time from VPP's return to the agent's is then one poll of the path, not the backoff. While no
connection is up, calls fail at once with VppConnectionError (retriable). An ``observer``
(:mod:`contivpy.vppcalls.observer`) given here is told of every connection's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from contivpy.async_service import AsyncService
from contivpy.backoff import Backoff
from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import VppApiMismatchError, VppConnectionError, VppError
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.observer import CallObserver
from contivpy.vppcalls.subscriptions import EventSubscription, Subscription, WantRequest

log = structlog.get_logger(__name__)

T = TypeVar("T")


#: reconnect delays when none are given: 0.05 s doubling up to 2 s. No jitter: one agent is
#: the only client of its VPP, there is no crowd to spread.
DEFAULT_BACKOFF = Backoff(initial=0.05, factor=2.0, maximum=2.0, jitter=0.0)


@dataclass(frozen=True)
class VppConnected:
    """A connection is ready. ``restarted``: VPP's pid differs from the previous connection's."""

    pid: int
    restarted: bool
    #: this is not the first connection of the client
    reconnected: bool


@dataclass(frozen=True)
class VppDisconnected:
    """The connection was lost; the client is reconnecting."""

    reason: str


ConnectionEvent = VppConnected | VppDisconnected


class VppClient(AsyncService):
    """A self-healing VPP API client (an :class:`~contivpy.vppcalls.channel.ApiChannel`)."""

    def __init__(
        self,
        socket_path: str,
        *,
        client_name: str = "contivpy",
        call_timeout: float = 5.0,
        health_interval: float = 1.0,
        backoff: Backoff | None = None,
        required: Collection[str] | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.client_name = client_name
        self.call_timeout = call_timeout
        self.health_interval = health_interval
        self.backoff = backoff or DEFAULT_BACKOFF
        self.required = required
        self.observer = observer  # given to every connection: calls' latency and failures
        #: VppConnected / VppDisconnected, in order, for the agent to act on
        self.connection_events: asyncio.Queue[ConnectionEvent] = asyncio.Queue()
        self.pid: int | None = None
        self.last_error: VppError | None = None
        self._connection: VppConnection | None = None
        self._ready = asyncio.Event()
        #: set whenever a connect attempt ends, so start() can look at the outcome
        self._progress = asyncio.Event()
        self._subscriptions: list[Subscription] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._connections_made = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, *, connect_timeout: float | None = None) -> None:
        """Connect (retrying while VPP is unreachable) and keep the connection healthy.

        Raises VppApiMismatchError at once when VPP lacks messages contivpy needs, and
        VppConnectionError when no connection is up after ``connect_timeout`` seconds; either way
        nothing is left running.
        """
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="vpp-supervisor")
        try:
            async with asyncio.timeout(connect_timeout):
                while not self._ready.is_set():
                    if isinstance(self.last_error, VppApiMismatchError):
                        raise self.last_error
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            await self.close()
            raise VppConnectionError(
                f"no connection to VPP at {self.socket_path} after {connect_timeout} s: "
                f"{self.last_error}"
            ) from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop supervising and close the connection."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.wait({self._supervisor})
            self._supervisor = None
        connection, self._connection = self._connection, None
        self._ready.clear()
        if connection is not None:
            await connection.close()

    async def stop(self) -> None:
        """Close, for ``async with``: an error while closing does not hide the block's own."""
        with contextlib.suppress(VppError):
            await self.close()

    @property
    def connected(self) -> bool:
        """A connection is up and checked."""
        return self._connection is not None and not self._connection.closed

    async def wait_connected(self) -> None:
        """Return once a connection is up (at once when it already is)."""
        await self._ready.wait()

    # -- calls ----------------------------------------------------------------------------

    def _current(self) -> VppConnection:
        connection = self._connection
        if connection is None or connection.closed:
            raise VppConnectionError(f"not connected to VPP at {self.socket_path}")
        return connection

    # call and dump hand out the connection's coroutine instead of awaiting it in one of
    # their own: a coroutine less on every request (not connected: raised at once).
    def call(
        self, name: str, fields: Mapping[str, object] | None = None, *, check: bool = True
    ) -> Coroutine[Any, Any, Message]:
        """Send a request on the current connection; awaited, its reply (``check``: a
        non-zero retval raises VppApiError; without it the caller reads the reply, e.g.
        cli_inband's error text)."""
        return self._current().call(name, fields, check=check)

    def dump(
        self, name: str, fields: Mapping[str, object] | None = None
    ) -> Coroutine[Any, Any, list[Message]]:
        """Run a dump on the current connection; awaited, its details."""
        return self._current().dump(name, fields)

    async def subscribe(
        self,
        event: str,
        convert: Callable[[Message], T],
        *,
        want: WantRequest | None = None,
        maxsize: int = 1000,
    ) -> EventSubscription[T]:
        """Receive ``event`` messages, converted, on a queue; ``want`` is sent now (if
        connected) and again on every new connection."""
        subscription = EventSubscription(event, convert, want, maxsize)
        self._subscriptions.append(subscription)
        connection = self._connection
        if connection is not None and not connection.closed:
            await self._arm(connection, subscription)
        return subscription

    @staticmethod
    async def _arm(connection: VppConnection, subscription: Subscription) -> None:
        connection.on_event(subscription.event, subscription.deliver)
        if subscription.want is not None:
            await connection.call(subscription.want.name, subscription.want.fields)

    # -- supervision ----------------------------------------------------------------------

    async def _supervise(self) -> None:
        delays = self.backoff.delays()
        while True:
            failed_on = _socket_identity(self.socket_path)
            try:
                connection = await self._connect()
            except Exception as err:
                if not isinstance(err, VppError):
                    # Not a VPP problem but ours: say so loudly, and keep trying all the same.
                    log.exception("vpp connect failed unexpectedly", socket=self.socket_path)
                    err = VppConnectionError(f"connect failed: {err!r}")
                self.last_error = err
                self._progress.set()
                delay = next(delays)
                log.info(
                    "vpp not reachable", socket=self.socket_path, error=str(err), retry_in=delay
                )
                if await _socket_replaced(self.socket_path, failed_on, delay):
                    delays = self.backoff.delays()
                continue
            self._progress.set()
            delays = self.backoff.delays()
            reason = await self._watch(connection)
            self._connection = None
            self._ready.clear()
            await connection.close()
            log.warning("vpp connection lost", socket=self.socket_path, reason=reason)
            self.connection_events.put_nowait(VppDisconnected(reason))

    async def _connect(self) -> VppConnection:
        connection = await VppConnection.open(
            self.socket_path,
            client_name=self.client_name,
            call_timeout=self.call_timeout,
            required=self.required,
            observer=self.observer,
        )
        try:
            pid = (await connection.call("control_ping")).get_int("vpe_pid")
            for subscription in self._subscriptions:
                await self._arm(connection, subscription)
        except BaseException:
            await connection.close()
            raise
        restarted = self.pid is not None and pid != self.pid
        reconnected = self._connections_made > 0
        self._connections_made += 1
        self.pid = pid
        self.last_error = None
        self._connection = connection
        self._ready.set()
        log.info("vpp connected", socket=self.socket_path, pid=pid, restarted=restarted)
        self.connection_events.put_nowait(VppConnected(pid, restarted, reconnected))
        return connection

    async def _watch(self, connection: VppConnection) -> str:
        """Return why the connection must be given up: closed, silent, or another VPP."""
        while True:
            closed = asyncio.ensure_future(connection.wait_closed())
            done, _ = await asyncio.wait({closed}, timeout=self.health_interval)
            if done:
                return closed.result()
            closed.cancel()
            try:
                reply = await connection.call("control_ping")
            except VppError as err:
                return f"health check failed: {err}"
            if reply.get_int("vpe_pid") != self.pid:
                return f"VPP pid changed from {self.pid} to {reply.get_int('vpe_pid')}"


#: how often the socket path is looked at while VPP is away (a stat, not a connect attempt)
SOCKET_POLL_INTERVAL = 0.02


def _socket_identity(path: str) -> tuple[int, int, int] | None:
    """The socket file at ``path`` (device, inode, change time), None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


async def _socket_replaced(path: str, before: tuple[int, int, int] | None, limit: float) -> bool:
    """Wait up to ``limit`` seconds; True as soon as another socket file is at ``path``.

    A VPP that restarts removes its old socket (or leaves it stale) and binds a new one: a new
    file is the sign that it listens again, so the reconnect need not wait out the backoff.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while (remaining := deadline - loop.time()) > 0:
        await asyncio.sleep(min(SOCKET_POLL_INTERVAL, remaining))
        now = _socket_identity(path)
        if now is not None and now != before:
            return True
    return False
