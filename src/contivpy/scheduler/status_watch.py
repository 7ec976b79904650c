"""Subscriptions to value status changes.

In: ValueStatus updates published by the scheduler after each transaction. Out: per
subscriber, a bounded asyncio queue of the updates whose key starts with its prefix. A
subscriber that does not keep up loses updates rather than stalling the scheduler; every
drop is counted on the subscription (and in the scheduler's stats).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from contivpy.scheduler.api import ValueStatus


class StatusSubscription:
    """One subscriber: iterate it (``async for status in sub``), close it when done."""

    def __init__(self, prefix: str, maxsize: int, owner: StatusWatchers) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[ValueStatus] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._owner = owner

    def close(self) -> None:
        """Stop receiving updates."""
        self._owner.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[ValueStatus]:
        while True:
            yield await self.queue.get()


class StatusWatchers:
    """All subscriptions of one scheduler."""

    def __init__(self) -> None:
        self._subs: list[StatusSubscription] = []
        self.dropped = 0

    def subscribe(self, prefix: str = "", maxsize: int = 1000) -> StatusSubscription:
        """A new subscription to keys starting with prefix."""
        sub = StatusSubscription(prefix, maxsize, self)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: StatusSubscription) -> None:
        """Remove a subscription (idempotent)."""
        if sub in self._subs:
            self._subs.remove(sub)

    def __bool__(self) -> bool:
        return bool(self._subs)

    def publish(self, status: ValueStatus) -> None:
        """Deliver to every matching subscriber, never blocking."""
        for sub in self._subs:
            if status.key.startswith(sub.prefix):
                try:
                    sub.queue.put_nowait(status)
                except asyncio.QueueFull:
                    sub.dropped += 1
                    self.dropped += 1
