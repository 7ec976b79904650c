"""A watch that survives disconnects: every event exactly once, in revision order.

In: an ``EventOpener`` from a store adapter — it opens one server-side watch stream from a
revision — and the revision to start at. Out: ``ResumingWatch``, the ``WatchStream`` the store
hands to callers. When the stream breaks (etcd restarted, connection lost) it reopens it from
the revision after the last event it delivered, with backoff, so the caller sees neither a gap
nor a repeat; when that revision was compacted meanwhile it raises ``CompactedError`` and the
caller relists.

Why "last delivered + 1" is exact: etcd never splits one revision's events across watch
responses (we do not ask for fragmenting), and an adapter queues a whole response before it
reports the disconnect that follows it, so when a disconnect surfaces every event of the last
delivered revision has been delivered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, Self, TypeAlias

import structlog

from contivpy.async_service import AsyncService
from contivpy.backoff import Backoff
from contivpy.store.api import WatchEvent
from contivpy.store.errors import CompactedError, StoreClosedError, StoreUnavailableError

log = structlog.get_logger(__name__)


class EventSource(Protocol):
    """One server-side watch stream, as an adapter opens it.

    ``next_event`` raises ``StoreUnavailableError`` when the connection drops,
    ``CompactedError`` when the start revision is gone, and ``StopAsyncIteration`` when the
    stream was closed underneath (the store closing, or the adapter resetting it).
    """

    async def next_event(self) -> WatchEvent: ...

    async def aclose(self) -> None: ...


# Opens an ``EventSource`` at a start revision (None: the first revision after now) and returns
# it with the revision it starts at. Raises ``StoreUnavailableError`` when etcd cannot be
# reached and ``StoreClosedError`` when the store is closed.
EventOpener: TypeAlias = Callable[[int | None], Awaitable[tuple[EventSource, int]]]


class ResumingWatch(AsyncService):
    """The ``WatchStream`` implementation shared by store adapters (see the module doc)."""

    def __init__(
        self,
        open_source: EventOpener,
        *,
        description: str,
        start_revision: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._open_source = open_source
        self._next_revision = start_revision
        self._backoff = backoff or Backoff()
        self._source: EventSource | None = None
        self._source_start = 0
        self._closed = False
        self._down_since: float | None = None
        self._loss_delays: Iterator[float] | None = None  # pauses between repeated losses
        self._opened = 0  # server-side streams opened so far
        self._log = log.bind(watch=description)

    @property
    def next_revision(self) -> int | None:
        """The first revision not yet delivered: where a resume starts."""
        return self._next_revision

    @property
    def resumes(self) -> int:
        """How many times the stream was reopened after it was lost."""
        return max(0, self._opened - 1)

    @property
    def connected(self) -> bool:
        """Whether a server-side stream is open right now."""
        return self._source is not None

    def __aiter__(self) -> Self:
        return self

    async def start(self) -> None:
        """Open the server-side stream now (the first iteration would), so that entering
        ``async with`` reports a compacted start revision or a closed store at once."""
        await self._ensure_source()

    async def aclose(self) -> None:
        """Stop watching; iteration ends."""
        self._closed = True
        await self._drop_source()

    # ``async with`` (AsyncService) ends with aclose, the async iterator's own way to stop.
    stop = aclose

    async def __anext__(self) -> WatchEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            try:
                source = await self._ensure_source()
            except StoreClosedError:
                self._closed = True
                raise StopAsyncIteration from None
            try:
                event = await source.next_event()
            except StoreUnavailableError as exc:
                self._log.warning(
                    "store watch disconnected, resuming",
                    next_revision=self._next_revision,
                    error=str(exc),
                )
                self._down_since = time.monotonic()
                await self._lost_source()
                continue
            except StopAsyncIteration:
                # Closed underneath; if the store is still open, reopening continues the stream.
                await self._lost_source()
                continue
            except CompactedError:
                await self.aclose()
                raise
            if event.mod_revision < self._source_start:
                continue  # etcd never sends these; dropping them keeps "never repeat" local
            self._next_revision = event.mod_revision + 1
            self._loss_delays = None
            return event

    async def _lost_source(self) -> None:
        """Drop a stream that ended, pausing before the reopen: a stream that keeps ending
        right after opening must not turn into a busy loop against etcd."""
        await self._drop_source()
        if self._loss_delays is None:  # the first loss since an event: reopen at once
            self._loss_delays = self._backoff.delays()
            return
        await asyncio.sleep(next(self._loss_delays))

    async def _ensure_source(self) -> EventSource:
        if self._source is not None:
            return self._source
        if self._closed:
            raise StoreClosedError("watch closed")
        delays = self._backoff.delays()
        while True:
            try:
                source, start = await self._open_source(self._next_revision)
            except StoreUnavailableError as exc:
                delay = next(delays)
                self._log.info(
                    "store watch cannot open yet, retrying",
                    next_revision=self._next_revision,
                    retry_in=round(delay, 3),
                    error=str(exc),
                )
                await asyncio.sleep(delay)
                continue
            except CompactedError:
                self._closed = True
                raise
            if self._closed:  # closed while we were opening
                await source.aclose()
                raise StoreClosedError("watch closed")
            break
        self._source, self._source_start = source, start
        self._opened += 1
        if self._next_revision is None:
            self._next_revision = start
        if self._down_since is not None:
            self._log.info(
                "store watch resumed",
                from_revision=start,
                down_for=round(time.monotonic() - self._down_since, 3),
            )
            self._down_since = None
        return source

    async def _drop_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            await source.aclose()
