"""Static IP neighbours (ARP / ND entries).

In: :class:`IpNeighbor`. Out: ip_neighbor_dump as the same dataclass. Deleting a neighbour
that is not there is NO_SUCH_ENTRY.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import (
    AF_IP4,
    AF_IP6,
    NO_INDEX,
    IpAddress,
    address_from_wire,
    address_to_wire,
    mac_from_wire,
    mac_to_wire,
)

FLAG_STATIC = 1
FLAG_NO_FIB_ENTRY = 2


@dataclass(frozen=True)
class IpNeighbor:
    """``ip`` is at ``mac`` behind ``sw_if_index``."""

    sw_if_index: int
    ip: IpAddress
    mac: str
    static: bool = True
    no_fib_entry: bool = False

    @classmethod
    def from_message(cls, neighbor: Message) -> IpNeighbor:
        """From an ip_neighbor struct."""
        flags = neighbor.get_int("flags")
        return cls(
            sw_if_index=neighbor.get_int("sw_if_index"),
            ip=address_from_wire(neighbor.get_struct("ip_address")),
            mac=mac_from_wire(neighbor.get_bytes("mac_address")),
            static=bool(flags & FLAG_STATIC),
            no_fib_entry=bool(flags & FLAG_NO_FIB_ENTRY),
        )


def _wire(neighbor: IpNeighbor, is_add: bool) -> dict[str, object]:
    flags = (FLAG_STATIC if neighbor.static else 0) | (
        FLAG_NO_FIB_ENTRY if neighbor.no_fib_entry else 0
    )
    return {
        "is_add": is_add,
        "neighbor": {
            "sw_if_index": neighbor.sw_if_index,
            "flags": flags,
            "mac_address": mac_to_wire(neighbor.mac),
            "ip_address": address_to_wire(neighbor.ip),
        },
    }


async def add_neighbor(vpp: ApiChannel, neighbor: IpNeighbor) -> None:
    """Add (or update) the neighbour."""
    await vpp.call("ip_neighbor_add_del", _wire(neighbor, True))


async def delete_neighbor(vpp: ApiChannel, neighbor: IpNeighbor) -> None:
    """Remove the neighbour."""
    await vpp.call("ip_neighbor_add_del", _wire(neighbor, False))


async def dump_neighbors(
    vpp: ApiChannel, ipv6: bool, sw_if_index: int | None = None
) -> list[IpNeighbor]:
    """Neighbours of one family (on every interface, or one)."""
    fields = {
        "sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index,
        "af": AF_IP6 if ipv6 else AF_IP4,
    }
    details = await vpp.dump("ip_neighbor_dump", fields)
    return [IpNeighbor.from_message(d.get_struct("neighbor")) for d in details]
