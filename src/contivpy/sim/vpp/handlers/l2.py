"""L2: cross-connects, bridge domains and their forwarding tables.

In: sw_interface_set_l2_xconnect, l2_xconnect_dump, bridge_domain_add_del_v2,
bridge_domain_dump, sw_interface_set_l2_bridge, l2fib_add_del, l2_fib_table_dump,
l2_interface_vlan_tag_rewrite.
Out: replies and details.

As VPP's l2 API:

- bridge domain 0 is VPP's own placeholder: adding it is BD_ALREADY_EXISTS, deleting it
  BD_NOT_MODIFIABLE, dumps never show it; ids above 2^24-1 are BD_ID_EXCEED_MAX; adding an
  existing domain is BD_ALREADY_EXISTS; deleting a missing one NO_SUCH_ENTRY, one with
  members BD_IN_USE; id ~0 picks a free id pseudo-randomly, anywhere up to 2^24-1, from a
  sequence that starts again with every VPP process (first 7271263, as a real VPP);
- bridge_domain_dump lists domains in the order they were made; filtered by sw_if_index it
  returns nothing (VPP's handler does not implement that filter);
- a cross-connect to an unknown TX interface is INVALID_SW_IF_INDEX;
- putting an interface into a domain that does not exist creates the domain (find-or-add);
  a second BVI is BD_ALREADY_HAS_BVI; an interface without Ethernet (local0, TUN, IP-mode
  memif, L3 VXLAN) is NON_ETHERNET; a BVI's MAC appears in the L2 FIB as a static BVI entry;
- an L2 FIB entry needs an existing domain (NO_SUCH_ENTRY) and, unless it filters, an
  interface in bridge mode (INVALID_SW_IF_INDEX);
- an interface is in one L2 mode at a time: joining a domain ends a cross-connect and the
  other way round;
- l2_interface_vlan_tag_rewrite: an unknown sw_if_index is INVALID_SW_IF_INDEX, an unknown
  op INVALID_VALUE, an interface whose hardware is not Ethernet (local0, VXLAN, TUN, IP-mode
  memif or af_packet) INVALID_INTERFACE, popping or translating more tags than the interface
  matches with explicit VLAN ids (a port none, a dot1q sub-interface one)
  INVALID_VLAN_TAG_COUNT; accepted in any L2 mode, cleared when the interface goes back to L3
  (``VppState.to_l3``), read back in sw_interface_details as l2vtr_get reports it.
"""

from __future__ import annotations

from dataclasses import replace

from contivpy.sim.vpp.forwarding_vlan import (
    SUB_IF_DEFAULT,
    SUB_IF_INNER_VLAN_ID_ANY,
    SUB_IF_NO_TAGS,
    SUB_IF_ONE_TAG,
    SUB_IF_OUTER_VLAN_ID_ANY,
    SUB_IF_TWO_TAGS,
)
from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import (
    BdMember,
    BridgeDomain,
    Interface,
    Kind,
    L2FibEntry,
    PortType,
    SimError,
)
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls import bridge_domains
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.subinterfaces import VlanTagRewrite, VtrOp
from contivpy.vppcalls.wire import NO_INDEX

MAX_BD_ID = (1 << 24) - 1
#: Interfaces that are not Ethernet and cannot switch frames.
_NON_ETHERNET_MACS = bytes(6)


def sw_interface_set_l2_xconnect(state: VppState, msg: Message) -> Fields:
    rx = state.interface(msg.get_int("rx_sw_if_index"))
    if not msg.get_bool("enable"):
        state.to_l3(rx)
        return {}
    tx = state.interface(msg.get_int("tx_sw_if_index"))
    state.leave_bridge_domain(rx)
    rx.xconnect_to = tx.sw_if_index
    return {}


def l2_xconnect_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"rx_sw_if_index": index, "tx_sw_if_index": iface.xconnect_to}
        for index, iface in sorted(state.interfaces.items())
        if iface.xconnect_to is not None
    ]


