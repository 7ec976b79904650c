"""One CustomNetwork on one node: its VRF, gateway loopback, bridge domains and tunnels. Pure.

In: an accepted network (``models/custom_networks.Network``), its VNI (and VRF for L3) from
the cluster-wide pools, this node's context, the other nodes, and the local interfaces in an
L2 network. Out: the VPP values (:func:`render_network`), and what a pod interface in the
network needs to know on this node (:class:`NetworkSide`: VRF, gateway loopback and address,
the node's slice of the subnet) — names and MACs follow Contiv's scheme:

- L3: VRF table (labelled with the network's name); ``podGwLoop-<net>`` with the gateway
  (host 1 of this node's slice of the subnet) in that VRF; ``vxlanBVI-<net>`` with the
  default network's BVI address and MAC scheme (VXLAN range host #ID, ``12:2b:<ID>``) in that
  VRF, in the bridge domain ``vxlanBD-<net>`` (no learning, no flooding, as ``vxlanBD``) with
  a tunnel ``vxlan-<net>-<ID>`` to every other node (the network's VNI, in the main VRF,
  split-horizon group 1); a static neighbour and L2 FIB entry for every other node's BVI, and
  a route to its slice via that BVI.
- L2: a bridge domain named after the network (learning, flooding and unknown-unicast flooding
  on) with the local members (pods' custom interfaces, external interfaces; group 0) and a
  tunnel to every other node (group 1).
- stub: nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from contivpy.controllers import naming
from contivpy.controllers.addressing import AddressPlanError, host_address, node_slice
from contivpy.controllers.ipnet_vpp import NodeContext, remote_vpp_address
from contivpy.events.types import Config, NodeInfo
from contivpy.models.custom_networks import Network, NetworkKind
from contivpy.models.vpp_interfaces import Interface, InterfaceType, VxlanLink
from contivpy.models.vpp_keys import (
    arp_key,
    bridge_domain_key,
    interface_key,
    l2fib_key,
    route_key,
    vrf_table_key,
)
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain
from contivpy.models.vpp_l3 import IPNeighbor, IpProtocol, Route, VrfTable
from contivpy.settings import IPAddress, IPNetwork


@dataclass(frozen=True, slots=True)
class NetworkSide:
    """What an interface in a custom network needs on this node."""

    network: Network
    vrf: int  # L3: the network's VRF; L2/stub: 0 (none)
    gateway_loop: str = ""  # L3: podGwLoop-<net>
    gateway: IPAddress | None = None  # L3: host 1 of this node's slice
    node_slice: IPNetwork | None = None  # L3: this node's part of the subnet

    @property
    def addressed(self) -> bool:
        """Whether its interfaces get an IP (L3 only)."""
        return self.network.kind is NetworkKind.L3


class NetworkSides(Protocol):
    """Where controllers after ``customnetworks`` learn a network's side on this node."""

    def side(self, network: str) -> NetworkSide | None:
        """A joinable network's side (None: no such network, or not joinable)."""


def network_side(network: Network, vrf: int, node_id: int) -> NetworkSide:
    """This node's side of a network."""
    if network.kind is not NetworkKind.L3 or network.subnet is None:
        return NetworkSide(network, 0)
    part = node_slice(network.subnet, network.node_prefix_len, node_id)
    return NetworkSide(
        network, vrf, naming.network_gateway_loop(network.name), host_address(part, 1), part
    )


def render_network(
    side: NetworkSide,
    vni: int,
    ctx: NodeContext,
    others: Iterable[NodeInfo],
    members: Iterable[str] = (),
) -> Config:
    """The network's values on this node (``members``: local interfaces of an L2 network)."""
    network = side.network
    if network.kind is NetworkKind.STUB:
        return {}
    config: Config = {}
    others = sorted(others, key=lambda n: n.id)
    source = str(ctx.addresses.node_address)
    main_vrf = ctx.settings.main_vrf_id
    tunnels = []
    for node in others:
        name = naming.vxlan_tunnel(node.id, network.name)
        destination = str(remote_vpp_address(ctx, node))
        config[interface_key(name)] = Interface(
            name, InterfaceType.VXLAN_TUNNEL, link=VxlanLink(source, destination, vni, main_vrf)
        )
        tunnels.append(BDInterface(name, split_horizon_group=1))
    if network.kind is NetworkKind.L2:
        local = [BDInterface(member) for member in sorted(set(members))]
        config[bridge_domain_key(network.name)] = BridgeDomain(
            network.name, interfaces=(*local, *tunnels)
        )
        return config
    assert side.node_slice is not None
    assert side.gateway is not None
    vrf = side.vrf
    config[vrf_table_key(vrf, IpProtocol.IPV4)] = VrfTable(vrf, IpProtocol.IPV4, network.name)
    config[interface_key(side.gateway_loop)] = Interface(
        side.gateway_loop,
        InterfaceType.LOOPBACK,
        vrf=vrf,
        ip_addresses=(f"{side.gateway}/{side.node_slice.prefixlen}",),
    )
    vxlan_cidr = ctx.settings.ipam.vxlan_cidr
    bvi = naming.network_vxlan_bvi(network.name)
    bd = naming.network_vxlan_bd(network.name)
    config[interface_key(bvi)] = Interface(
        bvi,
        InterfaceType.LOOPBACK,
        phys_address=naming.vxlan_bvi_mac(ctx.addresses.node_id),
        vrf=vrf,
        ip_addresses=(f"{ctx.addresses.vxlan_address}/{vxlan_cidr.prefixlen}",),
    )
    config[bridge_domain_key(bd)] = BridgeDomain(
        bd,
        flood=False,
        unknown_unicast_flood=False,
        forward=True,
        learn=False,
        interfaces=(BDInterface(bvi, bvi=True, split_horizon_group=1), *tunnels),
    )
    assert network.subnet is not None
    for node in others:
        remote = ctx.plan.node(node.id)
        remote_bvi = str(remote.vxlan_address)
        mac = naming.vxlan_bvi_mac(node.id)
        config[arp_key(bvi, remote_bvi)] = IPNeighbor(bvi, remote_bvi, mac)
        config[l2fib_key(bd, mac)] = L2FIB(
            bd, mac, outgoing_interface=naming.vxlan_tunnel(node.id, network.name)
        )
        try:
            remote_slice = str(node_slice(network.subnet, network.node_prefix_len, node.id))
        except AddressPlanError:
            continue  # a node beyond the network's slices has no part of it (its agent says so)
        config[route_key(vrf, remote_slice, remote_bvi, bvi)] = Route(
            remote_slice, vrf, remote_bvi, bvi
        )
    return config
