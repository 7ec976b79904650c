"""A reflected NetworkPolicy, checked and turned into a ``ContivPolicy``.

In: one reflected ``Policy`` model. Out: a :class:`ContivPolicy` — which pods of its namespace
it selects, whether it isolates ingress and/or egress, and its rules (peers and ports) — or a
:class:`PolicyError` naming the policy and every bad field.

Policy types (Kubernetes): ``policyTypes`` given: exactly those directions; absent: Ingress,
plus Egress when the policy has egress rules (Contiv treated absent as Ingress only). A rule
with no peers admits every address, with no ports every protocol and port.

Peers: ``podSelector`` alone selects pods of the policy's namespace; ``namespaceSelector`` alone
every pod of the namespaces it selects; both, the pods matching the pod selector in those
namespaces; ``ipBlock`` a CIDR minus its ``except`` CIDRs, each strictly inside it. Ports: a
number (1-65535), a range (``port`` .. ``endPort``), a name (a container port's name, resolved
per pod that has it), or none (every port of the protocol); protocol TCP, UDP or SCTP.

Invalid (the API server would have refused them): a selector with a bad operator or missing
values, a peer with none or an ipBlock with a selector, an ipBlock or except that isn't a CIDR
or an except outside its block, a port out of range, an ``endPort`` below its port or with a
named port.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.models.k8s_codec import (
    IpBlock,
    Policy,
    PolicyPeer,
    PolicyPort,
    PolicyType,
    Protocol,
)
from contivpy.policy.rules import ALL_PORTS, MAX_PORT, Net, PortRange, Proto
from contivpy.policy.selectors import Selector, compile_selector

_PROTOCOLS = {Protocol.TCP: Proto.TCP, Protocol.UDP: Proto.UDP, Protocol.SCTP: Proto.SCTP}


class PolicyError(ValueError):
    """A policy that cannot be applied; ``problems`` name its bad fields."""

    def __init__(self, policy: str, problems: list[str]) -> None:
        super().__init__(f"NetworkPolicy {policy}: " + "; ".join(problems))
        self.policy = policy
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One port of a rule: a protocol and a range, or a name to resolve per pod."""

    protocol: Proto
    ports: PortRange = ALL_PORTS
    name: str = ""


@dataclass(frozen=True, slots=True)
class Peer:
    """Pods by selectors (``namespaces`` ``None``: the policy's own namespace; ``pods``
    ``None``: every pod of those namespaces), or an IP block (``block`` set)."""

    pods: Selector | None = None
    namespaces: Selector | None = None
    block: Net | None = None
    excepts: tuple[Net, ...] = ()

    @property
    def is_block(self) -> bool:
        return self.block is not None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One ingress (``from``) or egress (``to``) rule: empty peers or ports: all of them."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()

    @property
    def named_ports(self) -> frozenset[str]:
        return frozenset(p.name for p in self.ports if p.name)


