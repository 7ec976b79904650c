"""Creating, deleting and dumping loopbacks, taps, af_packet interfaces and sub-interfaces.

In: create_loopback_instance, delete_loopback, tap_create_v3, tap_delete_v2,
sw_interface_tap_v2_dump, af_packet_create_v3, af_packet_delete, af_packet_dump,
create_vlan_subif, create_subif, delete_subif. Out: the new sw_if_index, or details.

As VPP 26.06: an af_packet interface on a Linux link that does not exist is
INVALID_INTERFACE; it is created with its link up (admin down) and MTU 9000; a
sub-interface has no MTU of its own (0) and the parent's device type.

Names as VPP gives them: ``loop<instance>`` (MAC de:ad:00:00:00:<instance> unless given),
``tap<id>`` (``tun<id>`` in TUN mode), ``host-<linux name>``, ``<parent>.<sub id>``.
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import AfPacketInfo, Interface, Kind, SimError, SubInfo, TapInfo
from contivpy.sim.vpp.state import VppState, lowest_free
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import (
    NO_INDEX,
    ip4_prefix_from_wire,
    ip4_prefix_to_wire,
    ip6_prefix_from_wire,
    ip6_prefix_to_wire,
)

TAP_FLAG_TUN = 16
#: sub_if_flags of a VLAN sub-interface: one tag, exact match
_VLAN_SUB_FLAGS = 2 | 16
_MAX_VLAN = 4095


def require_kind(state: VppState, sw_if_index: int, kind: Kind) -> Interface:
    """The interface, if it is of ``kind``; VPP answers INVALID_SW_IF_INDEX otherwise."""
    iface = state.interface(sw_if_index)
    if iface.kind != kind:
        raise SimError(Retval.INVALID_SW_IF_INDEX, f"{iface.name} is not {kind.value}")
    return iface


def _loopback_instances(state: VppState) -> set[int]:
    return {int(i.name.removeprefix("loop")) for i in state.of_kind(Kind.LOOPBACK)}


def create_loopback_instance(state: VppState, msg: Message) -> Fields:
    used = _loopback_instances(state)
    if msg.get_bool("is_specified"):
        instance = msg.get_int("user_instance")
        if instance in used:
            raise SimError(Retval.INVALID_REGISTRATION, f"loop{instance} exists")
    else:
        instance = lowest_free(used)
    mac = msg.get_bytes("mac_address")
    if mac == bytes(6):
        mac = bytes([0xDE, 0xAD, 0, 0, 0, instance & 0xFF])
    iface = state.add_interface(f"loop{instance}", Kind.LOOPBACK, mac=mac, link_mtu=9000)
    return {"sw_if_index": iface.sw_if_index}


def delete_loopback(state: VppState, msg: Message) -> Fields:
    iface = require_kind(state, msg.get_int("sw_if_index"), Kind.LOOPBACK)
    state.delete_interface(iface.sw_if_index)
    return {}


def tap_create_v3(state: VppState, msg: Message) -> Fields:
    if not state.vhost_net:
        # What a real VPP answers on a kernel without vhost-net.
        raise SimError(Retval.SYSCALL_ERROR_1, "open '/dev/vhost-net' failed")
    tap_id = msg.get_int("id")
    if tap_id == NO_INDEX:
        tap_id = state.free_tap_id()
    elif tap_id in state.tap_ids:
        raise SimError(Retval.INVALID_INTERFACE, f"tap id {tap_id} exists")
    flags = msg.get_int("tap_flags")
    is_tun = bool(flags & TAP_FLAG_TUN)
    mac = msg.get_bytes("mac_address")
    if is_tun:
        mac = bytes(6)
    elif msg.get_bool("use_random_mac") or mac == bytes(6):
        mac = state.random_mac()
    host_mac = (
        msg.get_bytes("host_mac_addr") if msg.get_bool("host_mac_addr_set") else state.random_mac()
    )
    name = f"{'tun' if is_tun else 'tap'}{tap_id}"
    host_mtu = msg.get_int("host_mtu_size") if msg.get_bool("host_mtu_set") else 0
    # Everything parsed before anything is created: a refusal leaves no half-made tap.
    tap = TapInfo(
        id=tap_id,
        host_if_name=msg.get_str("host_if_name") if msg.get_bool("host_if_name_set") else name,
        host_namespace=msg.get_str("host_namespace") if msg.get_bool("host_namespace_set") else "",
        host_bridge=msg.get_str("host_bridge") if msg.get_bool("host_bridge_set") else "",
        host_mac=host_mac,
        host_mtu=host_mtu,
        host_ip4_prefix=(
            ip4_prefix_from_wire(msg.get_struct("host_ip4_prefix"))
            if msg.get_bool("host_ip4_prefix_set")
            else None
        ),
        host_ip6_prefix=(
            ip6_prefix_from_wire(msg.get_struct("host_ip6_prefix"))
            if msg.get_bool("host_ip6_prefix_set")
            else None
        ),
        tap_flags=flags,
        rx_ring_size=msg.get_int("rx_ring_sz"),
        tx_ring_size=msg.get_int("tx_ring_sz"),
        num_rx_queues=msg.get_int("num_rx_queues"),
        num_tx_queues=msg.get_int("num_tx_queues"),
    )
    iface = state.add_interface(name, Kind.TAP, mac=mac, link_mtu=9000)
    iface.tag = msg.get_str("tag")
    iface.tap = tap
    state.claim_tap_id(tap_id)
    return {"sw_if_index": iface.sw_if_index}


def tap_delete_v2(state: VppState, msg: Message) -> Fields:
    iface = require_kind(state, msg.get_int("sw_if_index"), Kind.TAP)
    state.delete_interface(iface.sw_if_index)
    return {}


def sw_interface_tap_v2_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    out: list[Fields] = []
    for iface in state.of_kind(Kind.TAP):
        tap = iface.tap
        if tap is None or wanted not in (NO_INDEX, iface.sw_if_index):
            continue
        out.append(
            {
                "sw_if_index": iface.sw_if_index,
                "id": tap.id,
                "tx_ring_sz": tap.tx_ring_size,
                "rx_ring_sz": tap.rx_ring_size,
                "host_mtu_size": tap.host_mtu,
                "host_mac_addr": tap.host_mac,
                "host_ip4_prefix": ip4_prefix_to_wire(tap.host_ip4_prefix),
                "host_ip6_prefix": ip6_prefix_to_wire(tap.host_ip6_prefix),
                "tap_flags": tap.tap_flags,
                "dev_name": iface.name,
                "host_if_name": tap.host_if_name,
                "host_namespace": tap.host_namespace,
                "host_bridge": tap.host_bridge,
            }
        )
    return out


def af_packet_create_v3(state: VppState, msg: Message) -> Fields:
    host_name = msg.get_str("host_if_name")
    if state.host_interfaces is not None and host_name not in state.host_interfaces:
        raise SimError(Retval.INVALID_INTERFACE, f"no Linux interface {host_name}")
    name = f"host-{host_name}"
    if state.by_name(name) is not None:
        raise SimError(Retval.IF_ALREADY_EXISTS, f"{name} exists")
    mac = msg.get_bytes("hw_addr")
    if msg.get_bool("use_random_hw_addr") or mac == bytes(6):
        mac = state.random_mac()
    iface = state.add_interface(name, Kind.AF_PACKET, mac=mac, link_mtu=9000)
    iface.hw_link_up = True  # VPP sets the link up on create, whatever the admin state
    iface.af_packet = AfPacketInfo(
        host_if_name=host_name,
        mode=msg.get_int("mode") or 1,
        flags=msg.get_int("flags"),
        num_rx_queues=msg.get_int("num_rx_queues"),
        num_tx_queues=msg.get_int("num_tx_queues"),
    )
    return {"sw_if_index": iface.sw_if_index}


def af_packet_delete(state: VppState, msg: Message) -> Fields:
    iface = state.by_name(f"host-{msg.get_str('host_if_name')}")
    if iface is None or iface.kind != Kind.AF_PACKET:
        # VPP's af_packet_delete_if answers a name it does not know with SYSCALL_ERROR_1.
        raise SimError(Retval.SYSCALL_ERROR_1, "host interface does not exist")
    state.delete_interface(iface.sw_if_index)
    return {}


def af_packet_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"sw_if_index": i.sw_if_index, "host_if_name": i.af_packet.host_if_name}
        for i in state.of_kind(Kind.AF_PACKET)
        if i.af_packet is not None
    ]


def _create_sub(state: VppState, parent_index: int, sub: SubInfo, exists: Retval) -> Fields:
    parent = state.interface(parent_index)
    if parent.sub is not None:
        # Sub-interfaces hang off the hardware interface, as VPP's sup_hw lookup does.
        parent = state.interface(parent.sub.parent)
    sub.parent = parent.sw_if_index
    if parent.kind == Kind.LOCAL:
        raise SimError(Retval.INVALID_SW_IF_INDEX, "local0 takes no sub-interfaces")
    name = f"{parent.name}.{sub.sub_id}"
    if state.by_name(name) is not None:
        raise SimError(exists, f"{name} exists")
    iface = state.add_interface(name, Kind.SUB, mac=parent.mac, link_mtu=parent.link_mtu)
    iface.dev_type = parent.dev_type
    iface.mtu = [0, 0, 0, 0]  # VPP sets no protocol MTU on a sub-interface
    iface.sub = sub
    return {"sw_if_index": iface.sw_if_index}


def create_vlan_subif(state: VppState, msg: Message) -> Fields:
    vlan = msg.get_int("vlan_id")
    if not 0 < vlan <= _MAX_VLAN:
        raise SimError(Retval.INVALID_VLAN, f"VLAN {vlan}")
    sub = SubInfo(msg.get_int("sw_if_index"), vlan, _VLAN_SUB_FLAGS, vlan, 0)
    return _create_sub(state, msg.get_int("sw_if_index"), sub, Retval.VLAN_ALREADY_EXISTS)


def create_subif(state: VppState, msg: Message) -> Fields:
    sub = SubInfo(
        parent=msg.get_int("sw_if_index"),
        sub_id=msg.get_int("sub_id"),
        flags=msg.get_int("sub_if_flags"),
        outer_vlan_id=msg.get_int("outer_vlan_id"),
        inner_vlan_id=msg.get_int("inner_vlan_id"),
    )
    return _create_sub(state, msg.get_int("sw_if_index"), sub, Retval.SUBIF_ALREADY_EXISTS)


def delete_subif(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    if iface.kind != Kind.SUB:
        raise SimError(Retval.INVALID_SUB_SW_IF_INDEX, f"{iface.name} is not a sub-interface")
    state.delete_interface(iface.sw_if_index)
    return {}


HANDLERS: dict[str, Handler] = {
    "create_loopback_instance": create_loopback_instance,
    "delete_loopback": delete_loopback,
    "tap_create_v3": tap_create_v3,
    "tap_delete_v2": tap_delete_v2,
    "sw_interface_tap_v2_dump": sw_interface_tap_v2_dump,
    "af_packet_create_v3": af_packet_create_v3,
    "af_packet_delete": af_packet_delete,
    "af_packet_dump": af_packet_dump,
    "create_vlan_subif": create_vlan_subif,
    "create_subif": create_subif,
    "delete_subif": delete_subif,
}