def bridge_domain_add_del_v2(state: VppState, msg: Message) -> Fields:
    bd_id = msg.get_int("bd_id")
    if msg.get_bool("is_add") and bd_id == NO_INDEX:
        bd_id = _unused_bd_id(state)
        if bd_id == NO_INDEX:
            raise SimError(Retval.EAGAIN, "no free bridge domain id found")
    if bd_id == 0:
        if msg.get_bool("is_add"):
            raise SimError(Retval.BD_ALREADY_EXISTS, "bridge domain 0 is VPP's")
        raise SimError(Retval.BD_NOT_MODIFIABLE, "bridge domain 0 is VPP's")
    if bd_id > MAX_BD_ID:
        raise SimError(Retval.BD_ID_EXCEED_MAX, f"bridge domain {bd_id}")
    existing = state.bridge_domains.get(bd_id)
    if not msg.get_bool("is_add"):
        if existing is None:
            raise SimError(Retval.NO_SUCH_ENTRY, f"no bridge domain {bd_id}")
        if existing.members:
            raise SimError(Retval.BD_IN_USE, f"bridge domain {bd_id} has members")
        del state.bridge_domains[bd_id]
        for key in [k for k in state.l2fib if k[0] == bd_id]:
            del state.l2fib[key]
        return {"bd_id": bd_id}
    if existing is not None:
        raise SimError(Retval.BD_ALREADY_EXISTS, f"bridge domain {bd_id} exists")
    settings = replace(bridge_domains.BridgeDomain.from_message(msg), bd_id=bd_id)
    state.bridge_domains[bd_id] = BridgeDomain(settings)
    return {"bd_id": bd_id}


def _unused_bd_id(state: VppState) -> int:
    """A free id as VPP's bd_get_unused_id picks it: from a pseudo-random seed that starts at
    0 in every VPP process (so a fresh VPP's first pick is 7271263), walking seed+0, seed+1,
    seed-1, seed+2, … within 24 bits; ~0 when a million tries find none."""
    seed = state.bd_id_seed
    try:
        for _ in range(1 << 10):
            seed = (1664525 * seed + 1013904223) & 0xFFFFFFFF  # vppinfra's random_u32
            for i in range(1 << 10):
                seed = (seed + (2 * (i % 2) - 1) * i) & MAX_BD_ID
                if seed and seed not in state.bridge_domains:
                    return seed
        return NO_INDEX
    finally:
        state.bd_id_seed = seed


def _bd_details(bd: BridgeDomain) -> Fields:
    bvi = bd.bvi
    return {
        **bd.settings.fields(),
        "bvi_sw_if_index": NO_INDEX if bvi is None else bvi,
        "uu_fwd_sw_if_index": NO_INDEX,
        "n_sw_ifs": len(bd.members),
        "sw_if_details": [
            {"context": 0, "sw_if_index": m.sw_if_index, "shg": m.shg} for m in bd.members.values()
        ],
    }


def bridge_domain_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted_bd = msg.get_int("bd_id")
    if msg.get_int("sw_if_index") != NO_INDEX:
        return []  # "UNIMPLEMENTED" in VPP's handler: nothing is sent
    return [
        _bd_details(bd)
        for bd_id, bd in state.bridge_domains.items()
        if wanted_bd in (NO_INDEX, bd_id)
    ]


def _is_ethernet(iface: Interface) -> bool:
    return iface.kind != Kind.LOCAL and iface.mac != _NON_ETHERNET_MACS


def sw_interface_set_l2_bridge(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("rx_sw_if_index"))
    if not msg.get_bool("enable"):
        state.to_l3(iface)
        return {}
    bd_id = msg.get_int("bd_id")
    if bd_id > MAX_BD_ID:
        raise SimError(Retval.BD_ID_EXCEED_MAX, f"bridge domain {bd_id}")
    if not _is_ethernet(iface):
        raise SimError(Retval.NON_ETHERNET, f"{iface.name} is not Ethernet")
    port_type = PortType(msg.get_int("port_type"))
    bd = state.bridge_domains.get(bd_id)
    if bd is None:
        bd = state.bridge_domains[bd_id] = BridgeDomain(bridge_domains.BridgeDomain(bd_id))
    if port_type == PortType.BVI and bd.bvi not in (None, iface.sw_if_index):
        raise SimError(Retval.BD_ALREADY_HAS_BVI, f"bridge domain {bd_id} has a BVI")
    state.leave_l2_mode(iface)
    bd.members[iface.sw_if_index] = BdMember(iface.sw_if_index, port_type, msg.get_int("shg"))
    iface.bd_id = bd_id
    if port_type == PortType.BVI:
        mac = state.mac_of(iface)
        state.l2fib[(bd_id, mac)] = L2FibEntry(bd_id, mac, iface.sw_if_index, True, False, True)
    return {}


def l2fib_add_del(state: VppState, msg: Message) -> Fields:
    bd_id = msg.get_int("bd_id")
    if bd_id not in state.bridge_domains:
        raise SimError(Retval.NO_SUCH_ENTRY, f"no bridge domain {bd_id}")
    mac = msg.get_bytes("mac")
    if not msg.get_bool("is_add"):
        if state.l2fib.pop((bd_id, mac), None) is None:
            raise SimError(Retval.NO_SUCH_ENTRY, "no such L2 FIB entry")
        return {}
    is_filter = msg.get_bool("filter_mac")
    sw_if_index = msg.get_int("sw_if_index")
    if not is_filter:
        iface = state.interface(sw_if_index)
        if iface.bd_id is None:
            raise SimError(Retval.INVALID_SW_IF_INDEX, f"{iface.name} is not in bridge mode")
    state.l2fib[(bd_id, mac)] = L2FibEntry(
        bd_id=bd_id,
        mac=mac,
        sw_if_index=NO_INDEX if is_filter else sw_if_index,
        static=msg.get_bool("static_mac"),
        filter=is_filter,
        bvi=msg.get_bool("bvi_mac"),
    )
    return {}


