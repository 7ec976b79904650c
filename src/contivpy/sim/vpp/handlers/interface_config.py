"""Settings on an existing interface: admin state, MAC, MTU, tag, VRF, addresses, unnumbered.

In: sw_interface_set_flags, sw_interface_set_mac_address, sw_interface_set_mtu,
sw_interface_tag_add_del, sw_interface_set_table, sw_interface_get_table,
sw_interface_add_del_address, sw_interface_set_unnumbered, sw_interface_ip6_enable_disable.
Out: empty replies (or the VRF), and interface events for admin changes.

Refusals as VPP answers them: an unknown interface INVALID_SW_IF_INDEX (the second interface
of set_unnumbered INVALID_SW_IF_INDEX_2); binding to a missing VRF NO_SUCH_FIB; re-binding an
interface that has addresses ADDRESS_FOUND_FOR_INTERFACE; the same address twice
DUPLICATE_IF_ADDRESS; an address overlapping another interface's in the same VRF
ADDRESS_IN_USE; removing an address that is not there ADDRESS_NOT_FOUND_FOR_INTERFACE; an
MTU above the device maximum INVALID_VALUE; a multicast MAC UNIMPLEMENTED; an empty tag
INVALID_VALUE. An unnumbered interface takes the VRF of the interface it borrows from.
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import Interface, Kind, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import IpInterface, interface_address_from_wire

ADMIN_UP = 1
#: The largest frame the simulated devices accept.
MAX_MTU = 9216


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
    wanted = msg.get_ints("mtu")
    if any(m > MAX_MTU for m in wanted) or iface.kind == Kind.LOCAL:
        raise SimError(Retval.INVALID_VALUE, f"MTU above {MAX_MTU}")
    iface.mtu = [new or old for new, old in zip(wanted, iface.mtu, strict=True)]
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


def _addresses(iface: Interface, is_ip6: bool) -> list[IpInterface]:
    return [a for a in iface.addresses if (a.version == 6) == is_ip6]


def sw_interface_set_table(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    is_ip6 = msg.get_bool("is_ipv6")
    vrf_id = msg.get_int("vrf_id")
    state.require_table(is_ip6, vrf_id)
    current = iface.vrf6 if is_ip6 else iface.vrf4
    if current == vrf_id:
        return {}
    if _addresses(iface, is_ip6):
        raise SimError(Retval.ADDRESS_FOUND_FOR_INTERFACE, f"{iface.name} has addresses")
    if is_ip6:
        iface.vrf6 = vrf_id
    else:
        iface.vrf4 = vrf_id
    state.drop_unused_tables()
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
    ip_iface = state.interface(msg.get_int("sw_if_index"))
    unnumbered = state.interface(
        msg.get_int("unnumbered_sw_if_index"), Retval.INVALID_SW_IF_INDEX_2
    )
    if msg.get_bool("is_add"):
        unnumbered.unnumbered_of = ip_iface.sw_if_index
        # VPP puts the unnumbered interface into the FIB of the one it borrows from.
        state.set_tables(unnumbered, ip_iface.vrf4, ip_iface.vrf6)
    elif unnumbered.unnumbered_of is not None:
        unnumbered.unnumbered_of = None
        state.set_tables(unnumbered, 0, 0)
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
