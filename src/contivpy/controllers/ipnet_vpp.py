"""What ipnet puts in VPP: the vswitch base, the mesh to other nodes, and each pod's side.

In: the agent settings, this node's address plan, other nodes, a pod and its IP. Out: desired
VPP values keyed by their scheduler keys (contiv-vpp reference §4.7). Pure functions: the
same inputs always give the same keys and values, so a restarted agent renders exactly what
VPP already holds and the resync changes nothing.

Base (every resync): the main interface with the node address (a DPDK NIC by name, an
af_packet on a Linux link, or the loopback fallback) in VRF 0; the host interconnect (VPP
side of tap ``vpp1`` or af_packet on veth ``vpp2``) at 172.30.<id>.1; the pod VRF with
``podGwLoop`` holding the pod gateway; inter-VRF routes both ways and DROP routes for the
cluster ranges (so a packet to a vanished remote pod dies instead of looping); with VXLAN the
``vxlanBVI`` loopback and the ``vxlanBD`` bridge domain joining it to every tunnel.

Mesh (per other node): with VXLAN a tunnel from this node's address to the other node's,
the static ARP and L2 FIB entries for its BVI, pod-VRF routes to its pod and host subnets
and management IPs via its BVI, and main-VRF routes sending those management IPs into the
pod VRF; without an overlay, main-VRF routes via the other node's address. No route ever
sends a tunnel endpoint into the overlay (``ipnet_underlay``): a management IP that is an
endpoint gets no overlay route, and an endpoint inside an overlay prefix gets a /32 pin.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from contivpy.controllers import naming
from contivpy.controllers.addressing import AddressPlan, NodeAddresses
from contivpy.controllers.ipnet_underlay import overlay_prefixes, overlay_routable, pin_routes
from contivpy.events.types import NodeInfo
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import (
    arp_key,
    bridge_domain_key,
    interface_key,
    l2fib_key,
    route_key,
    vrf_table_key,
)
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain
from contivpy.models.vpp_l3 import IPNeighbor, IpProtocol, Route, RouteType, VrfTable
from contivpy.settings import AgentSettings, IPAddress, Transport

Config = dict[str, object]


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What rendering needs about this node."""

    settings: AgentSettings
    plan: AddressPlan
    addresses: NodeAddresses

    @property
    def node_cidr(self) -> str:
        """This node's main address with the node-interconnect prefix."""
        prefix = self.settings.ipam.node_interconnect_cidr.prefixlen
        return f"{self.addresses.node_address}/{prefix}"

    @property
    def main_interface(self) -> str:
        """Logical name of the main interface."""
        interfaces = self.settings.interfaces
        if interfaces.main_interface:
            return interfaces.main_interface
        if interfaces.main_host_interface:
            return naming.main_afpacket(interfaces.main_host_interface)
        return naming.LOOPBACK_NIC

    @property
    def host_interconnect(self) -> str:
        """Logical name of VPP's side of the host interconnect."""
        return (
            naming.HOST_INTERCONNECT_VPP
            if self.settings.interfaces.use_tap_interfaces
            else naming.HOST_AFPACKET
        )


def _put_interface(config: Config, interface: Interface) -> None:
    config[interface_key(interface.name)] = interface


def _put_route(config: Config, route: Route) -> None:
    key = route_key(route.vrf, route.dst_network, route.next_hop, route.outgoing_interface)
    config[key] = route


