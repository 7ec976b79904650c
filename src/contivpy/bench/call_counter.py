"""Counting the VPP API calls a run makes, by message name.

In: any :class:`~contivpy.vppcalls.channel.ApiChannel` (the VppClient). Out:
:class:`CountingChannel`, the same channel with counts: ``calls`` (requests with one reply,
by message), ``dumps`` (by message) and ``writes`` (requests that change VPP: every call but
the few read-only ones). The VPP benchmark and the descriptor tests use it to prove that an
agent restart against an unchanged VPP writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message

#: requests with a single reply that only read
READ_ONLY_CALLS = frozenset(
    {"sw_interface_get_table", "control_ping", "show_version", "nat44_show_running_config"}
)


class CountingChannel:
    """An ApiChannel that passes everything to ``inner`` and counts it."""

    def __init__(self, inner: ApiChannel) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.dumps: Counter[str] = Counter()

    async def call(self, name: str, fields: Mapping[str, object] | None = None) -> Message:
        self.calls[name] += 1
        return await self.inner.call(name, fields)

    async def dump(self, name: str, fields: Mapping[str, object] | None = None) -> list[Message]:
        self.dumps[name] += 1
        return await self.inner.dump(name, fields)

    @property
    def writes(self) -> int:
        """Requests made that change VPP."""
        return sum(n for name, n in self.calls.items() if name not in READ_ONLY_CALLS)

    @property
    def total(self) -> int:
        """Every request made (calls and dumps)."""
        return sum(self.calls.values()) + sum(self.dumps.values())

    def reset(self) -> None:
        """Start counting from zero."""
        self.calls.clear()
        self.dumps.clear()
