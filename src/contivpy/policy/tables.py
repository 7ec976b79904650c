"""The tables a node applies, from its local pods' rules: Contiv's renderer cache in egress
orientation.

In: each local pod's IPs and :class:`~contivpy.policy.configurator.PodRules`. Out: a
:class:`Rendering` — per isolated local pod the ID of its table, the tables by ID, and the
``NODE-GLOBAL`` table — and, between two renderings, the :class:`PolicyChanges`.

Why egress orientation: VPP runs the ingress ACLs of an interface before NAT's DNAT and the
egress ones after it, so only egress ACLs see a service's backend as the destination. Every
table therefore filters packets *leaving* the vswitch:

- A pod's table filters the traffic sent to it (it is applied on the egress of its
  interface): its ingress rules, and for every other local pod Q that is egress-isolated a
  block of rules for Q's addresses — the ports Q's egress rules (towards this pod) and this
  pod's ingress rules both admit, as explicit PERMITs per protocol and port range, then a
  DENY of the rest from Q. The pod's own rules for exactly Q's address are dropped (the block
  decides for it); a block's rules have the longest prefix, so they sort before every other
  rule that matches Q. A pod isolated by nothing, with no egress-isolated neighbours, has no
  table.
- ``NODE-GLOBAL`` filters what leaves the node (on its node-facing interfaces): each local
  egress-isolated pod's egress rules with the source set to its address, then PERMIT
  everything else. It exists only when some local pod is egress-isolated.
- Pods with identical tables share one, identified by a stable hash of its rules.

Source port ranges are always "all" in these rules (policies only name destination ports),
which the port-set arithmetic relies on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contivpy.policy.configurator import PodRules, Rules
from contivpy.policy.rules import (
    PERMIT_ALL,
    PORT_PROTOCOLS,
    Action,
    Address,
    PortRange,
    PortSet,
    Proto,
    Rule,
    host_net,
    net_contains,
    sorted_rules,
)

GLOBAL_TABLE = "NODE-GLOBAL"


def table_id(rules: Rules) -> str:
    """A stable ID of a table's rules (the same rules: the same ID, on every node and run):
    a hash of their order keys, which hold every field as integers (cheaper than text)."""
    text = repr([rule.key for rule in rules])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def allowed_ports(rules: Rules, src: Address, dst: Address, protocol: Proto) -> PortSet:
    """The destination ports first-match over ``rules`` admits from ``src`` to ``dst``
    (empty rules: not isolated, every port)."""
    if not rules:
        return PortSet.everything()
    remaining, permitted = PortSet.everything(), PortSet()
    for rule in rules:
        if rule.protocol is not protocol and rule.protocol is not Proto.ANY:
            continue
        if not (net_contains(rule.src, src) and net_contains(rule.dst, dst)):
            continue
        covered = remaining & PortSet.of(rule.dst_ports)
        if rule.action is Action.PERMIT:
            permitted = permitted | covered
        remaining = remaining - covered
        if not remaining:
            break
    return permitted


def allows_portless(rules: Rules, src: Address, dst: Address) -> bool:
    """Whether ``rules`` admit a packet of a protocol without ports (ICMP, ...)."""
    if not rules:
        return True
    for rule in rules:
        matches = net_contains(rule.src, src) and net_contains(rule.dst, dst)
        if rule.protocol is Proto.ANY and matches:
            return rule.action is Action.PERMIT
    return False


def block(ingress: Rules, ips: tuple[Address, ...], source: Address, egress: Rules) -> Rules:
    """The rules of a pod's table for traffic from ``source`` (an address of another local,
    egress-isolated pod with ``egress`` rules) to the pod (``ips``, ``ingress`` rules). Empty
    when the pod has no address of the source's family (nothing reaches it)."""
    targets = [ip for ip in ips if ip.version == source.version]
    if not targets:
        return ()
    src = host_net(source)
    permitted: dict[Proto, PortSet] = {}
    for protocol in PORT_PROTOCOLS:
        ports = PortSet.everything()
        for target in targets:
            ports = ports & allowed_ports(ingress, source, target, protocol)
            ports = ports & allowed_ports(egress, source, target, protocol)
        permitted[protocol] = ports
    portless = all(
        allows_portless(ingress, source, t) and allows_portless(egress, source, t) for t in targets
    )
    rules: list[Rule] = []
    for protocol, ports in permitted.items():
        if portless and ports.is_all:
            continue  # the PERMIT of every protocol below covers it
        for ports_range in ports:
            rules.append(Rule(Action.PERMIT, src, None, protocol, dst_ports=ports_range))
        if portless and not ports.is_all:
            rules.append(Rule(Action.DENY, src, None, protocol, dst_ports=PortRange()))
    rules.append(Rule(Action.PERMIT if portless else Action.DENY, src))
    return sorted_rules(rules)


