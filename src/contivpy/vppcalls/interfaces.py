"""Any interface: what VPP reports about it, admin state, MAC, MTU, tag, and its events.

In: an :class:`~contivpy.vppcalls.channel.ApiChannel` and a sw_if_index with the value to
set. Out: :class:`InterfaceDetails` from ``sw_interface_dump`` (the retrieve of every
interface kind starts here), and :class:`InterfaceEvent` values from ``sw_interface_event``.
The tag is how contivpy marks interfaces it owns: at most 63 characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.subinterfaces import NO_REWRITE, VlanTagRewrite
from contivpy.vppcalls.subscriptions import EventSubscription, WantRequest
from contivpy.vppcalls.wire import NO_INDEX, mac_from_wire, mac_to_wire

ADMIN_UP = 1
LINK_UP = 2
IF_TYPE_SUB = 1
#: VPP keeps a tag in 64 bytes with its terminating NUL.
MAX_TAG_LENGTH = 63


@dataclass(frozen=True)
class InterfaceDetails:
    """One interface as sw_interface_dump reports it."""

    sw_if_index: int
    name: str
    #: VPP's device class: "Loopback", "virtio" (tap), "memif", "af-packet", "VXLAN", "dpdk"…
    dev_type: str
    tag: str
    mac: str
    admin_up: bool
    link_up: bool
    #: MTU per protocol: L3, IPv4, IPv6, MPLS (0: follows L3)
    mtu: tuple[int, int, int, int]
    link_mtu: int
    #: the parent of a sub-interface, else the interface itself
    sup_sw_if_index: int
    is_sub: bool
    sub_id: int
    outer_vlan_id: int
    #: the L2 VLAN tag rewrite (pop 1 on a VLAN sub-interface of a stub network)
    tag_rewrite: VlanTagRewrite = NO_REWRITE

    @classmethod
    def from_message(cls, msg: Message) -> InterfaceDetails:
        """From a sw_interface_details message."""
        flags = msg.get_int("flags")
        mtu = msg.get_ints("mtu")
        return cls(
            sw_if_index=msg.get_int("sw_if_index"),
            name=msg.get_str("interface_name"),
            dev_type=msg.get_str("interface_dev_type"),
            tag=msg.get_str("tag"),
            mac=mac_from_wire(msg.get_bytes("l2_address")),
            admin_up=bool(flags & ADMIN_UP),
            link_up=bool(flags & LINK_UP),
            mtu=(mtu[0], mtu[1], mtu[2], mtu[3]),
            link_mtu=msg.get_int("link_mtu"),
            sup_sw_if_index=msg.get_int("sup_sw_if_index"),
            is_sub=msg.get_int("type") == IF_TYPE_SUB,
            sub_id=msg.get_int("sub_id"),
            outer_vlan_id=msg.get_int("sub_outer_vlan_id"),
            tag_rewrite=VlanTagRewrite.from_details(msg),
        )


@dataclass(frozen=True)
class InterfaceEvent:
    """An interface's admin/link state changed, or it was deleted."""

    sw_if_index: int
    admin_up: bool
    link_up: bool
    deleted: bool

    @classmethod
    def from_message(cls, msg: Message) -> InterfaceEvent:
        """From a sw_interface_event message."""
        flags = msg.get_int("flags")
        return cls(
            sw_if_index=msg.get_int("sw_if_index"),
            admin_up=bool(flags & ADMIN_UP),
            link_up=bool(flags & LINK_UP),
            deleted=msg.get_bool("deleted"),
        )


async def dump_interfaces(
    vpp: ApiChannel, sw_if_index: int | None = None, name_contains: str | None = None
) -> list[InterfaceDetails]:
    """Every interface (or one, or those whose name contains a string), by sw_if_index."""
    fields: dict[str, object] = {"sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index}
    if name_contains is not None:
        fields.update(name_filter_valid=True, name_filter=name_contains)
    details = await vpp.dump("sw_interface_dump", fields)
    return [InterfaceDetails.from_message(d) for d in details]


async def interface_name(vpp: ApiChannel, sw_if_index: int) -> str | None:
    """VPP's name of one interface (None when it has none by that index): what a create's
    reply does not tell, read without converting the rest of the details."""
    details = await vpp.dump("sw_interface_dump", {"sw_if_index": sw_if_index})
    for d in details:
        if d.get_int("sw_if_index") == sw_if_index:
            return d.get_str("interface_name")
    return None


async def set_admin_state(vpp: ApiChannel, sw_if_index: int, up: bool) -> None:
    """Set the interface admin up or down."""
    await vpp.call("sw_interface_set_flags", {"sw_if_index": sw_if_index, "flags": ADMIN_UP * up})


async def set_mac_address(vpp: ApiChannel, sw_if_index: int, mac: str) -> None:
    """Set the interface's MAC address (a sub-interface shares its parent's)."""
    await vpp.call(
        "sw_interface_set_mac_address",
        {"sw_if_index": sw_if_index, "mac_address": mac_to_wire(mac)},
    )


async def set_mtu(
    vpp: ApiChannel, sw_if_index: int, l3: int, ip4: int = 0, ip6: int = 0, mpls: int = 0
) -> None:
    """Set the L3 MTU and the per-protocol ones, all four as given (0: the protocol follows
    L3). VPP checks no value against the device: 65000 on a loopback is accepted."""
    await vpp.call(
        "sw_interface_set_mtu", {"sw_if_index": sw_if_index, "mtu": [l3, ip4, ip6, mpls]}
    )


async def set_tag(vpp: ApiChannel, sw_if_index: int, tag: str) -> None:
    """Tag the interface (an empty tag removes it)."""
    if len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"interface tag {tag!r} is longer than {MAX_TAG_LENGTH} characters")
    fields = {"sw_if_index": sw_if_index, "is_add": bool(tag), "tag": tag}
    await vpp.call("sw_interface_tag_add_del", fields)


async def subscribe_interface_events(
    client: VppClient, pid: int | None = None, maxsize: int = 1000
) -> EventSubscription[InterfaceEvent]:
    """Interface events on a queue, re-enabled on every new connection to VPP."""
    want = WantRequest(
        "want_interface_events",
        {"enable_disable": 1, "pid": os.getpid() if pid is None else pid},
    )
    return await client.subscribe(
        "sw_interface_event", InterfaceEvent.from_message, want=want, maxsize=maxsize
    )
