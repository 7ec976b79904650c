"""Dumps of interfaces, their addresses and unnumbered bindings.

In: sw_interface_dump (all, one sw_if_index, or names containing a filter), ip_address_dump,
ip_unnumbered_dump. Out: one details message per interface / address / binding, in
sw_if_index order (addresses in the order they were added), as VPP walks its pools.
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import Interface, Kind
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import NO_INDEX, interface_address_to_wire

IF_TYPE_HARDWARE = 0
IF_TYPE_SUB = 1
DUPLEX_FULL = 2
#: link speed VPP reports for a simulated 10G NIC, in kbit/s
NIC_SPEED = 10_000_000


def interface_details(state: VppState, iface: Interface) -> Fields:
    """sw_interface_details for one interface."""
    sub = iface.sub
    is_nic = iface.kind == Kind.ETHERNET
    return {
        "sw_if_index": iface.sw_if_index,
        "sup_sw_if_index": iface.sup_sw_if_index,
        # VPP sends the L2 address only for an Ethernet hardware interface, not a sub's.
        "l2_address": bytes(6) if sub is not None else iface.mac,
        "flags": state.flags(iface),
        "type": IF_TYPE_SUB if sub is not None else IF_TYPE_HARDWARE,
        "link_duplex": DUPLEX_FULL if is_nic else 0,
        "link_speed": NIC_SPEED if is_nic else 0,
        "link_mtu": min(iface.link_mtu, 0xFFFF),
        "mtu": list(iface.mtu),
        "sub_id": sub.sub_id if sub is not None else 0,
        "sub_number_of_tags": sub.number_of_tags if sub is not None else 0,
        "sub_outer_vlan_id": sub.outer_vlan_id if sub is not None else 0,
        "sub_inner_vlan_id": sub.inner_vlan_id if sub is not None else 0,
        "sub_if_flags": sub.flags if sub is not None else 0,
        "vtr_op": int(iface.tag_rewrite.op),
        "vtr_push_dot1q": int(iface.tag_rewrite.push_dot1q),
        "vtr_tag1": iface.tag_rewrite.tag1,
        "vtr_tag2": iface.tag_rewrite.tag2,
        "interface_name": iface.name,
        "interface_dev_type": iface.dev_type,
        "tag": iface.tag,
    }


def sw_interface_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    name_filter = msg.get_str("name_filter") if msg.get_bool("name_filter_valid") else None
    if wanted == NO_INDEX:
        candidates = [iface for _index, iface in sorted(state.interfaces.items())]
    else:  # one interface: a lookup, not a sort of all (an agent dumps each new interface)
        one = state.interfaces.get(wanted)
        candidates = [] if one is None else [one]
    out = []
    for iface in candidates:
        if name_filter is not None and name_filter not in iface.name:
            continue
        out.append(interface_details(state, iface))
    return out


def ip_address_dump(state: VppState, msg: Message) -> list[Fields]:
    iface = state.interfaces.get(msg.get_int("sw_if_index"))
    if iface is None:
        return []
    want_ip6 = msg.get_bool("is_ipv6")
    return [
        {"sw_if_index": iface.sw_if_index, "prefix": interface_address_to_wire(address)}
        for address in iface.addresses
        if (address.version == 6) == want_ip6
    ]


def ip_unnumbered_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    return [
        {"sw_if_index": index, "ip_sw_if_index": iface.unnumbered_of}
        for index, iface in sorted(state.interfaces.items())
        if iface.unnumbered_of is not None and wanted in (NO_INDEX, index)
    ]


HANDLERS: dict[str, Handler] = {
    "sw_interface_dump": sw_interface_dump,
    "ip_address_dump": ip_address_dump,
    "ip_unnumbered_dump": ip_unnumbered_dump,
}
