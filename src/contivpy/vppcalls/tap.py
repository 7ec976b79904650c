"""TAP interfaces (virtio, tap_create_v3): VPP's side and the Linux side in a namespace.

In: :class:`TapSpec`. Out: the new sw_if_index, and :class:`TapDetails` from
sw_interface_tap_v2_dump. VPP needs /dev/vhost-net for taps: without it the create fails
with SYSCALL_ERROR_1, which :class:`~contivpy.vppcalls.errors.VppApiError` explains.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import (
    NO_INDEX,
    ip4_prefix_from_wire,
    ip4_prefix_to_wire,
    ip6_prefix_from_wire,
    ip6_prefix_to_wire,
    mac_from_wire,
    mac_to_wire,
)


class TapFlags(enum.IntFlag):
    """tap_flags."""

    NONE = 0
    GSO = 1
    CSUM_OFFLOAD = 2
    PERSIST = 4
    ATTACH = 8
    TUN = 16
    GRO_COALESCE = 32
    PACKED = 64
    IN_ORDER = 128
    CONSISTENT_QP = 256


@dataclass(frozen=True)
class TapSpec:
    """A tap to create. None means "VPP's default" (random MACs, Linux name tapN)."""

    id: int | None = None
    mac: str | None = None
    host_if_name: str | None = None
    host_namespace: str | None = None
    host_mac: str | None = None
    host_mtu: int | None = None
    host_ip4: ipaddress.IPv4Interface | None = None
    host_ip6: ipaddress.IPv6Interface | None = None
    host_bridge: str | None = None
    flags: TapFlags = TapFlags.NONE
    rx_ring_size: int = 256
    tx_ring_size: int = 256
    num_rx_queues: int = 1
    num_tx_queues: int = 1
    tag: str = ""


@dataclass(frozen=True)
class TapDetails:
    """A tap as VPP reports it."""

    sw_if_index: int
    id: int
    dev_name: str
    host_if_name: str
    host_namespace: str
    host_mac: str
    #: 0 when the MTU was not set at creation
    host_mtu: int
    host_ip4: ipaddress.IPv4Interface | None
    host_ip6: ipaddress.IPv6Interface | None
    host_bridge: str
    flags: TapFlags
    rx_ring_size: int
    tx_ring_size: int

    @classmethod
    def from_message(cls, msg: Message) -> TapDetails:
        """From sw_interface_tap_v2_details."""
        return cls(
            sw_if_index=msg.get_int("sw_if_index"),
            id=msg.get_int("id"),
            dev_name=msg.get_str("dev_name"),
            host_if_name=msg.get_str("host_if_name"),
            host_namespace=msg.get_str("host_namespace"),
            host_mac=mac_from_wire(msg.get_bytes("host_mac_addr")),
            host_mtu=msg.get_int("host_mtu_size"),
            host_ip4=ip4_prefix_from_wire(msg.get_struct("host_ip4_prefix")),
            host_ip6=ip6_prefix_from_wire(msg.get_struct("host_ip6_prefix")),
            host_bridge=msg.get_str("host_bridge"),
            flags=TapFlags(msg.get_int("tap_flags")),
            rx_ring_size=msg.get_int("rx_ring_sz"),
            tx_ring_size=msg.get_int("tx_ring_sz"),
        )


async def create_tap(vpp: ApiChannel, spec: TapSpec) -> int:
    """Create the tap; its sw_if_index."""
    fields: dict[str, object] = {
        "id": NO_INDEX if spec.id is None else spec.id,
        "use_random_mac": spec.mac is None,
        "mac_address": mac_to_wire(spec.mac),
        "num_rx_queues": spec.num_rx_queues,
        "num_tx_queues": spec.num_tx_queues,
        "rx_ring_sz": spec.rx_ring_size,
        "tx_ring_sz": spec.tx_ring_size,
        "host_mtu_set": spec.host_mtu is not None,
        "host_mtu_size": spec.host_mtu or 0,
        "host_mac_addr_set": spec.host_mac is not None,
        "host_mac_addr": mac_to_wire(spec.host_mac),
        "host_ip4_prefix_set": spec.host_ip4 is not None,
        "host_ip4_prefix": ip4_prefix_to_wire(spec.host_ip4),
        "host_ip6_prefix_set": spec.host_ip6 is not None,
        "host_ip6_prefix": ip6_prefix_to_wire(spec.host_ip6),
        "tap_flags": int(spec.flags),
        "host_namespace_set": spec.host_namespace is not None,
        "host_namespace": spec.host_namespace or "",
        "host_if_name_set": spec.host_if_name is not None,
        "host_if_name": spec.host_if_name or "",
        "host_bridge_set": spec.host_bridge is not None,
        "host_bridge": spec.host_bridge or "",
        "tag": spec.tag,
    }
    reply = await vpp.call("tap_create_v3", fields)
    return reply.get_int("sw_if_index")


async def delete_tap(vpp: ApiChannel, sw_if_index: int) -> None:
    """Delete a tap (VPP removes the Linux side too)."""
    await vpp.call("tap_delete_v2", {"sw_if_index": sw_if_index})


async def dump_taps(vpp: ApiChannel, sw_if_index: int | None = None) -> list[TapDetails]:
    """Every tap (or one)."""
    fields = {"sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index}
    return [TapDetails.from_message(d) for d in await vpp.dump("sw_interface_tap_v2_dump", fields)]
