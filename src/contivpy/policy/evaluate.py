"""Whether a packet passes policy tables: first match over one table, and a packet's way
through the cluster's nodes.

In: rules (a table, as ``tables`` builds them) and a :class:`Packet`; for a cluster, each
node's :class:`~contivpy.policy.tables.Rendering` and where each pod runs. Out: whether the
packet is admitted. The table semantics are VPP's ACL list: the first rule that matches decides,
and a packet no rule matches is dropped; no table at all lets everything through.

The way through (egress orientation, forward direction only — return traffic is the REFLECT
ACL's business): a packet between two pods of one node meets the destination pod's table on
that node; a packet leaving a pod's node meets that node's ``NODE-GLOBAL``, and, arriving at a
pod, that pod's table on its node.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contivpy.policy.facts import PodFacts
from contivpy.policy.rules import Action, Address, Proto, Rule, net_contains
from contivpy.policy.tables import Rendering


@dataclass(frozen=True, slots=True)
class Packet:
    """A packet's 5-tuple; ``protocol`` ``ANY`` stands for one without ports (ICMP)."""

    src: Address
    dst: Address
    protocol: Proto = Proto.TCP
    src_port: int = 0
    dst_port: int = 0

    @classmethod
    def of(
        cls, src: str, dst: str, protocol: Proto = Proto.TCP, dst_port: int = 0, src_port: int = 0
    ) -> Packet:
        return cls(
            ipaddress.ip_address(src), ipaddress.ip_address(dst), protocol, src_port, dst_port
        )


def matches(rule: Rule, packet: Packet) -> bool:
    """Whether ``rule`` matches ``packet`` (a portless packet only matches protocol ANY)."""
    if not (net_contains(rule.src, packet.src) and net_contains(rule.dst, packet.dst)):
        return False
    if rule.protocol is Proto.ANY:
        return packet.protocol is Proto.ANY or (
            packet.src_port in rule.src_ports and packet.dst_port in rule.dst_ports
        )
    return (
        rule.protocol is packet.protocol
        and packet.src_port in rule.src_ports
        and packet.dst_port in rule.dst_ports
    )


def first_match(rules: Iterable[Rule], packet: Packet) -> Rule | None:
    """The rule that decides ``packet`` (``None``: none matches)."""
    return next((rule for rule in rules if matches(rule, packet)), None)


def passes(rules: tuple[Rule, ...], packet: Packet) -> bool:
    """Whether one table admits ``packet`` (an empty table: no table, everything passes)."""
    if not rules:
        return True
    rule = first_match(rules, packet)
    return rule is not None and rule.action is Action.PERMIT


def cluster_passes(
    nodes: Mapping[str, Rendering], pods: Iterable[PodFacts], packet: Packet
) -> bool:
    """Whether ``packet`` gets from its source to its destination past every table on its way
    (``nodes``: each node's rendering; ``pods``: where each pod IP lives). Addresses that are
    no pod's are outside the cluster's pods (hosts, external)."""
    where: dict[Address, PodFacts] = {ip: pod for pod in pods for ip in pod.ips}
    src, dst = where.get(packet.src), where.get(packet.dst)
    if src is not None and dst is not None and src.node == dst.node:
        node = nodes.get(dst.node)
        return node is None or passes(node.table_of(dst.key), packet)
    if src is not None and src.node in nodes and not passes(nodes[src.node].global_rules, packet):
        return False
    if dst is not None and dst.node in nodes:
        return passes(nodes[dst.node].table_of(dst.key), packet)
    return True
