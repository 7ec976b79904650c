"""Event subscriptions that outlive connections: a bounded queue per subscriber.

In: VPP event messages (no context) from whichever connection is current. Out: converted
values on an ``asyncio.Queue`` the subscriber reads at its own pace. A full queue drops the
event, counts it in ``dropped`` and logs an error: never silent, never blocking the reader.
The ``want_*`` request that enables the events is remembered and sent again on every new
connection (a restarted VPP forgets its subscribers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from contivpy.vppcalls.message import Message

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class WantRequest:
    """The request that turns an event stream on (e.g. want_interface_events)."""

    name: str
    fields: Mapping[str, object]


class Subscription:
    """What a connection needs to feed a subscriber: the event, its want request, a sink."""

    def __init__(self, event: str, want: WantRequest | None) -> None:
        self.event = event
        self.want = want

    def deliver(self, msg: Message) -> None:
        """Hand over one event; must not block."""
        raise NotImplementedError


class EventSubscription(Subscription, Generic[T]):
    """Events of one kind, converted, on a bounded queue."""

    def __init__(
        self,
        event: str,
        convert: Callable[[Message], T],
        want: WantRequest | None,
        maxsize: int,
    ) -> None:
        super().__init__(event, want)
        self.queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._convert = convert

    def deliver(self, msg: Message) -> None:
        """Queue one event (called by the connection's reader; must not block)."""
        try:
            self.queue.put_nowait(self._convert(msg))
        except asyncio.QueueFull:
            self.dropped += 1
            log.error(
                "vpp event queue full, event dropped", vpp_event=self.event, dropped=self.dropped
            )

    async def get(self) -> T:
        """The next event."""
        return await self.queue.get()
