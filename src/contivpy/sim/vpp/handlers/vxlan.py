"""VXLAN tunnels.

In: vxlan_add_del_tunnel_v3, vxlan_tunnel_v2_dump. Out: the tunnel's sw_if_index, details.

A tunnel is found by (src, dst, vni, dst port, encap VRF); adding one that exists answers
TUNNEL_EXIST, deleting one that does not NO_SUCH_ENTRY. The encap VRF must exist
(NO_SUCH_FIB). Port 0 means VPP's default (4789 for IPv4, 4790 for IPv6). Tunnels are
``vxlan_tunnel<instance>``; instance ~0 takes the lowest free one. A new tunnel is admin-up
and link-up; decap_next_index ~0 reads back as 1 (l2-input).
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import Interface, Kind, SimError, VxlanInfo
from contivpy.sim.vpp.state import VppState, lowest_free
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import NO_INDEX, address_from_wire, address_to_wire

_MAX_VNI = (1 << 24) - 1
#: vxlan_input's next node for L2 (l2-input): what "no decap next" (~0) becomes
DECAP_NEXT_L2_INPUT = 1


def _decap_next(requested: int) -> int:
    return DECAP_NEXT_L2_INPUT if requested == NO_INDEX else requested


def _tunnels(state: VppState) -> list[tuple[Interface, VxlanInfo]]:
    return [(i, i.vxlan) for i in state.of_kind(Kind.VXLAN) if i.vxlan is not None]


def vxlan_add_del_tunnel_v3(state: VppState, msg: Message) -> Fields:
    src = address_from_wire(msg.get_struct("src_address"))
    dst = address_from_wire(msg.get_struct("dst_address"))
    default_port = 4790 if dst.version == 6 else 4789
    info = VxlanInfo(
        instance=msg.get_int("instance"),
        src=src,
        dst=dst,
        src_port=msg.get_int("src_port") or default_port,
        dst_port=msg.get_int("dst_port") or default_port,
        vni=msg.get_int("vni"),
        encap_vrf_id=msg.get_int("encap_vrf_id"),
        mcast_sw_if_index=msg.get_int("mcast_sw_if_index"),
        decap_next_index=_decap_next(msg.get_int("decap_next_index")),
        is_l3=msg.get_bool("is_l3"),
    )
    key = (info.src, info.dst, info.vni, info.dst_port, info.encap_vrf_id)
    existing = next(
        (
            iface
            for iface, t in _tunnels(state)
            if (t.src, t.dst, t.vni, t.dst_port, t.encap_vrf_id) == key
        ),
        None,
    )
    if not msg.get_bool("is_add"):
        if existing is None:
            raise SimError(Retval.NO_SUCH_ENTRY, "no such tunnel")
        state.delete_interface(existing.sw_if_index)
        return {"sw_if_index": existing.sw_if_index}
    if src.version != dst.version:
        raise SimError(Retval.INVALID_VALUE, "source and destination families differ")
    if src == dst:
        raise SimError(Retval.SAME_SRC_DST, f"source and destination are both {src}")
    if info.vni > _MAX_VNI:
        raise SimError(Retval.INVALID_VALUE, f"VNI {info.vni}")
    state.require_table(dst.version == 6, info.encap_vrf_id)
    if existing is not None:
        raise SimError(Retval.TUNNEL_EXIST, f"{existing.name} has the same endpoints and VNI")
    used = {t.instance for _, t in _tunnels(state)}
    if info.instance == NO_INDEX:
        info.instance = lowest_free(used)
    elif info.instance in used:
        raise SimError(Retval.INSTANCE_IN_USE, f"vxlan_tunnel{info.instance} exists")
    mac = bytes(6) if info.is_l3 else state.random_mac()
    iface = state.add_interface(f"vxlan_tunnel{info.instance}", Kind.VXLAN, mac=mac, link_mtu=9000)
    iface.vxlan = info
    # VPP brings a new tunnel up itself (admin and link), and says so to subscribers.
    state.change_link(iface, admin_up=True)
    return {"sw_if_index": iface.sw_if_index}


def vxlan_tunnel_v2_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    return [
        {
            "sw_if_index": iface.sw_if_index,
            "instance": t.instance,
            "src_address": address_to_wire(t.src),
            "dst_address": address_to_wire(t.dst),
            "src_port": t.src_port,
            "dst_port": t.dst_port,
            "mcast_sw_if_index": t.mcast_sw_if_index,
            "encap_vrf_id": t.encap_vrf_id,
            "decap_next_index": t.decap_next_index,
            "vni": t.vni,
        }
        for iface, t in _tunnels(state)
        if wanted in (NO_INDEX, iface.sw_if_index)
    ]


HANDLERS: dict[str, Handler] = {
    "vxlan_add_del_tunnel_v3": vxlan_add_del_tunnel_v3,
    "vxlan_tunnel_v2_dump": vxlan_tunnel_v2_dump,
}
