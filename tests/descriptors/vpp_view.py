"""What a simulated VPP holds, compared with what a desired state implies.

In: the simulator's :class:`~contivpy.sim.vpp.state.VppState` and a desired state (key ->
model value). Out: ``mismatches``, a list of differences in words (empty when VPP holds
exactly what was desired): interfaces (ours are the tagged ones, plus NICs configured by
name) with their settings, addresses, VRFs, unnumbered and links; API VRF tables; API routes;
static neighbours; proxy ARP; bridge domains (by tag) with settings and members; static L2
FIB entries (VPP's own BVI entries aside); cross-connects. Read straight from the simulator's
state, not through the descriptors' retrieve, so a retrieve bug cannot hide a wrong VPP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import canonical_mac
from contivpy.models.vpp_l2 import L2FIB, BridgeDomain, L2FIBAction, XConnect
from contivpy.models.vpp_l3 import IPNeighbor, IpProtocol, ProxyARP, Route, RouteType, VrfTable
from contivpy.sim.vpp.fib_view import PATH_DROP, PATH_NORMAL
from contivpy.sim.vpp.model import Interface as SimInterface
from contivpy.sim.vpp.model import Kind
from contivpy.sim.vpp.state import VppState

NO_INDEX = 0xFFFFFFFF
_KINDS = {
    Kind.LOOPBACK: InterfaceType.LOOPBACK,
    Kind.TAP: InterfaceType.TAP,
    Kind.MEMIF: InterfaceType.MEMIF,
    Kind.AF_PACKET: InterfaceType.AF_PACKET,
    Kind.VXLAN: InterfaceType.VXLAN_TUNNEL,
    Kind.SUB: InterfaceType.SUB_INTERFACE,
    Kind.ETHERNET: InterfaceType.DPDK,
}


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _values(desired: Mapping[str, object], kind: type) -> list:  # type: ignore[type-arg]
    return [v for v in desired.values() if isinstance(v, kind)]


def ours(state: VppState, desired: Mapping[str, object]) -> dict[str, SimInterface]:
    """Our interfaces by name: tagged ones, and NICs the desired state configures."""
    nics = {v.name for v in _values(desired, Interface) if v.type is InterfaceType.DPDK}
    out: dict[str, SimInterface] = {}
    for iface in state.interfaces.values():
        if iface.tag:
            out[iface.tag] = iface
        elif iface.kind == Kind.ETHERNET and iface.name in nics:
            out[iface.name] = iface
    return out


def names_by_index(state: VppState, desired: Mapping[str, object]) -> dict[int, str]:
    """sw_if_index -> our name (or VPP's name for interfaces that are not ours)."""
    names = {i.sw_if_index: i.name for i in state.interfaces.values()}
    names.update({i.sw_if_index: name for name, i in ours(state, desired).items()})
    return names


def mismatches(state: VppState, desired: Mapping[str, object]) -> list[str]:
    """How VPP differs from what ``desired`` implies (empty: exactly as desired)."""
    out: list[str] = []
    out += _interface_mismatches(state, desired)
    out += _set_mismatch("VRF tables", _tables(state), _desired_tables(desired))
    names = names_by_index(state, desired)
    out += _set_mismatch("routes", _routes(state, names), _desired_routes(desired))
    out += _set_mismatch("neighbours", _neighbors(state, names), _desired_neighbors(desired))
    out += _proxy_mismatches(state, desired, names)
    out += _bd_mismatches(state, desired, names)
    out += _set_mismatch("L2 FIB", _l2fib(state, names), _desired_l2fib(desired))
    xcs: set[object] = {
        (names[i.sw_if_index], names.get(i.xconnect_to or 0)) for i in _with_xconnect(state)
    }
    want_xcs: set[object] = {
        (x.receive_interface, x.transmit_interface) for x in _values(desired, XConnect)
    }
    out += _set_mismatch("cross-connects", xcs, want_xcs)
    return out


def _set_mismatch(what: str, have: set[object], want: set[object]) -> list[str]:
    if have == want:
        return []
    return [
        f"{what}: missing {sorted(map(str, want - have))}, extra {sorted(map(str, have - want))}"
    ]


def _interface_mismatches(state: VppState, desired: Mapping[str, object]) -> list[str]:
    found = ours(state, desired)
    names = names_by_index(state, desired)
    want = {v.name: v for v in _values(desired, Interface)}
    out: list[str] = []
    extra = sorted(set(found) - set(want))
    if extra:
        out.append(f"interfaces not desired: {extra}")
    for name, value in sorted(want.items()):
        iface = found.get(name)
        if iface is None:
            out.append(f"interface {name}: missing")
            continue
        problems = _interface_problems(state, iface, value, names)
        out.extend(f"interface {name}: {p}" for p in problems)
    return out


def _interface_problems(
    state: VppState, iface: SimInterface, value: Interface, names: Mapping[int, str]
) -> list[str]:
    problems: list[str] = []
    if _KINDS.get(iface.kind) is not value.type:
        problems.append(f"kind {iface.kind} is not {value.type}")
    if iface.admin_up != value.enabled:
        problems.append(f"admin up {iface.admin_up}")
    if value.phys_address and _mac(state.mac_of(iface)) != canonical_mac(value.phys_address):
        problems.append(f"MAC {_mac(state.mac_of(iface))}")
    if value.mtu and iface.mtu[0] != value.mtu:
        problems.append(f"MTU {iface.mtu[0]}")
    have = {str(a) for a in iface.addresses}
    want = {str(ipaddress.ip_interface(a)) for a in value.ip_addresses}
    if have != want:
        problems.append(f"addresses {sorted(have)}, not {sorted(want)}")
    if any(a.version == 4 for a in iface.addresses) and iface.vrf4 != value.vrf:
        problems.append(f"IPv4 VRF {iface.vrf4}")
    if any(a.version == 6 for a in iface.addresses) and iface.vrf6 != value.vrf:
        problems.append(f"IPv6 VRF {iface.vrf6}")
    unnumbered = None if iface.unnumbered_of is None else names.get(iface.unnumbered_of)
    if unnumbered != value.unnumbered:
        problems.append(f"unnumbered {unnumbered}")
    problems.extend(_link_problems(state, iface, value, names))
    return problems


def _link_problems(
    state: VppState, iface: SimInterface, value: Interface, names: Mapping[int, str]
) -> list[str]:
    link = value.link
    if isinstance(link, TapLink) and iface.tap is not None:
        tap = iface.tap
        got = (tap.rx_ring_size, tap.tx_ring_size, tap.host_namespace)
        if got != (link.rx_ring_size, link.tx_ring_size, link.host_namespace):
            return [f"tap {got}"]
        if link.host_if_name and tap.host_if_name != link.host_if_name:
            return [f"tap host name {tap.host_if_name}"]
    elif isinstance(link, MemifLink) and iface.memif is not None:
        memif = iface.memif
        got_m = (memif.socket_id, memif.id, memif.role == 0, memif.mode, memif.secret)
        want_m = (link.socket_id, link.id, link.master, _memif_mode(link.mode), link.secret)
        if got_m != want_m:
            return ["memif settings differ"]  # never print the secret
        if link.socket_id and state.memif_sockets.get(link.socket_id) != link.socket_filename:
            return [f"memif socket file {state.memif_sockets.get(link.socket_id)}"]
    elif isinstance(link, AfPacketLink) and iface.af_packet is not None:
        if iface.af_packet.host_if_name != link.host_if_name:
            return [f"af_packet host {iface.af_packet.host_if_name}"]
    elif isinstance(link, SubInterfaceLink) and iface.sub is not None:
        got_s = (names.get(iface.sub.parent), iface.sub.outer_vlan_id)
        if got_s != (link.parent, link.sub_id):
            return [f"sub-interface {got_s}"]
    elif isinstance(link, VxlanLink) and iface.vxlan is not None:
        vx = iface.vxlan
        got_v = (vx.src, vx.dst, vx.vni, vx.encap_vrf_id)
        want_v = (
            ipaddress.ip_address(link.src_address),
            ipaddress.ip_address(link.dst_address),
            link.vni,
            link.vrf,
        )
        if got_v != want_v:
            return [f"vxlan {got_v}"]
    elif link is not None:
        return [f"no {type(link).__name__} side in VPP"]
    return []


def _memif_mode(mode: MemifMode) -> int:
    return {MemifMode.ETHERNET: 0, MemifMode.IP: 1, MemifMode.PUNT_INJECT: 2}[mode]


def _tables(state: VppState) -> set[object]:
    return {(t.is_ip6, t.table_id) for t in state.tables.values() if t.table_id and t.api_owned}


def _desired_tables(desired: Mapping[str, object]) -> set[object]:
    return {(t.protocol is IpProtocol.IPV6, t.id) for t in _values(desired, VrfTable)}


def _routes(state: VppState, names: Mapping[int, str]) -> set[object]:
    out: set[object] = set()
    for (_is_ip6, table_id), routes in state.routes.items():
        for prefix, route in routes.items():
            for p in route.paths:
                interface = names.get(p.sw_if_index, "") if p.sw_if_index != NO_INDEX else ""
                nh = str(p.next_hop) if p.next_hop is not None else ""
                kind = {PATH_DROP: "drop", PATH_NORMAL: "normal"}.get(p.type, str(p.type))
                path_table = p.table_id if kind == "normal" else 0
                out.add(
                    (table_id, str(prefix), interface, nh, path_table, kind, p.weight, p.preference)
                )
    return out


def _desired_routes(desired: Mapping[str, object]) -> set[object]:
    out: set[object] = set()
    for r in _values(desired, Route):
        prefix = str(ipaddress.ip_network(r.dst_network))
        nh = str(ipaddress.ip_address(r.next_hop)) if r.next_hop else ""
        if r.type is RouteType.DROP:
            out.add((r.vrf, prefix, "", "", 0, "drop", r.weight, r.preference))
        elif r.type is RouteType.INTER_VRF:
            out.add((r.vrf, prefix, "", nh, r.via_vrf, "normal", r.weight, r.preference))
        else:
            route = (r.vrf, prefix, r.outgoing_interface, nh, r.vrf, "normal")
            out.add((*route, r.weight, r.preference))
    return out


def _neighbors(state: VppState, names: Mapping[int, str]) -> set[object]:
    return {
        (names[n.sw_if_index], str(n.ip), _mac(n.mac), bool(n.flags & 1))
        for n in state.neighbors.values()
    }


def _desired_neighbors(desired: Mapping[str, object]) -> set[object]:
    return {
        (
            n.interface,
            str(ipaddress.ip_address(n.ip_address)),
            canonical_mac(n.phys_address),
            n.static,
        )
        for n in _values(desired, IPNeighbor)
    }


def _proxy_mismatches(
    state: VppState, desired: Mapping[str, object], names: Mapping[int, str]
) -> list[str]:
    ranges = {(str(r.low), str(r.high), r.table_id) for r in state.proxy_arp_ranges}
    enabled = {names[i.sw_if_index] for i in state.interfaces.values() if i.proxy_arp}
    want_ranges: set[object] = set()
    want_enabled: set[object] = set()
    for p in _values(desired, ProxyARP):
        want_ranges |= {(r.first_ip, r.last_ip, r.vrf) for r in p.ranges}
        want_enabled |= set(p.interfaces)
    return _set_mismatch("proxy ARP ranges", set(ranges), want_ranges) + _set_mismatch(
        "proxy ARP interfaces", set(enabled), want_enabled
    )


def _bd_mismatches(
    state: VppState, desired: Mapping[str, object], names: Mapping[int, str]
) -> list[str]:
    have = {}
    for bd in state.bridge_domains.values():
        if not bd.tag:
            continue
        settings = (bd.flood, bd.uu_flood, bd.forward, bd.learn, bd.arp_term, bd.mac_age)
        members = frozenset(
            (names[m.sw_if_index], m.port_type == 1, m.shg) for m in bd.members.values()
        )
        have[bd.tag] = (settings, members)
    want = {}
    for v in _values(desired, BridgeDomain):
        settings = (
            v.flood,
            v.unknown_unicast_flood,
            v.forward,
            v.learn,
            v.arp_termination,
            v.mac_age,
        )
        members = frozenset((m.name, m.bvi, m.split_horizon_group) for m in v.interfaces)
        want[v.name] = (settings, members)
    if have == want:
        return []
    return [f"bridge domains: have {have}, want {want}"]


def _l2fib(state: VppState, names: Mapping[int, str]) -> set[object]:
    tags = {bd.bd_id: bd.tag for bd in state.bridge_domains.values()}
    return {
        (
            tags.get(e.bd_id, ""),
            _mac(e.mac),
            "" if e.filter else names.get(e.sw_if_index, ""),
            e.filter,
            e.static,
        )
        for e in state.l2fib.values()
        if not e.bvi
    }


def _desired_l2fib(desired: Mapping[str, object]) -> set[object]:
    return {
        (
            f.bridge_domain,
            canonical_mac(f.phys_address),
            f.outgoing_interface,
            f.action is L2FIBAction.DROP,
            f.static,
        )
        for f in _values(desired, L2FIB)
    }


def _with_xconnect(state: VppState) -> Iterable[SimInterface]:
    return (i for i in state.interfaces.values() if i.xconnect_to is not None)
