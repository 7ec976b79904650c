"""Contiv's address plan: every per-node address derived from the node ID.

In: IpamSettings and node IDs. Out: this node's pod subnet, pod gateway, NAT loopback address,
host-interconnect addresses, node-interconnect and VXLAN BVI addresses, and the same for any
other node; the node ID a pod IP belongs to. Pure arithmetic, no state.

Formulas (contiv-vpp reference §4.6): the per-node slice of a cluster range is slice number
``node_id`` (the ID equal to the number of slices maps to slice 0, so IDs 1..2^bits are usable);
host parts use host number ``node_id``; the pod gateway is host 1 of the node pod subnet, the
NAT loopback the last unicast address, never handed to a pod.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.errors import PermanentError
from contivpy.settings import IPAddress, IpamSettings, IPNetwork


class AddressPlanError(PermanentError):
    """A node ID has no address in a range (the range is too small for that many nodes)."""


def node_slice(network: IPNetwork, prefix_len: int, node_id: int) -> IPNetwork:
    """The node's slice of a cluster range."""
    bits = prefix_len - network.prefixlen
    count = 1 << bits
    if not 1 <= node_id <= count:
        raise AddressPlanError(f"node ID {node_id} is outside 1..{count} for {network}")
    index = node_id % count
    size = 1 << (network.max_prefixlen - prefix_len)
    base = int(network.network_address) + index * size
    return ipaddress.ip_network(f"{ipaddress.ip_address(base)}/{prefix_len}")


def host_address(network: IPNetwork, host: int) -> IPAddress:
    """Host number ``host`` of a network (host 0 is refused: it is the network address)."""
    size = network.num_addresses
    index = host % size
    if index == 0 or (network.version == 4 and index == size - 1 and size > 2):
        raise AddressPlanError(f"host number {host} has no usable address in {network}")
    return network.network_address + index


@dataclass(frozen=True, slots=True)
class NodeAddresses:
    """Every address of one node in the plan."""

    node_id: int
    pod_subnet: IPNetwork
    pod_gateway: IPAddress
    nat_loopback: IPAddress
    host_subnet: IPNetwork
    host_vpp_address: IPAddress  # VPP end of the host interconnect (.1)
    host_linux_address: IPAddress  # Linux end (vpp1) (.2)
    node_address: IPAddress  # main VPP interface, in nodeInterconnectCIDR
    vxlan_address: IPAddress  # vxlanBVI, in vxlanCIDR

    @property
    def pod_ip_range(self) -> tuple[int, int]:
        """First and last host numbers pods may get (gateway and NAT loopback excluded)."""
        last = self.pod_subnet.num_addresses - (3 if self.pod_subnet.version == 4 else 2)
        return 2, last


class AddressPlan:
    """The plan of one cluster (all nodes)."""

    def __init__(self, settings: IpamSettings) -> None:
        self.settings = settings

    def node(self, node_id: int) -> NodeAddresses:
        """All addresses of the node with this ID."""
        s = self.settings
        pods = node_slice(s.pod_subnet_cidr, s.pod_subnet_one_node_prefix_len, node_id)
        hosts = node_slice(s.vpp_host_subnet_cidr, s.vpp_host_subnet_one_node_prefix_len, node_id)
        last = pods.num_addresses - (2 if pods.version == 4 else 1)
        return NodeAddresses(
            node_id=node_id,
            pod_subnet=pods,
            pod_gateway=host_address(pods, 1),
            nat_loopback=pods.network_address + last,
            host_subnet=hosts,
            host_vpp_address=host_address(hosts, 1),
            host_linux_address=host_address(hosts, 2),
            node_address=self._node_interconnect(node_id),
            vxlan_address=host_address(s.vxlan_cidr, node_id),
        )

    def _node_interconnect(self, node_id: int) -> IPAddress:
        address = host_address(self.settings.node_interconnect_cidr, node_id)
        gateway = self.settings.default_gateway
        # Contiv bumps node addresses at or above the gateway so none collides with it.
        if (
            gateway is not None
            and gateway in self.settings.node_interconnect_cidr
            and int(address) >= int(gateway)
        ):
            address = host_address(self.settings.node_interconnect_cidr, node_id + 1)
        return address

    def node_id_of_pod_ip(self, ip: IPAddress) -> int | None:
        """The node whose pod subnet holds ``ip`` (None when outside the pod range)."""
        s = self.settings
        if ip not in s.pod_subnet_cidr:
            return None
        host_bits = s.pod_subnet_cidr.max_prefixlen - s.pod_subnet_one_node_prefix_len
        index = (int(ip) ^ int(s.pod_subnet_cidr.network_address)) >> host_bits
        slices = 1 << (s.pod_subnet_one_node_prefix_len - s.pod_subnet_cidr.prefixlen)
        return index or slices
