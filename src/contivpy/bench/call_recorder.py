"""Recording the VPP API calls a run makes, in the order they were sent, to replay them.

In: any :class:`~contivpy.vppcalls.channel.ApiChannel` (the VppClient). Out:
:class:`RecordingChannel`, a :class:`~contivpy.bench.call_counter.CountingChannel` that also
keeps every request (name, fields, call or dump) in sending order; ``recorded()`` gives them
as :class:`RecordedCall` with plain, independent field values (packable by vpp_papi and by
our codec alike). The VPP benchmark replays them one at a time with vpp_papi's
client, and all at once onto the bare simulator.

Sending order: a call is recorded and passed on without an ``await`` in between, and the
connection writes a request before its first ``await``, so the recorded order is the order the
requests reached the socket. Replayed in that order on a fresh simulator, the interfaces are
created in the same order and get the same sw_if_index values. On a VPP that is not fresh
(a real one, cleaned rather than restarted) they may get others: each call keeps the
ids its reply gave (``created``) so a replay can map the recorded ones to its own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from contivpy.bench.call_counter import CountingChannel
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message, plain_value

#: reply fields that name what a call created
CREATED_IDS = ("sw_if_index", "bd_id")


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One request as it was sent (without ``client_index`` and ``context``)."""

    name: str
    fields: dict[str, object]
    #: an old-style dump (the request, then a control_ping that ends its details)
    dump: bool
    #: ids the reply gave (``sw_if_index`` of a new interface, ``bd_id`` of a new bridge
    #: domain), so a replay on another VPP can map them to the ones it is given
    created: dict[str, int] | None = None


class RecordingChannel(CountingChannel):
    """Counts (see CountingChannel) and records every request, in sending order."""

    def __init__(self, inner: ApiChannel) -> None:
        super().__init__(inner)
        # References only while the clock runs: the fields are copied in recorded(), afterwards.
        self._sent: list[tuple[str, Mapping[str, object] | None, bool]] = []
        #: position in _sent -> the ids its reply carried
        self._created: dict[int, dict[str, int]] = {}

    # Instrumentation on every request of a timed run: counted here as CountingChannel does
    # (not through super(), one coroutine less per request) and nothing is copied until
    # recorded().
    async def call(self, name: str, fields: Mapping[str, object] | None = None) -> Message:
        self.calls[name] += 1
        position = len(self._sent)
        self._sent.append((name, fields, False))
        reply = await self.inner.call(name, fields)
        ids = {
            key: value
            for key in CREATED_IDS
            if isinstance(value := reply.get(key), int) and not isinstance(value, bool)
        }
        if ids:
            self._created[position] = ids
        return reply

    async def dump(self, name: str, fields: Mapping[str, object] | None = None) -> list[Message]:
        self.dumps[name] += 1
        self._sent.append((name, fields, True))
        return await self.inner.dump(name, fields)

    def recorded(self) -> list[RecordedCall]:
        """The requests recorded so far, with deep-copied plain field values."""
        return [
            RecordedCall(
                name,
                {k: copy.deepcopy(plain_value(v)) for k, v in (fields or {}).items()},
                dump,
                self._created.get(position),
            )
            for position, (name, fields, dump) in enumerate(self._sent)
        ]

    def reset(self) -> None:
        """Start counting and recording from nothing."""
        super().reset()
        self._sent.clear()
        self._created.clear()
