"""Property: the mesh renderer never sends a VXLAN tunnel's underlay address into a tunnel.

For random clusters — node IDs, published underlay addresses (usually the planned one,
sometimes anywhere near the pod, host, VXLAN or interconnect ranges), management IPs (equal
to the node's underlay address, to another node's, near the cluster ranges, IPv6, garbage),
a default gateway or none, a NIC or the loopback fallback — ipnet renders this node's base
and mesh; then every tunnel endpoint found in what was rendered (each VXLAN tunnel's source
and destination) is looked up in every VRF the way VPP's FIB would (longest prefix first, an
interface's own routes before the API's for the same prefix, every path of a multipath
route, inter-VRF and recursive paths followed). No lookup may end in the ``vxlanBVI`` or a
tunnel: that is VPP encapsulating its own VXLAN packets (issue 9, item 10).

The evaluator here is independent of the renderer's own guard (``ipnet_underlay``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.controllers import naming
from contivpy.controllers.addressing import AddressPlan
from contivpy.controllers.ipnet_vpp import NodeContext, render_base, render_mesh
from contivpy.events.types import NodeInfo
from contivpy.models.vpp_interfaces import Interface, VxlanLink
from contivpy.models.vpp_l3 import Route, RouteType
from contivpy.settings import AgentSettings, InterfaceSettings, IpamSettings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

settings.register_profile(
    "mesh-underlay",
    max_examples=int(os.environ.get("MESH_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("mesh-underlay")

IPAM = IpamSettings()
MAX_ID = 12


# -- an independent FIB over a rendered configuration -------------------------------------


@dataclass(frozen=True)
class Entry:
    """One path of a prefix: a rendered route, or what an interface address installs."""

    route: Route | None = None
    attached: str = ""  # connected network on this interface
    local: bool = False  # the interface's own address

    @property
    def from_interface(self) -> bool:
        return self.route is None


def fib(config: Mapping[str, object]) -> dict[int, dict[Network, list[Entry]]]:
    """VRF -> prefix -> paths, as VPP would hold them."""
    tables: dict[int, dict[Network, list[Entry]]] = {}
    for value in config.values():
        if isinstance(value, Route):
            prefix = ipaddress.ip_network(value.dst_network, strict=False)
            tables.setdefault(value.vrf, {}).setdefault(prefix, []).append(Entry(route=value))
        elif isinstance(value, Interface):
            for cidr in value.ip_addresses:
                iface = ipaddress.ip_interface(cidr)
                table = tables.setdefault(value.vrf, {})
                table.setdefault(iface.network, []).append(Entry(attached=value.name))
                host = ipaddress.ip_network(iface.ip)
                table.setdefault(host, []).append(Entry(attached=value.name, local=True))
    return tables


def into_overlay(name: str) -> bool:
    return name == naming.VXLAN_BVI or name.startswith("vxlan-")


def ends(
    tables: dict[int, dict[Network, list[Entry]]], vrf: int, address: Address, depth: int = 0
) -> set[str]:
    """Where a packet for ``address`` looked up in ``vrf`` may go: "overlay", "underlay",
    "local", "drop", or "loop" (lookups that never end)."""
    if depth > 16:
        return {"loop"}
    table = tables.get(vrf, {})
    matching = [p for p in table if p.version == address.version and address in p]
    if not matching:
        return {"drop"}
    longest = max(p.prefixlen for p in matching)
    (prefix,) = [p for p in matching if p.prefixlen == longest]
    entries = table[prefix]
    # VPP's interface source outranks the API's for one prefix.
    if any(e.from_interface for e in entries):
        entries = [e for e in entries if e.from_interface]
    found: set[str] = set()
    for entry in entries:
        route = entry.route
        if route is None:
            found.add(
                "local"
                if entry.local
                else ("overlay" if into_overlay(entry.attached) else "underlay")
            )
        elif route.type is RouteType.DROP:
            found.add("drop")
        elif route.type is RouteType.INTER_VRF:
            target = ipaddress.ip_address(route.next_hop) if route.next_hop else address
            found |= ends(tables, route.via_vrf, target, depth + 1)
        elif route.outgoing_interface:
            found.add("overlay" if into_overlay(route.outgoing_interface) else "underlay")
        else:
            found |= ends(tables, vrf, ipaddress.ip_address(route.next_hop), depth + 1)
    return found


def tunnel_endpoints(config: Mapping[str, object]) -> set[Address]:
    """Every VXLAN tunnel's source and destination in the rendered configuration."""
    found: set[Address] = set()
    for value in config.values():
        if isinstance(value, Interface) and isinstance(value.link, VxlanLink):
            found.add(ipaddress.ip_address(value.link.src_address))
            found.add(ipaddress.ip_address(value.link.dst_address))
    return found


# -- random clusters ----------------------------------------------------------------------


def planned(node_id: int) -> Address:
    return AddressPlan(IPAM).node(node_id).node_address


def near(network: Network) -> st.SearchStrategy[str]:
    """An address in ``network`` or just around it."""
    first, last = int(network.network_address), int(network.broadcast_address)
    return st.integers(first - 2, last + 2).map(lambda n: str(ipaddress.ip_address(n)))


def any_slice(slicer: str) -> st.SearchStrategy[str]:
    plan = AddressPlan(IPAM)
    return st.integers(1, MAX_ID).flatmap(lambda i: near(getattr(plan.node(i), slicer)))


