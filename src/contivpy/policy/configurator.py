"""The rules of one pod, per direction, from the policies that select it (Contiv's
configurator).

In: a pod, the policies that select it, how a peer resolves to pods (``PeerPods``), which pods
have a named container port (``NamedPods``) and the NAT loopback IP. Out: :class:`PodRules` —
per direction (seen from the pod: ``ingress`` is traffic to it, ``egress`` traffic from it;
Contiv's renderer names them the other way round, from the vswitch) a sorted tuple of rules,
empty when the pod is not isolated in that direction.

Each policy rule gives PERMITs: one per peer network and port. Peer networks: each IP of each
selected pod (a /32 or /128), an ipBlock minus its excepts (subnet subtraction: PERMITs only),
or any address when the rule names no peer. Ports: the numbered range, or a named port resolved
from the target pod's container ports — for ingress the pod itself, for egress each destination
pod (a named port towards an ipBlock or any address means the pods there that have it). An
ingress rule's destination and an egress rule's source are any address: the table sits on the
pod's own interface, and leaving the pod's address out lets pods with the same policies share
one table.

A direction some policy isolates gets, besides the PERMITs, a PERMIT from the NAT loopback
(ingress: a service's hairpin traffic arrives from it) and a final DENY of everything; if its
PERMITs already admit everything, it is not isolated in effect and gets no rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from contivpy.policy.facts import PodFacts
from contivpy.policy.model import ContivPolicy, Peer, PolicyRule, PortSpec
from contivpy.policy.rules import (
    DENY_ALL,
    Action,
    Address,
    Net,
    PortRange,
    Proto,
    Rule,
    host_net,
    net_contains,
    sorted_rules,
    subtract,
)

#: The pods a selector peer of a policy selects (in any order).
PeerPods = Callable[[ContivPolicy, Peer], Iterable[PodFacts]]
#: The pods having a container port of this name.
NamedPods = Callable[[str], Iterable[PodFacts]]

Rules = tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class PodRules:
    """A pod's rules; an empty direction is not isolated."""

    ingress: Rules = ()
    egress: Rules = ()


def peer_selects(
    policy: ContivPolicy, peer: Peer, pod: PodFacts, namespace_labels: Mapping[str, str]
) -> bool:
    """Whether a selector peer of ``policy`` selects ``pod`` (whose namespace has
    ``namespace_labels``)."""
    if peer.is_block:
        return False
    if peer.namespaces is None:
        if pod.namespace != policy.namespace:
            return False
    elif not peer.namespaces.matches(namespace_labels):
        return False
    return peer.pods is None or peer.pods.matches(pod.labels)


def ingress_permits(policy: ContivPolicy, target: PodFacts, peer_pods: PeerPods) -> set[Rule]:
    """The PERMITs ``policy``'s ingress rules give traffic to ``target``."""
    permits: set[Rule] = set()
    for rule in policy.ingress_rules:
        ports = list(_ports(rule.ports, target))
        if not ports:
            continue  # only named ports, none of which the pod has: admits nothing
        for src in _peer_nets(policy, rule, peer_pods):
            for protocol, dst_ports in ports:
                permits.add(Rule(Action.PERMIT, src, None, protocol, dst_ports=dst_ports))
    return permits


def egress_permits(policy: ContivPolicy, peer_pods: PeerPods, named_pods: NamedPods) -> set[Rule]:
    """The PERMITs ``policy``'s egress rules give traffic from the pods it selects (the same
    for each of them)."""
    permits: set[Rule] = set()
    for rule in policy.egress_rules:
        numbered = [p for p in rule.ports if not p.name]
        named = [p for p in rule.ports if p.name]
        if numbered or not rule.ports:
            ports = list(_ports(tuple(numbered), None))
            for dst in _peer_nets(policy, rule, peer_pods):
                for protocol, dst_ports in ports:
                    permits.add(Rule(Action.PERMIT, None, dst, protocol, dst_ports=dst_ports))
        for spec in named:
            for pod, ips in _named_destinations(policy, rule, spec.name, peer_pods, named_pods):
                for number in pod.resolve(spec.name, spec.protocol):
                    for ip in ips:
                        permits.add(
                            Rule(
                                Action.PERMIT,
                                None,
                                host_net(ip),
                                spec.protocol,
                                dst_ports=PortRange(number, number),
                            )
                        )
    return permits


def finish(
    permits: Iterable[Rule], isolated: bool, *, ingress: bool, nat_loopback: Address | None
) -> Rules:
    """One direction's table from its policies' PERMITs (see the module doc)."""
    if not isolated:
        return ()
    rules = set(permits)
    if any(rule.matches_all for rule in rules):
        return ()
    if ingress and nat_loopback is not None:
        rules.add(Rule(Action.PERMIT, host_net(nat_loopback)))
    rules.add(DENY_ALL)
    return sorted_rules(rules)


def pod_rules(
    pod: PodFacts,
    policies: Iterable[ContivPolicy],
    peer_pods: PeerPods,
    named_pods: NamedPods,
    nat_loopback: Address | None,
) -> PodRules:
    """``pod``'s rules from ``policies`` — those that select it."""
    ingress: set[Rule] = set()
    egress: set[Rule] = set()
    isolated_in = isolated_out = False
    for policy in policies:
        if policy.ingress:
            isolated_in = True
            ingress |= ingress_permits(policy, pod, peer_pods)
        if policy.egress:
            isolated_out = True
            egress |= egress_permits(policy, peer_pods, named_pods)
    return PodRules(
        finish(ingress, isolated_in, ingress=True, nat_loopback=nat_loopback),
        finish(egress, isolated_out, ingress=False, nat_loopback=nat_loopback),
    )


def _ports(
    specs: tuple[PortSpec, ...], target: PodFacts | None
) -> Iterator[tuple[Proto, PortRange]]:
    if not specs:
        yield Proto.ANY, PortRange()
        return
    for spec in specs:
        if not spec.name:
            yield spec.protocol, spec.ports
        elif target is not None:
            for number in target.resolve(spec.name, spec.protocol):
                yield spec.protocol, PortRange(number, number)


def _peer_nets(policy: ContivPolicy, rule: PolicyRule, peer_pods: PeerPods) -> Iterator[Net | None]:
    if not rule.peers:
        yield None
        return
    for peer in rule.peers:
        if peer.block is not None:
            yield from subtract(peer.block, peer.excepts)
        else:
            for pod in peer_pods(policy, peer):
                for ip in pod.ips:
                    yield host_net(ip)


def _named_destinations(
    policy: ContivPolicy,
    rule: PolicyRule,
    name: str,
    peer_pods: PeerPods,
    named_pods: NamedPods,
) -> Iterator[tuple[PodFacts, tuple[Address, ...]]]:
    """The pods (and which of their IPs) an egress rule's named port may reach."""
    if not rule.peers:
        for pod in named_pods(name):
            yield pod, pod.ips
        return
    for peer in rule.peers:
        if peer.block is None:
            for pod in peer_pods(policy, peer):
                yield pod, pod.ips
            continue
        for pod in named_pods(name):
            ips = tuple(ip for ip in pod.ips if _in_block(peer, ip))
            if ips:
                yield pod, ips


def _in_block(peer: Peer, ip: Address) -> bool:
    return net_contains(peer.block, ip) and not any(net_contains(cut, ip) for cut in peer.excepts)
