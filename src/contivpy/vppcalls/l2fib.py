"""L2 FIB entries: which interface of a bridge domain a MAC is behind.

In: :class:`L2FibEntry`. Out: l2_fib_table_dump as the same dataclass. VPP adds an entry of
its own for each BVI's MAC (``bvi=True``); a non-filter entry needs an interface in bridge
mode; deleting a missing entry is NO_SUCH_ENTRY.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import NO_INDEX, mac_from_wire, mac_to_wire


@dataclass(frozen=True)
class L2FibEntry:
    """``mac`` in bridge domain ``bd_id`` is reached through ``sw_if_index``."""

    bd_id: int
    mac: str
    sw_if_index: int
    static: bool = True
    bvi: bool = False
    #: drop frames to this MAC (sw_if_index is ignored)
    filter: bool = False

    @classmethod
    def from_message(cls, msg: Message) -> L2FibEntry:
        """From l2_fib_table_details."""
        return cls(
            bd_id=msg.get_int("bd_id"),
            mac=mac_from_wire(msg.get_bytes("mac")),
            sw_if_index=msg.get_int("sw_if_index"),
            static=msg.get_bool("static_mac"),
            bvi=msg.get_bool("bvi_mac"),
            filter=msg.get_bool("filter_mac"),
        )


def _wire(entry: L2FibEntry, is_add: bool) -> dict[str, object]:
    return {
        "mac": mac_to_wire(entry.mac),
        "bd_id": entry.bd_id,
        "sw_if_index": entry.sw_if_index,
        "is_add": is_add,
        "static_mac": entry.static,
        "filter_mac": entry.filter,
        "bvi_mac": entry.bvi,
    }


async def add_l2fib_entry(vpp: ApiChannel, entry: L2FibEntry) -> None:
    """Add (or move) the entry."""
    await vpp.call("l2fib_add_del", _wire(entry, True))


async def delete_l2fib_entry(vpp: ApiChannel, entry: L2FibEntry) -> None:
    """Remove the entry."""
    await vpp.call("l2fib_add_del", _wire(entry, False))


async def dump_l2fib(vpp: ApiChannel, bd_id: int | None = None) -> list[L2FibEntry]:
    """Entries of every bridge domain (or one)."""
    details = await vpp.dump("l2_fib_table_dump", {"bd_id": NO_INDEX if bd_id is None else bd_id})
    return [L2FibEntry.from_message(d) for d in details]