VICINITY = st.one_of(
    near(IPAM.node_interconnect_cidr),
    near(IPAM.vxlan_cidr),
    any_slice("pod_subnet"),
    any_slice("host_subnet"),
    near(IPAM.pod_subnet_cidr),
    near(IPAM.vpp_host_subnet_cidr),
    st.sampled_from(["10.0.0.1", "8.8.8.8", "172.30.0.1", "192.168.16.254"]),
)


@st.composite
def clusters(draw: st.DrawFn) -> tuple[NodeContext, list[NodeInfo]]:
    own_id = draw(st.integers(1, MAX_ID))
    ids = draw(st.sets(st.integers(1, MAX_ID).filter(lambda i: i != own_id), max_size=5))
    underlay: dict[int, str] = {}
    vpp: dict[int, tuple[str, ...]] = {}
    for node_id in sorted(ids):
        published = draw(
            st.one_of(
                st.none(),  # not published yet: the planned address is used
                st.just(str(planned(node_id))),
                VICINITY,
            )
        )
        vpp[node_id] = () if published is None else (f"{published}/24",)
        underlay[node_id] = str(planned(node_id)) if published is None else published
    everyone = [str(planned(own_id)), *underlay.values()]
    others = []
    for node_id in sorted(ids):
        mgmt = draw(
            st.lists(
                st.one_of(
                    st.just(underlay[node_id]),  # InternalIP == interconnect address
                    st.sampled_from(everyone),  # another node's underlay address
                    VICINITY,
                    st.just("fd00::5"),
                    st.just("not-an-ip"),
                ),
                max_size=3,
                unique=True,
            )
        )
        others.append(NodeInfo(node_id, f"n{node_id}", vpp[node_id], tuple(mgmt)))
    gateway = draw(st.sampled_from([None, "192.168.16.254", "192.168.16.3", "10.0.0.1"]))
    nic = draw(st.sampled_from(["", "GigabitEthernet0/8/0"]))
    ipam = dataclasses.replace(
        IPAM, default_gateway=None if gateway is None else ipaddress.ip_address(gateway)
    )
    agent = AgentSettings(
        node_name=f"n{own_id}",
        ipam=ipam,
        interfaces=dataclasses.replace(InterfaceSettings(), main_interface=nic),
    ).validate()
    plan = AddressPlan(agent.ipam)
    return NodeContext(agent, plan, plan.node(own_id)), others


@given(clusters())
def test_no_tunnel_endpoint_is_routed_into_a_tunnel(
    cluster: tuple[NodeContext, list[NodeInfo]],
) -> None:
    ctx, others = cluster
    config = {**render_base(ctx), **render_mesh(ctx, others)}
    tables = fib(config)

    endpoints = tunnel_endpoints(config)
    assert bool(endpoints) == bool(others)
    for endpoint in endpoints:
        for vrf in tables:
            reached = ends(tables, vrf, endpoint)
            assert "overlay" not in reached, (vrf, str(endpoint), reached)
            assert "loop" not in reached, (vrf, str(endpoint), reached)
        # The exact shape that crashed VPP: a host route for an endpoint into the overlay.
        host = f"{endpoint}/{endpoint.max_prefixlen}"
        for value in config.values():
            if isinstance(value, Route) and value.dst_network == host:
                assert not into_overlay(value.outgoing_interface), value
                assert (
                    value.type is not RouteType.INTER_VRF
                    or value.via_vrf != ctx.settings.pod_vrf_id
                ), value


@given(clusters())
def test_management_ips_that_are_no_endpoint_keep_contivs_overlay_route(
    cluster: tuple[NodeContext, list[NodeInfo]],
) -> None:
    ctx, others = cluster
    config = {**render_base(ctx), **render_mesh(ctx, others)}
    tables = fib(config)
    endpoints = tunnel_endpoints(config)
    pod_vrf, main_vrf = ctx.settings.pod_vrf_id, ctx.settings.main_vrf_id

    for node in others:
        bvi_ip = str(ctx.plan.node(node.id).vxlan_address)
        for mgmt in node.mgmt_addresses:
            try:
                ip = ipaddress.ip_address(mgmt)
            except ValueError:
                continue
            host = f"{ip}/{ip.max_prefixlen}"
            via_bvi = Route(host, pod_vrf, bvi_ip, naming.VXLAN_BVI)
            into_pods = Route(host, main_vrf, via_vrf=pod_vrf, type=RouteType.INTER_VRF)
            rendered = set(config.values())
            if ip in endpoints or ip.version != 4:
                assert via_bvi not in rendered
                assert into_pods not in rendered
                if ip in endpoints and ip == ipaddress.ip_address(_underlay(ctx, node)):
                    # reachable directly: the underlay (or VPP's default drop), never overlay
                    assert "overlay" not in ends(tables, main_vrf, ip)
            else:
                assert via_bvi in rendered
                assert into_pods in rendered


def _underlay(ctx: NodeContext, node: NodeInfo) -> str:
    for value in render_mesh(ctx, [node]).values():
        if isinstance(value, Interface) and isinstance(value.link, VxlanLink):
            return value.link.dst_address
    raise AssertionError(f"no tunnel to {node.name}")
