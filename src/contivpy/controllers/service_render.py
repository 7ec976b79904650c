"""What the NAT44-ED renderer puts in VPP for this node and its services (Contiv's NAT44
renderer). Pure functions.

In: ``NodeSide`` (this node's NAT-relevant facts: its main address, the NAT loopback address,
its interfaces, its VRFs, whether traffic leaving the cluster is source-NATed, the local
endpoint weight), the IPv4 part of a joined ``ContivService`` (``ContivService.of_family(4)``),
the IPv4 addresses of every node (the NodePort frontends), and the local pods' interfaces.
Out: NAT values keyed by their scheduler keys (``models/vpp_nat.py``, docs/SERVICES.md):

- this node (``render_node``): the plugin (forwarding on); NAT features on the main interface
  (``out``, or the post-routing output feature when traffic leaving the cluster is SNATed),
  the host interconnect and the VXLAN BVI (both ``in`` and ``out``); without an overlay the
  main interface is also ``in`` (backends are reached through it); the pool: the node address
  (every VRF) when SNAT is on, and the NAT loopback address as the twice-NAT pool; identity
  mappings of the node address: UDP 4789 in the main VRF (VXLAN is never translated), every
  port in the main and in the pod VRF;
- a local pod (``render_pod_interface``): its interface ``out`` (a frontend), and ``in`` too
  while it backs some service;
- a service (``render_service``): one mapping per (frontend IP, protocol, port): cluster IPs
  at the port, every node IP at the NodePort, external and LoadBalancer-ingress IPs at the
  port. Locals are the port's backends, weighted ``local_weight`` when on this node and 1
  otherwise, in the main VRF when at one of this node's own IPs and in the pod VRF otherwise.
  Cluster IPs use every backend with self-twice-NAT (a pod reaching a service it backs is
  source-NATed to the NAT loopback so the reply comes back through VPP). External frontends
  (NodePorts, external IPs, ingress IPs) under ``externalTrafficPolicy: Local`` keep only this
  node's backends (Kubernetes' rule, applied to external traffic only) with self-twice-NAT;
  under ``Cluster`` they use every backend with twice-NAT (the client is source-NATed to the
  NAT loopback, so a remote backend's reply returns through this node, which holds the
  session). A frontend without backends gets no mapping. Every mapping is out2in-only and
  tagged with the service's ID.

Two services claiming one (IP, protocol, port) (externalIPs are not checked by the API server):
the first by ID keeps it (``merge_services``), the others are told.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contivpy.controllers import naming
from contivpy.events.types import Config
from contivpy.models.vpp_keys import (
    NAT44_GLOBAL_KEY,
    nat44_address_key,
    nat44_identity_key,
    nat44_interface_key,
    nat44_mapping_key,
)
from contivpy.models.vpp_nat import (
    Nat44AddressRange,
    Nat44Global,
    Nat44IdentityMapping,
    Nat44Interface,
    Nat44Local,
    Nat44Mapping,
    NatProtocol,
    TwiceNat,
)
from contivpy.services.model import Backend, ContivService, IPAddress, TrafficPolicy

#: VXLAN's UDP port: the overlay's packets leave with the node address and must stay so
VXLAN_PORT = 4789
#: VPP keeps a mapping's tag in 64 bytes with the terminating NUL
MAX_TAG = 63

_PROTOCOLS = {"TCP": NatProtocol.TCP, "UDP": NatProtocol.UDP, "SCTP": NatProtocol.SCTP}


@dataclass(frozen=True, slots=True)
class NodeSide:
    """This node's facts the NAT values depend on (constant between resyncs)."""

    node_ip: ipaddress.IPv4Address  # the main interface's address
    nat_loopback: ipaddress.IPv4Address  # the twice-NAT pool's address
    main_interface: str
    host_interconnect: str
    vxlan_bvi: str = ""  # "" without the VXLAN overlay
    snat: bool = False  # traffic leaving the cluster is source-NATed to node_ip
    main_vrf: int = 0
    pod_vrf: int = 1
    local_weight: int = 1  # probability of a backend on this node (1 for the others)


def render_node(side: NodeSide) -> Config:
    """The plugin, the interfaces every node has, the pool and the identities."""
    config: Config = {NAT44_GLOBAL_KEY: Nat44Global(forwarding=True)}
    main = (
        Nat44Interface(side.main_interface, output=True)
        if side.snat
        else Nat44Interface(side.main_interface, inside=not side.vxlan_bvi, outside=True)
    )
    interfaces = [main, Nat44Interface(side.host_interconnect, inside=True, outside=True)]
    if side.vxlan_bvi:
        interfaces.append(Nat44Interface(side.vxlan_bvi, inside=True, outside=True))
    for interface in interfaces:
        config[nat44_interface_key(interface.name)] = interface
    node_ip = str(side.node_ip)
    if side.snat:
        config[nat44_address_key(node_ip)] = Nat44AddressRange(node_ip)
    loopback = str(side.nat_loopback)
    config[nat44_address_key(loopback)] = Nat44AddressRange(loopback, twice_nat=True)
    identities = (
        Nat44IdentityMapping(node_ip, side.main_vrf, NatProtocol.UDP, VXLAN_PORT),
        Nat44IdentityMapping(node_ip, side.main_vrf),
        Nat44IdentityMapping(node_ip, side.pod_vrf),
    )
    for identity in identities:
        tagged = Nat44IdentityMapping(
            identity.ip,
            identity.vrf,
            identity.protocol,
            identity.port,
            naming.NAT_IDENTITIES_TAG,
        )
        protocol = identity.protocol.name if identity.protocol is not None else ""
        config[nat44_identity_key(identity.vrf, node_ip, protocol, identity.port)] = tagged
    return config


