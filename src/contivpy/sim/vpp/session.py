"""One client connection to the simulated VPP: its identity, event registration and outbox.

In: payloads to send, each with a delay (injected latency). Out: frames on the socket in the
order they were queued, none earlier than its delay, so a slow reply also holds back what
follows it (a dump's details always precede the ping reply that ends the dump) while requests
that arrive meanwhile are still processed: pipelined clients see latency once, not per call.
"""

from __future__ import annotations

import asyncio
import contextlib

from contivpy.vppcalls.codec import frame


class ClientSession:
    """A connected API client as VPP sees it: client index, subscriptions, socket."""

    def __init__(self, index: int, writer: asyncio.StreamWriter) -> None:
        self.index = index
        self.name = ""
        #: pid the client gave in want_interface_events, or None when not subscribed
        self.interface_events_pid: int | None = None
        self._writer = writer
        self._outbox: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._last_due = 0.0
        self._sender: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        """The connection is closing or closed."""
        return self._writer.is_closing()

    def send(self, payload: bytes, delay: float = 0.0) -> None:
        """Queue a payload to be framed and written after ``delay`` seconds."""
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        due = max(loop.time() + delay, self._last_due)
        self._last_due = due
        sending = self._sender is not None and not self._sender.done()
        if due <= loop.time() and not sending:
            # Nothing is waiting to go out before this: write at once.
            self._writer.write(frame(payload))
            return
        self._outbox.put_nowait((due, frame(payload)))
        if not sending:
            self._sender = asyncio.create_task(self._send_due(), name=f"vppsim-send-{self.index}")

    async def _send_due(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._outbox.empty():
            due, data = self._outbox.get_nowait()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.closed:
                return
            self._writer.write(data)

    async def drain(self) -> None:
        """Wait while the client is slow to read (back-pressure, as a socket gives)."""
        if not self.closed:
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()

    def abort(self) -> None:
        """Drop the connection at once (restart, drop); nothing queued is sent."""
        if self._sender is not None:
            self._sender.cancel()
        transport = self._writer.transport
        transport.abort()

    async def close(self) -> None:
        """Send what is queued, then close."""
        if self._sender is not None and not self._sender.done():
            await asyncio.wait({self._sender})
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
