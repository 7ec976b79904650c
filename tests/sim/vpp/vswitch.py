"""A Contiv-style vswitch configured on a simulated VPP through contivpy's typed vppcalls.

In: a node's number (its address plan follows Contiv's defaults) and a client of that
node's simulator. Out: the node's VPP holding what contiv-vpp's ipnet puts there
(reference §4.7), with interfaces tagged by their logical names:

- base: the NIC with the node IP in VRF 0; the host interconnect tap ``tap-vpp2``; the pod
  VRF 1 with ``podGwLoop`` holding the pod gateway; inter-VRF routes (VRF 0 -> 1 for the
  cluster pod and host ranges, VRF 1 -> 0 by default and for this node's host subnet) and
  DROP routes in VRF 1 for the cluster ranges; the ``vxlanBVI`` loopback in VRF 1;
- mesh: a tunnel ``vxlan-default-<N>`` per other node (VNI 10), the ``vxlanBD`` bridge domain
  (no learning, no flooding) with the BVI and the tunnels in split-horizon group 1, static
  ARP and L2 FIB entries for every remote BVI, VRF 1 routes to remote pod and host subnets
  via the remote BVI IP;
- pods: a tap in VRF 1 unnumbered to ``podGwLoop``, static ARP for the pod, and a /32 route.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from contivpy.controllers import naming
from contivpy.vppcalls import (
    bridge_domains,
    interface_ip,
    interfaces,
    l2fib,
    loopback,
    neighbors,
    routes,
    tap,
    vrf,
    vxlan,
)
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.routes import Route, RoutePath

NIC = "GigabitEthernet0/a/0"
POD_CIDR = ipaddress.ip_network("10.1.0.0/16")
HOST_CIDR = ipaddress.ip_network("172.30.0.0/16")
VNI = 10
MAIN_VRF = 0
POD_VRF = 1
VXLAN_BD_ID = 1
SPLIT_HORIZON_GROUP = 1


@dataclass(frozen=True)
class NodePlan:
    """Node ``node_id``'s addresses, as Contiv's default IPAM lays them out."""

    node_id: int

    @property
    def name(self) -> str:
        return f"node{self.node_id}"

    @property
    def node_ip(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(f"192.168.16.{self.node_id}/24")

    @property
    def pod_subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"10.1.{self.node_id}.0/24")

    @property
    def pod_gateway(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(f"10.1.{self.node_id}.1/24")

    @property
    def host_subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"172.30.{self.node_id}.0/24")

    @property
    def host_vpp_ip(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(f"172.30.{self.node_id}.1/24")

    @property
    def bvi_ip(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(f"192.168.30.{self.node_id}/24")

    @property
    def bvi_mac(self) -> str:
        return naming.vxlan_bvi_mac(self.node_id)

    def pod_ip(self, number: int) -> ipaddress.IPv4Address:
        """The address IPAM gives the node's ``number``-th pod (from .2 up)."""
        return self.pod_subnet.network_address + 1 + number