def render_pod_interface(interface: str, backend: bool) -> Config:
    """A local pod's interface: a frontend always, a backend while it backs a service."""
    return {nat44_interface_key(interface): Nat44Interface(interface, inside=backend, outside=True)}


def local_backend_ips(service: ContivService) -> frozenset[IPAddress]:
    """The IPs of the service's backends that are pods on this node (their interfaces are
    NAT ``in``); this node's own IPs are not pods."""
    return frozenset(
        b.ip
        for backends in service.backends.values()
        for b in backends
        if b.local and not b.host_network
    )


def render_service(service: ContivService, side: NodeSide, node_ips: Iterable[IPAddress]) -> Config:
    """The mappings of one service's IPv4 part (see the module doc)."""
    config: Config = {}
    tag = service.id.encode()[:MAX_TAG].decode(errors="ignore")
    external_twice = (
        TwiceNat.ENABLED if service.traffic_policy is TrafficPolicy.CLUSTER_WIDE else TwiceNat.SELF
    )
    node_v4 = sorted(ip for ip in node_ips if ip.version == 4)
    for name, port in sorted(service.ports.items()):
        protocol = _PROTOCOLS[port.protocol.value]
        backends = service.backends.get(name, ())
        every = _locals(backends, side, only_local=False)
        external = (
            _locals(backends, side, only_local=True)
            if service.traffic_policy is TrafficPolicy.NODE_LOCAL
            else every
        )
        frontends: list[tuple[IPAddress, int, tuple[Nat44Local, ...], TwiceNat]] = [
            (ip, port.port, every, TwiceNat.SELF) for ip in service.cluster_ips
        ]
        if port.node_port:
            frontends += [(ip, port.node_port, external, external_twice) for ip in node_v4]
        for ip in (*service.external_ips, *service.lb_ingress_ips):
            frontends.append((ip, port.port, external, external_twice))
        for ip, number, locals_, twice in frontends:
            if ip.version != 4 or not locals_:
                continue
            key = nat44_mapping_key(protocol.name, str(ip), number)
            config[key] = Nat44Mapping(
                str(ip),
                number,
                protocol,
                locals_,
                twice_nat=twice,
                affinity=service.affinity_timeout,
                tag=tag,
            )
    return config


def _locals(
    backends: Iterable[Backend], side: NodeSide, *, only_local: bool
) -> tuple[Nat44Local, ...]:
    found: dict[tuple[IPAddress, int], Nat44Local] = {}
    for b in backends:
        if b.ip.version != 4 or (only_local and not b.local) or (b.ip, b.port) in found:
            continue
        # a local backend at a node IP is this node itself (a host-network pod): main VRF
        vrf = side.main_vrf if b.local and b.host_network else side.pod_vrf
        weight = side.local_weight if b.local else 1
        found[(b.ip, b.port)] = Nat44Local(str(b.ip), b.port, weight, vrf)
    return tuple(found.values())


def merge_services(
    rendered: Mapping[str, Config],
) -> tuple[Config, dict[str, tuple[str, ...]]]:
    """Every service's mappings in one configuration: a key claimed by several services goes
    to the first by ID; the others' problems name it."""
    merged: Config = {}
    owner: dict[str, str] = {}
    conflicts: dict[str, list[str]] = {}
    for service_id in sorted(rendered):
        for key, value in rendered[service_id].items():
            if key in owner:
                conflicts.setdefault(service_id, []).append(conflict(service_id, key, owner[key]))
                continue
            owner[key] = service_id
            merged[key] = value
    return merged, {sid: tuple(found) for sid, found in conflicts.items()}


def conflict(service_id: str, key: str, owner: str) -> str:
    """The problem of a service whose frontend another service holds."""
    protocol, ip, port = key.rsplit("/", 3)[-3:]
    return f"Service {service_id}: {protocol} {ip}:{port} is also a frontend of Service {owner}"


def render_all(
    services: Iterable[ContivService],
    side: NodeSide,
    node_ips: Iterable[IPAddress],
    pods: Mapping[str, IPAddress],
) -> Config:
    """Everything from scratch: the node, every service's IPv4 part, every local pod's
    interface (``pods``: interface -> the pod's IP)."""
    ips = list(node_ips)
    config = render_node(side)
    rendered: dict[str, Config] = {}
    backing: set[IPAddress] = set()
    for service in services:
        if 4 not in service.families:
            continue
        part = service.of_family(4)
        rendered[service.id] = render_service(part, side, ips)
        backing |= local_backend_ips(part)
    config.update(merge_services(rendered)[0])
    for interface, ip in pods.items():
        config.update(render_pod_interface(interface, ip in backing))
    return config
