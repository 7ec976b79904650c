"""Test support for the policy processor: policies from Kubernetes manifests, pods, a small
cluster whose nodes' tables are rendered from scratch, and an oracle that answers "may this
packet flow?" straight from Kubernetes' NetworkPolicy semantics, without any rule or table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contivpy.policy.evaluate import Packet, cluster_passes
from contivpy.policy.facts import NamedPort, PodFacts
from contivpy.policy.model import ContivPolicy, Peer, PolicyRule, PortSpec, compile_policy
from contivpy.policy.render import render
from contivpy.policy.rules import Address, Proto
from contivpy.policy.tables import Rendering
from contivpy.reflector.converting import convert

NAT_LOOPBACK = ipaddress.ip_address("10.1.255.254")


def policy(name: str, namespace: str, spec: Mapping[str, Any]) -> ContivPolicy:
    """A checked policy from a NetworkPolicy manifest's spec."""
    model = convert(
        "policy",
        {"metadata": {"name": name, "namespace": namespace}, "spec": dict(spec)},
    )
    return compile_policy(model)  # type: ignore[arg-type]


def pod(
    namespace: str,
    name: str,
    labels: Mapping[str, str] | None = None,
    ip: str = "",
    node: str = "n1",
    ports: Iterable[tuple[str, str, int]] = (),
) -> PodFacts:
    """A pod; ``ports``: (name, protocol, number) of its named container ports."""
    return PodFacts(
        namespace,
        name,
        dict(labels or {}),
        (ipaddress.ip_address(ip),) if ip else (),
        tuple(
            sorted(
                (NamedPort(n, Proto(proto.lower()), number) for n, proto, number in ports),
                key=lambda p: (p.name, p.protocol.value, p.port),
            )
        ),
        node,
    )


@dataclass
class Cluster:
    """Policies, pods and namespaces; every node's tables rendered from scratch."""

    nodes: tuple[str, ...] = ("n1", "n2")
    policies: dict[str, ContivPolicy] = field(default_factory=dict)
    pods: dict[str, PodFacts] = field(default_factory=dict)
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    nat_loopback: Address | None = NAT_LOOPBACK

    def add(self, *things: ContivPolicy | PodFacts) -> Cluster:
        for thing in things:
            if isinstance(thing, ContivPolicy):
                self.policies[thing.id] = thing
            else:
                self.pods[thing.key] = thing
        return self

    def renderings(self) -> dict[str, Rendering]:
        return {
            node: render(
                self.policies.values(),
                self.pods.values(),
                self.namespaces,
                node,
                self.nat_loopback,
            )
            for node in self.nodes
        }

    def ip(self, who: str) -> str:
        """A pod's (``ns/name``) first IP, or ``who`` itself (an address)."""
        if who in self.pods:
            return str(self.pods[who].ips[0])
        return who

    def packet(self, src: str, dst: str, protocol: str = "tcp", port: int = 80) -> Packet:
        return Packet.of(self.ip(src), self.ip(dst), Proto(protocol), dst_port=port, src_port=40000)

    def passes(self, src: str, dst: str, protocol: str = "tcp", port: int = 80) -> bool:
        """Whether the rendered tables let the packet through (checked against the oracle)."""
        packet = self.packet(src, dst, protocol, port)
        rendered = cluster_passes(self.renderings(), self.pods.values(), packet)
        expected = allows(self, packet)
        assert rendered == expected, f"tables say {rendered}, Kubernetes semantics {expected}"
        return rendered


# --- the oracle -----------------------------------------------------------------------------


def allows(cluster: Cluster, packet: Packet) -> bool:
    """Whether Kubernetes' NetworkPolicy semantics admit ``packet``."""
    by_ip = {ip: p for p in cluster.pods.values() for ip in p.ips}
    src, dst = by_ip.get(packet.src), by_ip.get(packet.dst)
    policies = list(cluster.policies.values())
    if src is not None:
        selecting = [p for p in policies if p.egress and _selects(p, src)]
        if selecting and not any(
            _admits(cluster, p, rule, packet.dst, dst, dst, packet)
            for p in selecting
            for rule in p.egress_rules
        ):
            return False
    if dst is not None and packet.src != cluster.nat_loopback:
        selecting = [p for p in policies if p.ingress and _selects(p, dst)]
        if selecting and not any(
            _admits(cluster, p, rule, packet.src, src, dst, packet)
            for p in selecting
            for rule in p.ingress_rules
        ):
            return False
    return True


def _selects(policy: ContivPolicy, target: PodFacts) -> bool:
    return target.namespace == policy.namespace and policy.selector.matches(target.labels)


def _admits(
    cluster: Cluster,
    policy: ContivPolicy,
    rule: PolicyRule,
    peer_ip: Address,
    peer: PodFacts | None,
    port_owner: PodFacts | None,
    packet: Packet,
) -> bool:
    peer_ok = not rule.peers or any(
        _peer_admits(cluster, policy, p, peer_ip, peer) for p in rule.peers
    )
    port_ok = not rule.ports or any(_port_admits(s, port_owner, packet) for s in rule.ports)
    return peer_ok and port_ok


def _peer_admits(
    cluster: Cluster, policy: ContivPolicy, peer: Peer, ip: Address, pod_: PodFacts | None
) -> bool:
    if peer.block is not None:
        return (
            ip.version == peer.block.version
            and ip in peer.block
            and not any(ip in cut for cut in peer.excepts)
        )
    if pod_ is None:
        return False
    if peer.namespaces is None:
        namespace_ok = pod_.namespace == policy.namespace
    else:
        namespace_ok = peer.namespaces.matches(cluster.namespaces.get(pod_.namespace, {}))
    return namespace_ok and (peer.pods is None or peer.pods.matches(pod_.labels))


def _port_admits(spec: PortSpec, owner: PodFacts | None, packet: Packet) -> bool:
    if packet.protocol is not spec.protocol:
        return False
    if spec.name:
        return owner is not None and any(
            p.name == spec.name and p.protocol is spec.protocol and p.port == packet.dst_port
            for p in owner.ports
        )
    return spec.ports.first <= packet.dst_port <= spec.ports.last