def _with_prefix(ip: IPAddress, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return f"{ip}/{network.prefixlen}"


def render_base(ctx: NodeContext, *, linux: bool = False) -> Config:
    """The vswitch's own configuration (``linux``: the host side is rendered too)."""
    s = ctx.settings
    a = ctx.addresses
    main_vrf, pod_vrf = s.main_vrf_id, s.pod_vrf_id
    config: Config = {}
    config[vrf_table_key(pod_vrf, IpProtocol.IPV4)] = VrfTable(
        pod_vrf, IpProtocol.IPV4, naming.POD_VRF_LABEL
    )
    if main_vrf != 0:
        config[vrf_table_key(main_vrf, IpProtocol.IPV4)] = VrfTable(
            main_vrf, IpProtocol.IPV4, naming.MAIN_VRF_LABEL
        )
    _put_interface(config, _main_interface(ctx))
    gateway = s.ipam.default_gateway
    if gateway is not None:
        _put_route(
            config,
            Route("0.0.0.0/0", main_vrf, str(gateway), ctx.main_interface),
        )
    host = _with_prefix(a.host_vpp_address, a.host_subnet)
    if s.interfaces.use_tap_interfaces:
        tap = TapLink(
            host_if_name=naming.HOST_INTERCONNECT_HOST_NAME,
            rx_ring_size=s.interfaces.tap_rx_ring_size,
            tx_ring_size=s.interfaces.tap_tx_ring_size,
        )
        _put_interface(
            config,
            Interface(
                naming.HOST_INTERCONNECT_VPP,
                InterfaceType.TAP,
                phys_address=naming.host_interconnect_mac(a.node_id),
                mtu=s.interfaces.mtu_size,
                vrf=main_vrf,
                ip_addresses=(host,),
                link=tap,
            ),
        )
    else:
        _put_interface(
            config,
            Interface(
                naming.HOST_AFPACKET,
                InterfaceType.AF_PACKET,
                phys_address=naming.host_interconnect_mac(a.node_id),
                mtu=s.interfaces.mtu_size,
                vrf=main_vrf,
                ip_addresses=(host,),
                link=AfPacketLink(
                    naming.HOST_VETH_VPP_HOST_NAME,
                    linux_interface=naming.HOST_VETH_VPP if linux else "",
                ),
            ),
        )
    _put_interface(
        config,
        Interface(
            naming.POD_GW_LOOP,
            InterfaceType.LOOPBACK,
            vrf=pod_vrf,
            ip_addresses=(_with_prefix(a.pod_gateway, a.pod_subnet),),
        ),
    )
    cluster_pods = str(s.ipam.pod_subnet_cidr)
    cluster_hosts = str(s.ipam.vpp_host_subnet_cidr)
    if s.transport is Transport.VXLAN:
        for dst in (cluster_pods, cluster_hosts):
            _put_route(config, Route(dst, main_vrf, via_vrf=pod_vrf, type=RouteType.INTER_VRF))
            _put_route(config, Route(dst, pod_vrf, type=RouteType.DROP))
        _put_route(config, Route("0.0.0.0/0", pod_vrf, via_vrf=main_vrf, type=RouteType.INTER_VRF))
        _put_route(
            config, Route(str(a.host_subnet), pod_vrf, via_vrf=main_vrf, type=RouteType.INTER_VRF)
        )
        _put_interface(
            config,
            Interface(
                naming.VXLAN_BVI,
                InterfaceType.LOOPBACK,
                phys_address=naming.vxlan_bvi_mac(a.node_id),
                vrf=pod_vrf,
                ip_addresses=(_with_prefix(a.vxlan_address, s.ipam.vxlan_cidr),),
            ),
        )
    else:
        _put_route(
            config, Route(str(a.pod_subnet), main_vrf, via_vrf=pod_vrf, type=RouteType.INTER_VRF)
        )
        _put_route(config, Route("0.0.0.0/0", pod_vrf, via_vrf=main_vrf, type=RouteType.INTER_VRF))
    return config


def _main_interface(ctx: NodeContext) -> Interface:
    interfaces = ctx.settings.interfaces
    kind, link = InterfaceType.LOOPBACK, None
    if interfaces.main_interface:
        kind = InterfaceType.DPDK
    elif interfaces.main_host_interface:
        kind, link = InterfaceType.AF_PACKET, AfPacketLink(interfaces.main_host_interface)
    return Interface(
        ctx.main_interface,
        kind,
        vrf=ctx.settings.main_vrf_id,
        ip_addresses=(ctx.node_cidr,),
        link=link,
    )


def remote_vpp_address(ctx: NodeContext, node: NodeInfo) -> IPAddress:
    """Where another node's VPP is reached: its published address, else the planned one."""
    for cidr in node.vpp_addresses:
        try:
            return ipaddress.ip_interface(cidr).ip
        except ValueError:
            continue
    return ctx.plan.node(node.id).node_address


def tunnel_endpoints(ctx: NodeContext, others: Iterable[NodeInfo]) -> frozenset[IPAddress]:
    """The underlay address of every VXLAN tunnel end: this node's and every other node's."""
    return frozenset((ctx.addresses.node_address, *(remote_vpp_address(ctx, n) for n in others)))


def render_mesh(ctx: NodeContext, others: Iterable[NodeInfo]) -> Config:
    """Connectivity to every other node, and (VXLAN) the bridge domain joining them."""
    others = list(others)
    endpoints = tunnel_endpoints(ctx, others)
    config: Config = {}
    tunnels: list[BDInterface] = []
    for node in others:
        config.update(render_node(ctx, node, endpoints))
        if ctx.settings.transport is Transport.VXLAN:
            tunnels.append(BDInterface(naming.vxlan_tunnel(node.id), split_horizon_group=1))
    if ctx.settings.transport is Transport.VXLAN:
        members = (BDInterface(naming.VXLAN_BVI, bvi=True, split_horizon_group=1), *tunnels)
        config[bridge_domain_key(naming.VXLAN_BD)] = BridgeDomain(
            naming.VXLAN_BD,
            flood=False,
            unknown_unicast_flood=False,
            forward=True,
            learn=False,
            interfaces=members,
        )
        # The base's cluster-range routes into the pod VRF count as much as the mesh's own.
        overlay = overlay_prefixes({**render_base(ctx), **config}, ctx.settings)
        for route in pin_routes(
            ctx.settings,
            own_address=ctx.addresses.node_address,
            node_network=ipaddress.ip_interface(ctx.node_cidr).network,
            main_interface=ctx.main_interface,
            endpoints=endpoints,
            overlay=overlay,
        ):
            _put_route(config, route)
    return config


def render_node(
    ctx: NodeContext, node: NodeInfo, endpoints: frozenset[IPAddress] | None = None
) -> Config:
    """What reaching one other node takes (without the shared bridge domain and the pins).

    ``endpoints``: every tunnel endpoint of the mesh (default: this node's and ``node``'s);
    a management IP among them is reached on the underlay, never through the overlay."""
    s = ctx.settings
    remote = ctx.plan.node(node.id)
    remote_ip = remote_vpp_address(ctx, node)
    if endpoints is None:
        endpoints = frozenset((ctx.addresses.node_address, remote_ip))
    config: Config = {}
    if s.transport is Transport.VXLAN:
        tunnel = naming.vxlan_tunnel(node.id)
        _put_interface(
            config,
            Interface(
                tunnel,
                InterfaceType.VXLAN_TUNNEL,
                link=VxlanLink(
                    str(ctx.addresses.node_address), str(remote_ip), s.vxlan_vni, s.main_vrf_id
                ),
            ),
        )
        bvi_ip = str(remote.vxlan_address)
        bvi_mac = naming.vxlan_bvi_mac(node.id)
        config[arp_key(naming.VXLAN_BVI, bvi_ip)] = IPNeighbor(naming.VXLAN_BVI, bvi_ip, bvi_mac)
        config[l2fib_key(naming.VXLAN_BD, bvi_mac)] = L2FIB(
            naming.VXLAN_BD, bvi_mac, outgoing_interface=tunnel
        )
        mgmt_hosts = _mgmt_hosts(remote, node, endpoints)
        for dst in (*_remote_subnets(remote), *mgmt_hosts):
            _put_route(config, Route(dst, s.pod_vrf_id, bvi_ip, naming.VXLAN_BVI))
        for host in mgmt_hosts:
            _put_route(
                config, Route(host, s.main_vrf_id, via_vrf=s.pod_vrf_id, type=RouteType.INTER_VRF)
            )
    else:
        # No tunnels: the other node's address is a plain next hop, nothing to keep apart.
        for dst in (*_remote_subnets(remote), *_mgmt_hosts(remote, node, frozenset())):
            _put_route(config, Route(dst, s.main_vrf_id, str(remote_ip), ctx.main_interface))
    return config


def _remote_subnets(remote: NodeAddresses) -> list[str]:
    return [str(remote.pod_subnet), str(remote.host_subnet)]


def _mgmt_hosts(
    remote: NodeAddresses, node: NodeInfo, endpoints: frozenset[IPAddress]
) -> list[str]:
    """Host prefixes of the node's management IPs that may be routed to it: of the cluster's
    family, and no tunnel endpoint."""
    hosts = []
    for mgmt in node.mgmt_addresses:
        ip = overlay_routable(mgmt, endpoints)
        if ip is not None and ip.version == remote.pod_subnet.version:
            hosts.append(f"{ip}/{ip.max_prefixlen}")
    return hosts
