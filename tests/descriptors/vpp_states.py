"""Random, consistent desired VPP states for the end-to-end property tests.

In: hypothesis draws; the NIC sub-interfaces hang on and the interface types the VPP can
make (a real VPP without /dev/vhost-net makes no taps). Out: ``desired_states()`` — key ->
value maps a real VPP would accept as a whole (given the Linux links ``af_packet_hosts``
names): VRF tables; interfaces of every type (names with and without '/') each playing
one role: L3 (addresses of one or both families in a VRF whose tables exist), unnumbered
(borrowing from an L3 interface), L2 (bridge-domain member or cross-connected) or nothing;
bridge domains with members, split-horizon groups and a loopback BVI; L2 FIB entries
(FORWARD to a member, DROP); cross-connect pairs; routes of every kind (two paths to one
destination included); static neighbours; proxy ARP. Address plans never overlap within a
VRF, so every value can be applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from hypothesis import strategies as st

from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import (
    PROXY_ARP_GLOBAL_KEY,
    arp_key,
    bridge_domain_key,
    interface_key,
    l2fib_key,
    route_key,
    vrf_table_key,
    xconnect_key,
)
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain, L2FIBAction, XConnect
from contivpy.models.vpp_l3 import (
    IPNeighbor,
    IpProtocol,
    ProxyARP,
    ProxyARPRange,
    Route,
    RouteType,
    VrfTable,
)

NIC = "GigabitEthernet0/a/0"
#: memif sockets: one per role (a socket file is either listened on or connected to), in a
#: directory that exists (a real VPP's master fails with -14 where it does not)
SOCKETS = {True: (1, "/run/cvt-master.sock"), False: (2, "/run/cvt-slave.sock")}
TYPES = [
    InterfaceType.LOOPBACK,
    InterfaceType.TAP,
    InterfaceType.MEMIF,
    InterfaceType.AF_PACKET,
    InterfaceType.SUB_INTERFACE,
    InterfaceType.VXLAN_TUNNEL,
]


def _link(draw: st.DrawFn, kind: InterfaceType, i: int, vrfs: list[int], nic: str) -> object:
    if kind is InterfaceType.TAP:
        return TapLink(
            host_if_name=draw(st.sampled_from(["", f"vpp-tap{i}"])),
            host_namespace=draw(st.sampled_from(["", "pod-ns"])),
            rx_ring_size=draw(st.sampled_from([256, 1024])),
        )
    if kind is InterfaceType.MEMIF:
        master = draw(st.booleans())
        socket_id, filename = SOCKETS[master]
        return MemifLink(
            id=i,
            socket_id=socket_id,
            socket_filename=filename,
            master=master,
            secret=draw(st.sampled_from(["", "s3cret"])),
        )
    if kind is InterfaceType.AF_PACKET:
        return AfPacketLink(f"cvt-afp{i}")
    if kind is InterfaceType.SUB_INTERFACE:
        return SubInterfaceLink(nic, 100 + i)
    if kind is InterfaceType.VXLAN_TUNNEL:
        vrf = draw(st.sampled_from(vrfs))
        return VxlanLink("192.168.0.1", f"192.168.1.{i + 1}", 1000 + i, vrf)
    return None


def af_packet_hosts(states: Iterable[dict[str, object]]) -> set[str]:
    """The Linux links the states' af_packet interfaces attach to."""
    return {
        v.link.host_if_name
        for state in states
        for v in state.values()
        if isinstance(v, Interface) and isinstance(v.link, AfPacketLink)
    }