def assemble(ingress: Rules, blocks: Iterable[tuple[Address, Rules]]) -> Rules:
    """A pod's table: its ingress rules and the blocks for its egress-isolated neighbours'
    addresses (``blocks``: (address, its block); see the module doc)."""
    blocks = [(source, rules) for source, rules in blocks if rules]
    if not blocks:
        return ingress
    present = {host_net(source) for source, _ in blocks}
    kept = [rule for rule in ingress or (PERMIT_ALL,) if rule.src not in present]
    return sorted_rules([*kept, *(r for _, rules in blocks for r in rules)])


def global_table(pods: Iterable[tuple[tuple[Address, ...], Rules]]) -> Rules:
    """``NODE-GLOBAL`` from the local pods' (IPs, egress rules); empty if none is
    egress-isolated."""
    rules: list[Rule] = []
    for ips, egress in pods:
        if not egress:
            continue
        for ip in ips:
            src = host_net(ip)
            for rule in egress:
                if rule.dst is None or rule.dst.version == ip.version:
                    rules.append(
                        Rule(
                            rule.action,
                            src,
                            rule.dst,
                            rule.protocol,
                            rule.src_ports,
                            rule.dst_ports,
                        )
                    )
    if not rules:
        return ()
    return sorted_rules([*rules, PERMIT_ALL])


@dataclass(frozen=True, slots=True)
class LocalPod:
    """A local pod as the tables see it."""

    ips: tuple[Address, ...]
    rules: PodRules


def pod_table(key: str, pods: Mapping[str, LocalPod]) -> Rules:
    """The table of local pod ``key`` among the local ``pods`` (empty: none)."""
    pod = pods[key]
    if not pod.ips:
        return ()
    blocks = [
        (source, block(pod.rules.ingress, pod.ips, source, other.rules.egress))
        for other_key, other in pods.items()
        if other_key != key and other.rules.egress
        for source in other.ips
    ]
    return assemble(pod.rules.ingress, blocks)


@dataclass(frozen=True, slots=True)
class Rendering:
    """What a node applies: per isolated local pod its table's ID, the tables by ID (only
    those some pod uses) and ``NODE-GLOBAL``'s rules (empty: no global table)."""

    pod_tables: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, Rules] = field(default_factory=dict)
    global_rules: Rules = ()

    def table_of(self, pod_key: str) -> Rules:
        """The rules applied on the way to a local pod (empty: none)."""
        table = self.pod_tables.get(pod_key)
        return self.tables[table] if table is not None else ()


def rendering(pods: Mapping[str, LocalPod]) -> Rendering:
    """The node's rendering from its local pods, computed whole."""
    pod_tables: dict[str, str] = {}
    tables: dict[str, Rules] = {}
    for key in pods:
        rules = pod_table(key, pods)
        if rules:
            table = table_id(rules)
            pod_tables[key] = table
            tables[table] = rules
    global_rules = global_table((p.ips, p.rules.egress) for p in pods.values() if p.ips)
    return Rendering(pod_tables, tables, global_rules)


@dataclass(frozen=True, slots=True)
class PolicyChanges:
    """What one change did to a node's rendering."""

    pods: frozenset[str] = frozenset()  # local pods whose table ID changed (or appeared/went)
    added_tables: frozenset[str] = frozenset()
    removed_tables: frozenset[str] = frozenset()
    global_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.pods or self.added_tables or self.removed_tables or self.global_changed)

    def __or__(self, other: PolicyChanges) -> PolicyChanges:
        """What this change and ``other`` after it changed."""
        if not self:
            return other
        return PolicyChanges(
            self.pods | other.pods,
            self.added_tables | other.added_tables,
            self.removed_tables | other.removed_tables,
            self.global_changed or other.global_changed,
        )


def changes(before: Rendering, after: Rendering) -> PolicyChanges:
    """The difference between two renderings."""
    keys = before.pod_tables.keys() | after.pod_tables.keys()
    return PolicyChanges(
        frozenset(k for k in keys if before.pod_tables.get(k) != after.pod_tables.get(k)),
        frozenset(after.tables.keys() - before.tables.keys()),
        frozenset(before.tables.keys() - after.tables.keys()),
        before.global_rules != after.global_rules,
    )