@dataclass
class Vswitch:
    """One node's VPP, configured step by step; logical name -> sw_if_index."""

    plan: NodePlan
    vpp: VppClient
    ifaces: dict[str, int] = field(default_factory=dict)

    async def _up(self, logical: str, sw_if_index: int) -> int:
        await interfaces.set_tag(self.vpp, sw_if_index, logical)
        await interfaces.set_admin_state(self.vpp, sw_if_index, True)
        self.ifaces[logical] = sw_if_index
        return sw_if_index

    async def _route(self, table: int, prefix: object, *paths: RoutePath) -> None:
        network = ipaddress.ip_network(str(prefix))
        await routes.add_route(self.vpp, Route(network, paths, table))

    async def base(self) -> None:
        """The vswitch's own configuration (every resync)."""
        plan, vpp = self.plan, self.vpp
        (nic,) = await interfaces.dump_interfaces(vpp, name_contains=NIC)
        await self._up(NIC, nic.sw_if_index)
        await interface_ip.add_address(vpp, nic.sw_if_index, plan.node_ip)

        host = await tap.create_tap(
            vpp,
            tap.TapSpec(
                mac=naming.host_interconnect_mac(plan.node_id),
                host_if_name=naming.HOST_INTERCONNECT_HOST_NAME,
            ),
        )
        await self._up(naming.HOST_INTERCONNECT_VPP, host)
        await interface_ip.add_address(vpp, host, plan.host_vpp_ip)

        await vrf.add_vrf_table(vpp, vrf.VrfTable(POD_VRF, name=naming.POD_VRF_LABEL))
        gw_loop = await self._up(
            naming.POD_GW_LOOP, await loopback.create_loopback(vpp, loopback.LoopbackSpec())
        )
        await interface_ip.set_interface_vrf(vpp, gw_loop, POD_VRF, ipv6=False)
        await interface_ip.add_address(vpp, gw_loop, plan.pod_gateway)

        for cluster_range in (POD_CIDR, HOST_CIDR):
            await self._route(MAIN_VRF, cluster_range, RoutePath.via_vrf(POD_VRF))
            await self._route(POD_VRF, cluster_range, RoutePath.drop())
        await self._route(POD_VRF, "0.0.0.0/0", RoutePath.via_vrf(MAIN_VRF))
        await self._route(POD_VRF, plan.host_subnet, RoutePath.via_vrf(MAIN_VRF))

        bvi = await self._up(
            naming.VXLAN_BVI,
            await loopback.create_loopback(vpp, loopback.LoopbackSpec(mac=plan.bvi_mac)),
        )
        await interface_ip.set_interface_vrf(vpp, bvi, POD_VRF, ipv6=False)
        await interface_ip.add_address(vpp, bvi, plan.bvi_ip)

    async def mesh(self, others: Iterable[NodePlan]) -> None:
        """VXLAN to every other node and routes to their pods and hosts."""
        vpp, others = self.vpp, list(others)
        for other in others:
            tunnel = await vxlan.create_vxlan_tunnel(
                vpp, vxlan.VxlanTunnel(self.plan.node_ip.ip, other.node_ip.ip, VNI)
            )
            await self._up(naming.vxlan_tunnel(other.node_id), tunnel)
        domain = bridge_domains.BridgeDomain(
            VXLAN_BD_ID,
            flood=False,
            uu_flood=False,
            forward=True,
            learn=False,
            tag=naming.VXLAN_BD,
        )
        await bridge_domains.add_bridge_domain(vpp, domain)
        bvi = self.ifaces[naming.VXLAN_BVI]
        await bridge_domains.add_port(
            vpp, bridge_domains.BridgeDomainPort(bvi, VXLAN_BD_ID, True, SPLIT_HORIZON_GROUP)
        )
        for other in others:
            tunnel = self.ifaces[naming.vxlan_tunnel(other.node_id)]
            port = bridge_domains.BridgeDomainPort(tunnel, VXLAN_BD_ID, shg=SPLIT_HORIZON_GROUP)
            await bridge_domains.add_port(vpp, port)
            await neighbors.add_neighbor(vpp, self.remote_bvi_arp(other))
            await l2fib.add_l2fib_entry(vpp, self.remote_bvi_l2fib(other))
            for network in (other.pod_subnet, other.host_subnet):
                await self._route(POD_VRF, network, RoutePath.via_interface(bvi, other.bvi_ip.ip))

    def remote_bvi_arp(self, other: NodePlan) -> neighbors.IpNeighbor:
        """The static ARP entry for another node's BVI."""
        return neighbors.IpNeighbor(self.ifaces[naming.VXLAN_BVI], other.bvi_ip.ip, other.bvi_mac)

    def remote_bvi_l2fib(self, other: NodePlan) -> l2fib.L2FibEntry:
        """The static L2 FIB entry sending another node's BVI MAC into its tunnel."""
        tunnel = self.ifaces[naming.vxlan_tunnel(other.node_id)]
        return l2fib.L2FibEntry(VXLAN_BD_ID, other.bvi_mac, tunnel)

    async def add_pod(self, container_id: str, ip: ipaddress.IPv4Address) -> int:
        """Wire a pod: its tap in VRF 1 unnumbered to podGwLoop, static ARP, /32 route."""
        vpp = self.vpp
        pod_tap = await tap.create_tap(
            vpp,
            tap.TapSpec(
                mac=naming.pod_vpp_mac(container_id),
                host_if_name="eth0",
                host_mac=naming.pod_mac(container_id),
            ),
        )
        logical = naming.pod_vpp_tap(container_id)
        await self._up(logical, pod_tap)
        await interface_ip.set_interface_vrf(vpp, pod_tap, POD_VRF, ipv6=False)
        await interface_ip.set_unnumbered(vpp, pod_tap, self.ifaces[naming.POD_GW_LOOP])
        await neighbors.add_neighbor(
            vpp, neighbors.IpNeighbor(pod_tap, ip, naming.pod_mac(container_id))
        )
        await self._route(POD_VRF, f"{ip}/32", RoutePath.via_interface(pod_tap, ip))
        return pod_tap

    async def delete_pod(self, container_id: str, ip: ipaddress.IPv4Address) -> None:
        """Unwire a pod: its route and ARP entry, then its tap (a real VPP keeps API routes
        through a deleted interface, forwarding to drop, so they go first)."""
        pod_tap = self.ifaces.pop(naming.pod_vpp_tap(container_id))
        await routes.delete_route(self.vpp, Route(ipaddress.ip_network(f"{ip}/32"), (), POD_VRF))
        await neighbors.delete_neighbor(
            self.vpp, neighbors.IpNeighbor(pod_tap, ip, naming.pod_mac(container_id))
        )
        await tap.delete_tap(self.vpp, pod_tap)
