"""What a VPP holds (a :class:`~vpp_target.snapshot.VppSnapshot`), compared with what a
desired state implies.

In: a snapshot read through the API and a desired state (key -> model value). Out:
``mismatches``, a list of differences in words (empty when VPP holds exactly what was desired):
interfaces (ours are the tagged ones, plus NICs configured by name) with their settings,
addresses, VRFs, unnumbered and links; VRF tables other than 0; routes the API made; static
neighbours, and dynamic ones the desired state names (the ones VPP learnt by itself are not
ours); proxy ARP; bridge domains (by tag) with settings and members; static L2 FIB entries and
learnt ones the desired state names (VPP's own BVI entries aside); cross-connects. Interfaces
that are not ours go by the names the models give them: a NIC (dpdk) by VPP's name, anything
else ``UNTAGGED-<VPP's name>`` (e.g. an af_packet standing in for a NIC as a sub-interface's
parent). The same comparison holds on the simulator and on a real VPP, since both are read
through dumps.

What the API cannot tell is not compared: a memif's secret, and whether the API still holds
a VRF table that an interface keeps alive (VPP lists it either way).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

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
from contivpy.vppcalls import memif as vpp_memif
from contivpy.vppcalls.routes import SOURCE_API, PathType
from vpp_target.snapshot import InterfaceSnapshot, VppSnapshot

NO_INDEX = 0xFFFFFFFF
UNTAGGED_PREFIX = "UNTAGGED-"
_DEV_TYPES = {
    "Loopback": InterfaceType.LOOPBACK,
    "virtio": InterfaceType.TAP,
    "memif": InterfaceType.MEMIF,
    "af-packet": InterfaceType.AF_PACKET,
    "VXLAN": InterfaceType.VXLAN_TUNNEL,
    "dpdk": InterfaceType.DPDK,
}


def _values(desired: Mapping[str, object], kind: type) -> list:  # type: ignore[type-arg]
    return [v for v in desired.values() if isinstance(v, kind)]


def kind_of(iface: InterfaceSnapshot) -> InterfaceType:
    """The interface's type as contivpy's model names it."""
    if iface.details.is_sub:
        return InterfaceType.SUB_INTERFACE
    return _DEV_TYPES.get(iface.details.dev_type, InterfaceType.UNDEFINED)


def ours(snapshot: VppSnapshot, desired: Mapping[str, object]) -> dict[str, InterfaceSnapshot]:
    """Our interfaces by name: tagged ones, and NICs the desired state configures."""
    nics = {v.name for v in _values(desired, Interface) if v.type is InterfaceType.DPDK}
    out: dict[str, InterfaceSnapshot] = {}
    for iface in snapshot.interfaces.values():
        if iface.tag:
            out[iface.tag] = iface
        elif iface.name in nics:
            out[iface.name] = iface
    return out


def model_name(iface: InterfaceSnapshot) -> str:
    """The name contivpy's models give an interface that is not ours (see the module
    docstring): desired values refer to it by this name."""
    if kind_of(iface) is InterfaceType.DPDK:
        return iface.name
    return UNTAGGED_PREFIX + iface.name


def names_by_index(snapshot: VppSnapshot, desired: Mapping[str, object]) -> dict[int, str]:
    """sw_if_index -> our name (or the model's name for interfaces that are not ours)."""
    names = {i.sw_if_index: model_name(i) for i in snapshot.interfaces.values()}
    names.update({i.sw_if_index: name for name, i in ours(snapshot, desired).items()})
    return names


def mismatches(snapshot: VppSnapshot, desired: Mapping[str, object]) -> list[str]:
    """How VPP differs from what ``desired`` implies (empty: exactly as desired)."""
    names = names_by_index(snapshot, desired)
    out: list[str] = []
    out += _interface_mismatches(snapshot, desired, names)
    out += _set_mismatch("VRF tables", _tables(snapshot), _desired_tables(desired))
    out += _set_mismatch("routes", _routes(snapshot, names), _desired_routes(desired))
    want_neighbors = _desired_neighbors(desired)
    have_neighbors = _neighbors(snapshot, names, {n[:2] for n in want_neighbors})
    out += _set_mismatch("neighbours", have_neighbors, set(want_neighbors))
    out += _proxy_mismatches(snapshot, desired, names)
    out += _bd_mismatches(snapshot, desired, names)
    wanted_fib = _desired_l2fib(desired)
    out += _set_mismatch("L2 FIB", _l2fib(snapshot, names, wanted_fib), wanted_fib)
    xcs: set[object] = {
        (names.get(x.rx_sw_if_index), names.get(x.tx_sw_if_index)) for x in snapshot.xconnects
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


def _interface_mismatches(
    snapshot: VppSnapshot, desired: Mapping[str, object], names: Mapping[int, str]
) -> list[str]:
    found = ours(snapshot, desired)
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
        problems = _interface_problems(snapshot, iface, value, names)
        out.extend(f"interface {name}: {p}" for p in problems)
    return out


def _interface_problems(
    snapshot: VppSnapshot, iface: InterfaceSnapshot, value: Interface, names: Mapping[int, str]
) -> list[str]:
    d = iface.details
    problems: list[str] = []
    if kind_of(iface) is not value.type:
        problems.append(f"kind {d.dev_type!r} is not {value.type}")
    if d.admin_up != value.enabled:
        problems.append(f"admin up {d.admin_up}")
    if value.phys_address and d.mac != canonical_mac(value.phys_address):
        problems.append(f"MAC {d.mac}")
    if value.mtu and d.mtu[0] != value.mtu:
        problems.append(f"MTU {d.mtu[0]}")
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
    problems.extend(_link_problems(snapshot, iface, value, names))
    return problems


def _link_problems(
    snapshot: VppSnapshot, iface: InterfaceSnapshot, value: Interface, names: Mapping[int, str]
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
        # The secret cannot be read back through the API; never print it either.
        got_m = (memif.socket_id, memif.id, memif.role is vpp_memif.MemifRole.MASTER, memif.mode)
        want_m = (link.socket_id, link.id, link.master, _memif_mode(link.mode))
        if got_m != want_m:
            return [f"memif {got_m}"]
        socket = snapshot.memif_sockets.get(link.socket_id)
        if link.socket_id and socket != link.socket_filename:
            return [f"memif socket file {socket}"]
    elif isinstance(link, AfPacketLink) and iface.af_packet_host is not None:
        if iface.af_packet_host != link.host_if_name:
            return [f"af_packet host {iface.af_packet_host}"]
    elif isinstance(link, SubInterfaceLink) and iface.details.is_sub:
        # a VLAN sub-interface: its id is also the VLAN it takes
        d = iface.details
        got_s = (names.get(d.sup_sw_if_index), d.sub_id, d.outer_vlan_id)
        if got_s != (link.parent, link.sub_id, link.sub_id):
            return [f"sub-interface {got_s}"]
        if d.tag_rewrite.popped_tags != link.pop_tags:
            return [f"VLAN tag rewrite {d.tag_rewrite.op.name}, not pop {link.pop_tags}"]
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


def _memif_mode(mode: MemifMode) -> vpp_memif.MemifMode:
    return {
        MemifMode.ETHERNET: vpp_memif.MemifMode.ETHERNET,
        MemifMode.IP: vpp_memif.MemifMode.IP,
        MemifMode.PUNT_INJECT: vpp_memif.MemifMode.PUNT_INJECT,
    }[mode]


def _tables(snapshot: VppSnapshot) -> set[object]:
    return {(t.ipv6, t.table_id) for t in snapshot.tables if t.table_id}


def _desired_tables(desired: Mapping[str, object]) -> set[object]:
    return {(t.protocol is IpProtocol.IPV6, t.id) for t in _values(desired, VrfTable)}


def _routes(snapshot: VppSnapshot, names: Mapping[int, str]) -> set[object]:
    out: set[object] = set()
    for route in snapshot.routes:
        if route.source != SOURCE_API:
            continue
        for p in route.paths:
            interface = names.get(p.sw_if_index, "") if p.sw_if_index != NO_INDEX else ""
            nh = str(p.next_hop) if p.next_hop is not None else ""
            kind = {PathType.DROP: "drop", PathType.NORMAL: "normal"}.get(p.type, str(p.type))
            # VPP reports a path's table only where it resolves in one (no interface).
            path_table = p.table_id if kind == "normal" and not interface else 0
            out.add(
                (
                    route.table_id,
                    str(route.prefix),
                    interface,
                    nh,
                    path_table,
                    kind,
                    p.weight,
                    p.preference,
                )
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
            path_table = 0 if r.outgoing_interface else r.vrf
            route = (r.vrf, prefix, r.outgoing_interface, nh, path_table, "normal")
            out.add((*route, r.weight, r.preference))
    return out


def _neighbors(
    snapshot: VppSnapshot, names: Mapping[int, str], desired: set[tuple[object, ...]]
) -> set[object]:
    """Static neighbours, and dynamic ones where a neighbour is desired (a desired static one
    that VPP holds as dynamic is then a difference)."""
    found: set[object] = set()
    for n in snapshot.neighbors:
        entry = (names.get(n.sw_if_index), str(n.ip), n.mac, n.static)
        if n.static or entry[:2] in desired:
            found.add(entry)
    return found


def _desired_neighbors(desired: Mapping[str, object]) -> set[tuple[object, ...]]:
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
    snapshot: VppSnapshot, desired: Mapping[str, object], names: Mapping[int, str]
) -> list[str]:
    ranges = {(str(r.low), str(r.high), r.table_id) for r in snapshot.proxy_arp_ranges}
    enabled = {names.get(i) for i in snapshot.proxy_arp_interfaces}
    want_ranges: set[object] = set()
    want_enabled: set[object] = set()
    for p in _values(desired, ProxyARP):
        want_ranges |= {(r.first_ip, r.last_ip, r.vrf) for r in p.ranges}
        want_enabled |= set(p.interfaces)
    return _set_mismatch("proxy ARP ranges", set(ranges), want_ranges) + _set_mismatch(
        "proxy ARP interfaces", set(enabled), want_enabled
    )


def _bd_mismatches(
    snapshot: VppSnapshot, desired: Mapping[str, object], names: Mapping[int, str]
) -> list[str]:
    have = {}
    for bd in snapshot.bridge_domains:
        d = bd.domain
        if not d.tag:
            continue
        settings = (d.flood, d.uu_flood, d.forward, d.learn, d.arp_term, d.mac_age)
        members = frozenset(
            (names.get(m.sw_if_index), m.sw_if_index == bd.bvi_sw_if_index, m.shg)
            for m in bd.members
        )
        have[d.tag] = (settings, members)
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


def _l2fib(
    snapshot: VppSnapshot, names: Mapping[int, str], wanted: set[tuple[object, ...]]
) -> set[tuple[object, ...]]:
    """The entries that count: static ones, and learnt ones the desired state names (a
    bridge domain that learns picks up whatever its members send, e.g. a real kernel's
    neighbour solicitations on an af_packet's veth: not configuration)."""
    tags = {bd.domain.bd_id: bd.domain.tag for bd in snapshot.bridge_domains}
    named = {(entry[0], entry[1]) for entry in wanted}
    found = set()
    for e in snapshot.l2fib:
        bd = tags.get(e.bd_id, "")
        if e.bvi or (not e.static and (bd, e.mac) not in named):
            continue
        found.add((bd, e.mac, "" if e.filter else names.get(e.sw_if_index, ""), e.filter, e.static))
    return found


def _desired_l2fib(desired: Mapping[str, object]) -> set[tuple[object, ...]]:
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
