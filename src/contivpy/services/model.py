"""The joined service a renderer works from (Contiv-VPP's ContivService), and the node facts
the join depends on.

In: nothing (plain data). Out: ``ContivService`` — one Service joined with its Endpoints:
identity, traffic policy, session affinity, frontends (cluster IPs, external IPs, LoadBalancer
ingress IPs; NodePorts on the ports), ports by name and the ready backends of each port;
``LocalNode`` — what the join needs to know of this node (its pod subnets and IPs).

IP addresses are ``ipaddress`` objects, sorted IPv4 first then IPv6 (each numerically) and
without duplicates, so two joins of the same objects are equal. Both families are kept in one
model; ``of_family`` gives the part one family's renderer handles (IPv4: NAT44), so IPv4 and
IPv6 frontends and backends never mix.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Kubernetes' default session-affinity timeout (spec.sessionAffinityConfig.clientIP)
DEFAULT_AFFINITY_TIMEOUT = 10800
#: the largest timeout Kubernetes accepts (one day)
MAX_AFFINITY_TIMEOUT = 86400
#: kube-apiserver's default --service-node-port-range
DEFAULT_NODE_PORT_RANGE = (30000, 32767)


class TrafficPolicy(enum.Enum):
    """Which backends serve a service (from ``externalTrafficPolicy``)."""

    CLUSTER_WIDE = "ClusterWide"  # Cluster (the default): every ready backend
    NODE_LOCAL = "NodeLocal"  # Local: this node's backends only


class L4Protocol(enum.Enum):
    """A service port's protocol, with its IP protocol number."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @property
    def number(self) -> int:
        """The IP protocol number (what VPP's NAT calls the protocol)."""
        return _IP_PROTOCOL[self]


_IP_PROTOCOL = {L4Protocol.TCP: 6, L4Protocol.UDP: 17, L4Protocol.SCTP: 132}


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a service: the port on its cluster/external IPs, and its NodePort (0: none)."""

    protocol: L4Protocol
    port: int
    node_port: int = 0


@dataclass(frozen=True, slots=True)
class Backend:
    """One ready endpoint of a service port. ``local``: it runs on this node (in this node's
    pod subnet, or one of this node's IPs); ``host_network``: it is not a pod IP of the cluster
    (a host-network pod, a node, or an address outside the cluster)."""

    ip: IPAddress
    port: int
    local: bool = False
    host_network: bool = False


@dataclass(frozen=True, slots=True)
class ContivService:
    """One Service joined with its Endpoints (see the module doc). ``affinity_timeout`` is the
    ClientIP session-affinity timeout in seconds, 0 without affinity. ``ports`` and
    ``backends`` have the same keys: the service's port names ("" for a single unnamed port);
    a port without ready endpoints has no backends. Compared by value (not hashable)."""

    namespace: str
    name: str
    traffic_policy: TrafficPolicy = TrafficPolicy.CLUSTER_WIDE
    affinity_timeout: int = 0
    cluster_ips: tuple[IPAddress, ...] = ()
    external_ips: tuple[IPAddress, ...] = ()
    lb_ingress_ips: tuple[IPAddress, ...] = ()
    ports: Mapping[str, ServicePort] = field(default_factory=dict)
    backends: Mapping[str, tuple[Backend, ...]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """``<namespace>/<name>``."""
        return f"{self.namespace}/{self.name}"

    @property
    def has_node_port(self) -> bool:
        """Whether some port is exposed on every node IP (NodePort and LoadBalancer types)."""
        return any(port.node_port for port in self.ports.values())

    @property
    def families(self) -> frozenset[int]:
        """The IP versions of its frontends (cluster, external and ingress IPs)."""
        ips = (*self.cluster_ips, *self.external_ips, *self.lb_ingress_ips)
        return frozenset(ip.version for ip in ips)

    def of_family(self, version: int) -> ContivService:
        """The part of the service one IP family handles: its frontends and backends of that
        version only (ports and NodePorts unchanged)."""
        return replace(
            self,
            cluster_ips=tuple(ip for ip in self.cluster_ips if ip.version == version),
            external_ips=tuple(ip for ip in self.external_ips if ip.version == version),
            lb_ingress_ips=tuple(ip for ip in self.lb_ingress_ips if ip.version == version),
            backends={
                name: tuple(b for b in backends if b.ip.version == version)
                for name, backends in self.backends.items()
            },
        )


@dataclass(frozen=True, slots=True)
class LocalNode:
    """This node's facts the join depends on: its pod subnets (one per family) and its own IPs
    (node/VPP IPs and host IPs). A backend in one of the subnets or at one of the IPs is
    local."""

    pod_subnets: tuple[IPNetwork, ...] = ()
    ips: frozenset[IPAddress] = frozenset()

    def is_local(self, ip: IPAddress) -> bool:
        """Whether a backend at ``ip`` runs on this node."""
        return ip in self.ips or any(ip in subnet for subnet in self.pod_subnets)


def ip_order(ip: IPAddress) -> tuple[int, int]:
    """Sort key: IPv4 before IPv6, then numerically."""
    return ip.version, int(ip)


def sorted_ips(ips: Iterable[IPAddress]) -> tuple[IPAddress, ...]:
    """Distinct IPs in ``ip_order``."""
    return tuple(sorted(set(ips), key=ip_order))


def node_ips(addresses: Iterable[str]) -> frozenset[IPAddress]:
    """The IPs of a node's addresses, given as ``IP`` or ``IP/prefix`` (its VPP addresses are
    CIDRs, its Kubernetes addresses plain IPs). Nodesync checked them; text that is not an
    address (a DNS name among a node's addresses) is skipped."""
    found: set[IPAddress] = set()
    for text in addresses:
        try:
            found.add(ipaddress.ip_interface(text.strip()).ip)
        except ValueError:
            continue
    return frozenset(found)
