"""af_packet: VPP attached to a Linux interface (``host-<name>``), e.g. one end of a veth.

In: :class:`AfPacketSpec`. Out: the new sw_if_index; af_packet_dump as
:class:`AfPacketDetails`. Deletion is by the Linux interface name, as VPP's API has it.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.wire import mac_to_wire


class AfPacketMode(enum.IntEnum):
    """af_packet_mode."""

    ETHERNET = 1
    IP = 2


@dataclass(frozen=True)
class AfPacketSpec:
    """An af_packet interface to create on the Linux interface ``host_if_name``."""

    host_if_name: str
    #: None: a random MAC
    mac: str | None = None
    mode: AfPacketMode = AfPacketMode.ETHERNET
    flags: int = 0
    num_rx_queues: int = 1
    num_tx_queues: int = 1


@dataclass(frozen=True)
class AfPacketDetails:
    """An af_packet interface as VPP reports it."""

    sw_if_index: int
    host_if_name: str


#: one create at a time per VPP channel (see create_af_packet)
_creating: weakref.WeakKeyDictionary[ApiChannel, asyncio.Lock] = weakref.WeakKeyDictionary()


async def create_af_packet(vpp: ApiChannel, spec: AfPacketSpec) -> int:
    """Create the af_packet interface; its sw_if_index.

    Creates on one channel are sent one at a time: a real VPP 26.06 that was sent ten
    af_packet_create_v3 requests back to back (ten pods' ADDs in flight) stopped answering,
    its main thread spinning in the kernel, while the same creates one after the other
    succeeded.
    """
    lock = _creating.get(vpp)
    if lock is None:
        lock = _creating[vpp] = asyncio.Lock()
    async with lock:
        return await _create(vpp, spec)


async def _create(vpp: ApiChannel, spec: AfPacketSpec) -> int:
    reply = await vpp.call(
        "af_packet_create_v3",
        {
            "mode": int(spec.mode),
            "hw_addr": mac_to_wire(spec.mac),
            "use_random_hw_addr": spec.mac is None,
            "host_if_name": spec.host_if_name,
            "flags": spec.flags,
            "num_rx_queues": spec.num_rx_queues,
            "num_tx_queues": spec.num_tx_queues,
        },
    )
    return reply.get_int("sw_if_index")


async def delete_af_packet(vpp: ApiChannel, host_if_name: str) -> None:
    """Delete the af_packet interface attached to ``host_if_name``."""
    await vpp.call("af_packet_delete", {"host_if_name": host_if_name})


async def dump_af_packets(vpp: ApiChannel) -> list[AfPacketDetails]:
    """Every af_packet interface."""
    details = await vpp.dump("af_packet_dump")
    return [AfPacketDetails(d.get_int("sw_if_index"), d.get_str("host_if_name")) for d in details]
