"""Settings on an existing interface: admin state, MAC, MTU, tag, VRF, addresses, unnumbered.

In: sw_interface_set_flags, sw_interface_set_mac_address, sw_interface_set_mtu,
sw_interface_tag_add_del, sw_interface_set_table, sw_interface_get_table,
sw_interface_add_del_address, sw_interface_set_unnumbered, sw_interface_ip6_enable_disable.
Out: empty replies (or the VRF), and interface events for admin changes.

Refusals as VPP 26.06 answers them: an unknown interface INVALID_SW_IF_INDEX; binding to a
missing VRF NO_SUCH_FIB; binding an interface that has addresses of the family (its own or,
when unnumbered, the borrowed ones) ADDRESS_FOUND_FOR_INTERFACE, even to the table it is in;
an address the interface already has, or one overlapping another interface's in the same
VRF, ADDRESS_IN_USE; removing an address that is not there ADDRESS_NOT_FOUND_FOR_INTERFACE;
a multicast MAC UNIMPLEMENTED; an empty tag INVALID_VALUE. sw_interface_set_mtu takes any
value (VPP checks none) and sets all four protocol MTUs as given. set_unnumbered: an unknown
unnumbered interface INVALID_SW_IF_INDEX, an unknown numbered one INVALID_SW_IF_INDEX_2, and
UNEXPECTED_INTF_STATE unless both are already in the same IPv4 and IPv6 tables (VPP moves
neither; set_table binds a family's unicast and multicast table together, so one VRF per
family stands for both). Clearing unnumbered leaves the interface in its tables.
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import Interface, Kind, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import IpInterface, interface_address_from_wire

ADMIN_UP = 1


def sw_interface_set_flags(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    state.change_link(iface, admin_up=bool(msg.get_int("flags") & ADMIN_UP))
    return {}


def sw_interface_set_mac_address(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    mac = msg.get_bytes("mac_address")
    if mac[0] & 1 or iface.kind == Kind.LOCAL:
        raise SimError(Retval.UNIMPLEMENTED, "multicast MAC or no Ethernet")
    target = state.interfaces[iface.sub.parent] if iface.sub is not None else iface
    target.mac = mac
    return {}


def sw_interface_set_mtu(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    iface.mtu = list(msg.get_ints("mtu"))
    return {}


def sw_interface_tag_add_del(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    if not msg.get_bool("is_add"):
        iface.tag = ""
        return {}
    tag = msg.get_str("tag")
    if not tag:
        raise SimError(Retval.INVALID_VALUE, "empty tag")
    iface.tag = tag
    return {}


def _addresses(state: VppState, iface: Interface, is_ip6: bool) -> list[IpInterface]:
    """The interface's addresses of one family, borrowed ones included (as VPP's walk over
    interface addresses honours unnumbered)."""
    owner = iface
    if iface.unnumbered_of is not None and iface.unnumbered_of in state.interfaces:
        owner = state.interfaces[iface.unnumbered_of]
    return [a for a in owner.addresses if (a.version == 6) == is_ip6]


def sw_interface_set_table(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    is_ip6 = msg.get_bool("is_ipv6")
    vrf_id = msg.get_int("vrf_id")
    state.require_table(is_ip6, vrf_id)
    if _addresses(state, iface, is_ip6):
        raise SimError(Retval.ADDRESS_FOUND_FOR_INTERFACE, f"{iface.name} has addresses")
    if is_ip6:
        state.set_tables(iface, iface.vrf4, vrf_id)
    else:
        state.set_tables(iface, vrf_id, iface.vrf6)
    return {}


def sw_interface_get_table(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    return {"vrf_id": iface.vrf6 if msg.get_bool("is_ipv6") else iface.vrf4}


def sw_interface_add_del_address(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    if msg.get_bool("del_all"):
        state.clear_addresses(iface)
        return {}
    address = interface_address_from_wire(msg.get_struct("prefix"))
    if msg.get_bool("is_add"):
        state.add_address(iface, address)
    else:
        state.remove_address(iface, address)
    return {}


def sw_interface_set_unnumbered(state: VppState, msg: Message) -> Fields:
    # The field names are the other way round from what they hold, as in VPP itself.
    unnumbered = state.interface(msg.get_int("unnumbered_sw_if_index"))
    if not msg.get_bool("is_add"):
        unnumbered.unnumbered_of = None
        return {}
    ip_iface = state.interface(msg.get_int("sw_if_index"), Retval.INVALID_SW_IF_INDEX_2)
    if (unnumbered.vrf4, unnumbered.vrf6) != (ip_iface.vrf4, ip_iface.vrf6):
        raise SimError(
            Retval.UNEXPECTED_INTF_STATE,
            f"{unnumbered.name} is in tables {unnumbered.vrf4}/{unnumbered.vrf6}, "
            f"{ip_iface.name} in {ip_iface.vrf4}/{ip_iface.vrf6}",
        )
    unnumbered.unnumbered_of = ip_iface.sw_if_index
    return {}


def sw_interface_ip6_enable_disable(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    iface.ip6_enabled = msg.get_bool("enable")
    return {}


HANDLERS: dict[str, Handler] = {
    "sw_interface_set_flags": sw_interface_set_flags,
    "sw_interface_set_mac_address": sw_interface_set_mac_address,
    "sw_interface_set_mtu": sw_interface_set_mtu,
    "sw_interface_tag_add_del": sw_interface_tag_add_del,
    "sw_interface_set_table": sw_interface_set_table,
    "sw_interface_get_table": sw_interface_get_table,
    "sw_interface_add_del_address": sw_interface_add_del_address,
    "sw_interface_set_unnumbered": sw_interface_set_unnumbered,
    "sw_interface_ip6_enable_disable": sw_interface_ip6_enable_disable,
}