@st.composite
def desired_states(
    draw: st.DrawFn, nic: str = NIC, types: Sequence[InterfaceType] = tuple(TYPES)
) -> dict[str, object]:
    """A whole desired VPP state (see the module docstring)."""
    desired: dict[str, object] = {}
    v4_tables = draw(st.lists(st.sampled_from([1, 2]), unique=True))
    v6_tables = [1] if 1 in v4_tables and draw(st.booleans()) else []
    for t in v4_tables:
        desired[vrf_table_key(t, IpProtocol.IPV4)] = VrfTable(t, label=f"t{t}")
    for t in v6_tables:
        desired[vrf_table_key(t, IpProtocol.IPV6)] = VrfTable(t, IpProtocol.IPV6)
    vrfs = [0, *v4_tables]

    l3: list[Interface] = []
    l2: list[Interface] = []
    loopbacks: list[Interface] = []
    count = draw(st.integers(1, 6))
    for i in range(count):
        kind = draw(st.sampled_from(types))
        name = draw(st.sampled_from([f"if{i}", f"pod{i % 2}/if{i}"]))
        role = draw(st.sampled_from(["l3", "l3", "l2", "unnumbered", "none"]))
        value = Interface(
            name,
            kind,
            enabled=draw(st.booleans()),
            phys_address=""
            if kind is InterfaceType.SUB_INTERFACE
            else draw(st.sampled_from(["", f"02:00:00:00:{i:02x}:01"])),
            mtu=draw(st.sampled_from([0, 1500, 9000])),
            link=_link(draw, kind, i, vrfs, nic),  # type: ignore[arg-type]
        )
        if role == "l3":
            vrf = draw(st.sampled_from(vrfs))
            addresses = [f"10.{i}.{k}.1/24" for k in range(draw(st.integers(1, 2)))]
            if (vrf == 0 or vrf in v6_tables) and draw(st.booleans()):
                addresses.append(f"fd00:{i}::1/64")
            value = replace(value, vrf=vrf, ip_addresses=tuple(addresses))
            l3.append(value)
        elif role == "unnumbered" and l3:
            value = replace(value, unnumbered=draw(st.sampled_from(l3)).name)
        elif role == "l2":
            l2.append(value)
        if kind is InterfaceType.LOOPBACK and role == "l3":
            loopbacks.append(value)
        desired[interface_key(name)] = value

    _l2(draw, desired, l2, loopbacks)
    _l3(draw, desired, l3)
    return desired


def _l2(
    draw: st.DrawFn, desired: dict[str, object], l2: list[Interface], loopbacks: list[Interface]
) -> None:
    members = list(l2)
    for b in range(draw(st.integers(0, 2))):
        take = members[: draw(st.integers(0, len(members)))]
        members = members[len(take) :]
        ports = [
            BDInterface(m.name, split_horizon_group=draw(st.sampled_from([0, 1]))) for m in take
        ]
        if draw(st.booleans()) and loopbacks:
            ports.append(BDInterface(loopbacks.pop().name, bvi=True))
        name = f"bd{b}"
        desired[bridge_domain_key(name)] = BridgeDomain(
            name,
            flood=draw(st.booleans()),
            learn=draw(st.booleans()),
            arp_termination=draw(st.booleans()),
            mac_age=draw(st.sampled_from([0, 5])),
            interfaces=tuple(ports),
        )
        forwardable = [p.name for p in ports if not p.bvi]
        for e in range(draw(st.integers(0, 2))):
            mac = f"02:bb:00:00:{b:02x}:{e:02x}"
            if draw(st.booleans()) and forwardable:
                entry = L2FIB(name, mac, draw(st.sampled_from(forwardable)))
            else:
                entry = L2FIB(name, mac, action=L2FIBAction.DROP)
            desired[l2fib_key(name, mac)] = entry
    while len(members) >= 2:
        a, b2 = members.pop(), members.pop()
        desired[xconnect_key(a.name)] = XConnect(a.name, b2.name)
        if draw(st.booleans()):
            desired[xconnect_key(b2.name)] = XConnect(b2.name, a.name)


def _l3(draw: st.DrawFn, desired: dict[str, object], l3: list[Interface]) -> None:
    for j, iface in enumerate(l3):
        subnet = iface.ip_addresses[0].rsplit(".", 1)[0]
        if draw(st.booleans()):
            dst = f"172.{16 + j}.0.0/16"
            for hop in range(draw(st.integers(1, 2))):
                route = Route(
                    dst,
                    vrf=iface.vrf,
                    next_hop=f"{subnet}.{2 + hop}",
                    outgoing_interface=iface.name,
                    weight=draw(st.sampled_from([1, 5])),
                )
                desired[route_key(iface.vrf, dst, route.next_hop, iface.name)] = route
        if draw(st.booleans()):
            ip = f"{subnet}.9"
            desired[arp_key(iface.name, ip)] = IPNeighbor(iface.name, ip, f"02:cc:00:00:00:{j:02x}")
    if draw(st.booleans()):
        drop = Route("198.51.100.0/24", type=RouteType.DROP)
        desired[route_key(0, drop.dst_network)] = drop
    tables = sorted({v.id for v in desired.values() if isinstance(v, VrfTable)})
    if draw(st.booleans()) and tables:
        leak = Route("203.0.113.0/24", vrf=tables[0], via_vrf=0, type=RouteType.INTER_VRF)
        desired[route_key(leak.vrf, leak.dst_network)] = leak
    if draw(st.booleans()) and l3:
        answering = draw(st.lists(st.sampled_from([i.name for i in l3]), unique=True))
        desired[PROXY_ARP_GLOBAL_KEY] = ProxyARP(
            (ProxyARPRange("10.200.0.1", "10.200.0.10"),), tuple(answering)
        )