def l2_fib_table_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("bd_id")
    return [
        {
            "bd_id": e.bd_id,
            "mac": e.mac,
            "sw_if_index": e.sw_if_index,
            "static_mac": e.static,
            "filter_mac": e.filter,
            "bvi_mac": e.bvi,
        }
        for (bd_id, _mac), e in sorted(state.l2fib.items())
        if wanted in (NO_INDEX, bd_id)
    ]


#: af_packet_mode and memif_mode values whose interface is not Ethernet
_AF_PACKET_MODE_IP = 2
_MEMIF_MODE_ETHERNET = 0
#: the tags each rewrite pops on input (VPP refuses more than the interface matches)
_POPPED = {
    VtrOp.POP_1: 1,
    VtrOp.POP_2: 2,
    VtrOp.TRANSLATE_1_1: 1,
    VtrOp.TRANSLATE_1_2: 1,
    VtrOp.TRANSLATE_2_1: 2,
    VtrOp.TRANSLATE_2_2: 2,
}
_PUSHES_TWO = frozenset({VtrOp.PUSH_2, VtrOp.TRANSLATE_1_2, VtrOp.TRANSLATE_2_2})


def _ethernet_class(hw: Interface) -> bool:
    """Whether VPP registered the hardware interface as Ethernet (l2vtr_configure's test)."""
    if hw.kind in (Kind.ETHERNET, Kind.LOOPBACK):
        return True
    if hw.tap is not None:
        return hw.mac != _NON_ETHERNET_MACS  # a TUN has no MAC
    if hw.memif is not None:
        return hw.memif.mode == _MEMIF_MODE_ETHERNET
    if hw.af_packet is not None:
        return hw.af_packet.mode != _AF_PACKET_MODE_IP
    return False  # local0, VXLAN


def _matched_tags(iface: Interface) -> int:
    """The VLAN tags the interface matches with explicit ids (l2vtr_configure's cfg_tags)."""
    sub = iface.sub
    if sub is None or sub.flags & (SUB_IF_NO_TAGS | SUB_IF_DEFAULT):
        return 0
    if sub.flags & SUB_IF_OUTER_VLAN_ID_ANY:
        return 0
    if sub.flags & SUB_IF_TWO_TAGS:
        return 1 if sub.flags & SUB_IF_INNER_VLAN_ID_ANY else 2
    return 1 if sub.flags & SUB_IF_ONE_TAG else 0


def l2_interface_vlan_tag_rewrite(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    try:
        op = VtrOp(msg.get_int("vtr_op"))
    except ValueError:
        raise SimError(Retval.INVALID_VALUE, f"vtr_op {msg.get_int('vtr_op')}") from None
    hw = state.interfaces.get(iface.sub.parent, iface) if iface.sub is not None else iface
    if not _ethernet_class(hw):
        raise SimError(Retval.INVALID_INTERFACE, f"{hw.name} is not Ethernet")
    if _POPPED.get(op, 0) > _matched_tags(iface):
        raise SimError(
            Retval.INVALID_VLAN_TAG_COUNT,
            f"{iface.name} matches {_matched_tags(iface)} tag(s): cannot {op.name}",
        )
    # As l2vtr_get reads it back: no values for a pop, 16 bits of each pushed tag.
    pushes = op not in (VtrOp.DISABLED, VtrOp.POP_1, VtrOp.POP_2)
    iface.tag_rewrite = VlanTagRewrite(
        op=op,
        push_dot1q=pushes and msg.get_bool("push_dot1q"),
        tag1=msg.get_int("tag1") & 0xFFFF if pushes else 0,
        tag2=msg.get_int("tag2") & 0xFFFF if op in _PUSHES_TWO else 0,
    )
    return {}


HANDLERS: dict[str, Handler] = {
    "sw_interface_set_l2_xconnect": sw_interface_set_l2_xconnect,
    "l2_xconnect_dump": l2_xconnect_dump,
    "bridge_domain_add_del_v2": bridge_domain_add_del_v2,
    "bridge_domain_dump": bridge_domain_dump,
    "sw_interface_set_l2_bridge": sw_interface_set_l2_bridge,
    "l2fib_add_del": l2fib_add_del,
    "l2_fib_table_dump": l2_fib_table_dump,
    "l2_interface_vlan_tag_rewrite": l2_interface_vlan_tag_rewrite,
}