@dataclass(frozen=True, slots=True)
class ContivPolicy:
    """A checked NetworkPolicy."""

    namespace: str
    name: str
    selector: Selector  # the pods of ``namespace`` it applies to
    ingress: bool  # isolates its pods' ingress
    egress: bool  # isolates its pods' egress
    ingress_rules: tuple[PolicyRule, ...] = ()
    egress_rules: tuple[PolicyRule, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    def selects(self, namespace: str, labels: dict[str, str]) -> bool:
        """Whether it applies to a pod of ``namespace`` with these labels."""
        return namespace == self.namespace and self.selector.matches(labels)


def compile_policy(model: Policy) -> ContivPolicy:
    """The checked policy; raises :class:`PolicyError` with every problem found."""
    problems: list[str] = []
    selector, found = compile_selector(model.pod_selector, "spec.podSelector")
    problems += found
    ingress_rules = tuple(
        _rule(rule.from_, rule.ports, f"spec.ingress[{i}]", "from", problems)
        for i, rule in enumerate(model.ingress_rules)
    )
    egress_rules = tuple(
        _rule(rule.to, rule.ports, f"spec.egress[{i}]", "to", problems)
        for i, rule in enumerate(model.egress_rules)
    )
    kind = model.policy_type
    if kind == PolicyType.DEFAULT:
        ingress, egress = True, bool(model.egress_rules)
    elif kind in (PolicyType.INGRESS, PolicyType.EGRESS, PolicyType.INGRESS_AND_EGRESS):
        ingress = kind in (PolicyType.INGRESS, PolicyType.INGRESS_AND_EGRESS)
        egress = kind in (PolicyType.EGRESS, PolicyType.INGRESS_AND_EGRESS)
    else:
        problems.append(f"spec.policyTypes: unknown value {kind!r}")
        ingress = egress = False
    if problems:
        raise PolicyError(f"{model.namespace}/{model.name}", problems)
    return ContivPolicy(
        model.namespace,
        model.name,
        selector,
        ingress,
        egress,
        ingress_rules if ingress else (),
        egress_rules if egress else (),
    )


def _rule(
    peers: list[PolicyPeer], ports: list[PolicyPort], where: str, side: str, problems: list[str]
) -> PolicyRule:
    return PolicyRule(
        tuple(_peer(peer, f"{where}.{side}[{i}]", problems) for i, peer in enumerate(peers)),
        tuple(_port(port, f"{where}.ports[{i}]", problems) for i, port in enumerate(ports)),
    )


def _peer(peer: PolicyPeer, where: str, problems: list[str]) -> Peer:
    if peer.ip_block is not None:
        if peer.pod_selector is not None or peer.namespace_selector is not None:
            problems.append(f"{where}: ipBlock cannot be combined with a selector")
        return _block(peer.ip_block, f"{where}.ipBlock", problems)
    if peer.pod_selector is None and peer.namespace_selector is None:
        problems.append(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
        return Peer(block=ipaddress.ip_network("0.0.0.0/32"), excepts=())
    pods = namespaces = None
    if peer.pod_selector is not None:
        pods, found = compile_selector(peer.pod_selector, f"{where}.podSelector")
        problems += found
    if peer.namespace_selector is not None:
        namespaces, found = compile_selector(peer.namespace_selector, f"{where}.namespaceSelector")
        problems += found
    return Peer(pods=pods, namespaces=namespaces)


def _cidr(text: str, where: str, problems: list[str]) -> Net | None:
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        problems.append(f"{where}: {text!r} is not a CIDR")
        return None


def _block(block: IpBlock, where: str, problems: list[str]) -> Peer:
    net = _cidr(block.cidr, f"{where}.cidr", problems)
    excepts: list[Net] = []
    for index, text in enumerate(block.except_):
        here = f"{where}.except[{index}]"
        cut = _cidr(text, here, problems)
        if cut is None or net is None:
            continue
        if cut.version != net.version or not cut.subnet_of(net) or cut == net:  # type: ignore[arg-type]
            problems.append(f"{here}: {text!r} is not strictly inside cidr {str(net)!r}")
            continue
        excepts.append(cut)
    return Peer(block=net or ipaddress.ip_network("0.0.0.0/32"), excepts=tuple(excepts))


def _port(port: PolicyPort, where: str, problems: list[str]) -> PortSpec:
    protocol = _PROTOCOLS.get(port.protocol)
    if protocol is None:
        problems.append(f"{where}.protocol: {port.protocol!r} is not TCP, UDP or SCTP")
        protocol = Proto.TCP
    given = port.port
    if given is None or (given.number is None and given.name is None):
        if port.end_port:
            problems.append(f"{where}.endPort: needs a numbered port")
        return PortSpec(protocol)
    if given.name is not None:
        if not given.name:
            problems.append(f"{where}.port: empty port name")
        if port.end_port:
            problems.append(f"{where}.endPort: cannot be used with a named port")
        return PortSpec(protocol, name=given.name)
    number = given.number or 0
    if not 1 <= number <= MAX_PORT:
        problems.append(f"{where}.port: {number} is out of range 1-{MAX_PORT}")
        return PortSpec(protocol)
    last = number
    if port.end_port:
        if not number <= port.end_port <= MAX_PORT:
            problems.append(f"{where}.endPort: {port.end_port} must be within {number}-{MAX_PORT}")
        else:
            last = port.end_port
    return PortSpec(protocol, PortRange(number, last))
