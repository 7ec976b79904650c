"""What the ACL renderer puts in VPP for a node's policy tables (Contiv's ACL renderer, egress
orientation). Pure functions.

In: the policy processor's tables (``policy.tables``: rules by table ID, ``NODE-GLOBAL``'s
rules), which table each local pod uses, the local pods' VPP interfaces and the node-facing
interfaces. Out: ACL values keyed by their scheduler keys (``models/vpp_acl.py``,
docs/POLICIES.md):

- per table an ``Acl`` named ``contiv-policy-<table ID>`` (the ID is a hash of the rules, so
  pods with identical tables share one ACL and a name always means the same rules);
  ``contiv-policy-NODE-GLOBAL`` with the global rules; ``contiv-policy-REFLECTION``, one
  permit+reflect rule per family;
- per isolated pod an ``AclInterfaces`` on its VPP interface: ``output`` (what VPP sends to
  the pod, after NAT's DNAT, so a service's backend is seen) its table's ACL, ``input``
  REFLECTION (permits everything and remembers it, so replies to the pod's permitted
  connections pass the output ACLs they meet);
- while a global table exists, the node-facing interfaces (main interface, host
  interconnect, VXLAN BVI) the same way with ``NODE-GLOBAL`` on output.

A rule whose source or destination is any address becomes one rule per family (``0.0.0.0/0``
and ``::/0``) as Contiv did, also on IPv4-only nodes: ``NODE-GLOBAL`` sits on the main
interface, which may carry the host's IPv6, and dropping the ``::/0`` variant of its final
PERMIT would cut it off. A rule with networks of two families (never built) matches nothing
and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contivpy.events.types import Config
from contivpy.models.vpp_acl import (
    ANY_IP4,
    ANY_IP6,
    PROTO_ANY,
    PROTO_SCTP,
    PROTO_TCP,
    PROTO_UDP,
    Acl,
    AclAction,
    AclInterfaces,
    AclRule,
)
from contivpy.models.vpp_acl import PortRange as AclPorts
from contivpy.models.vpp_keys import acl_interface_key, acl_key
from contivpy.policy.configurator import Rules
from contivpy.policy.rules import Action, Net, PortRange, Proto, Rule
from contivpy.policy.tables import GLOBAL_TABLE

ACL_PREFIX = "contiv-policy-"
GLOBAL_ACL = ACL_PREFIX + GLOBAL_TABLE
REFLECTION_ACL = ACL_PREFIX + "REFLECTION"

_PROTOCOLS = {Proto.TCP: PROTO_TCP, Proto.UDP: PROTO_UDP, Proto.SCTP: PROTO_SCTP}
_ACTIONS = {Action.PERMIT: AclAction.PERMIT, Action.DENY: AclAction.DENY}
_ANY = {4: ANY_IP4, 6: ANY_IP6}


def table_acl(table: str) -> str:
    """The ACL name of a pod table."""
    return ACL_PREFIX + table


def acl_rules(rules: Rules) -> tuple[AclRule, ...]:
    """A table's rules as ACL rules, in the table's order (see the module doc)."""
    found: list[AclRule] = []
    for rule in rules:
        found.extend(_acl_rules(rule))
    return tuple(found)


def _acl_rules(rule: Rule) -> list[AclRule]:
    families = {net.version for net in (rule.src, rule.dst) if net is not None}
    if len(families) > 1:
        return []
    protocol = _PROTOCOLS.get(rule.protocol, PROTO_ANY)
    # ports mean nothing to VPP for protocol 0; the defaults keep the value canonical
    src_ports = _ports(rule.src_ports) if protocol else AclPorts()
    dst_ports = _ports(rule.dst_ports) if protocol else AclPorts()
    return [
        AclRule(
            _ACTIONS[rule.action],
            _net(rule.src, family),
            _net(rule.dst, family),
            protocol,
            src_ports,
            dst_ports,
        )
        for family in (sorted(families) or (4, 6))
    ]


def _net(net: Net | None, family: int) -> str:
    return _ANY[family] if net is None else str(net)


def _ports(ports: PortRange) -> AclPorts:
    return AclPorts(ports.first, ports.last)


def table_value(table: str, rules: Rules) -> Acl:
    """A pod table's ACL."""
    return Acl(table_acl(table), acl_rules(rules))


def global_value(rules: Rules) -> Acl:
    """``NODE-GLOBAL``'s ACL."""
    return Acl(GLOBAL_ACL, acl_rules(rules))


REFLECTION = Acl(
    REFLECTION_ACL,
    (
        AclRule(AclAction.REFLECT, ANY_IP4, ANY_IP4),
        AclRule(AclAction.REFLECT, ANY_IP6, ANY_IP6),
    ),
)


def pod_interface(interface: str, table: str) -> AclInterfaces:
    """An isolated pod's interface: its table on what VPP sends it, REFLECTION on what the
    pod sends."""
    return AclInterfaces(interface, input=(REFLECTION_ACL,), output=(table_acl(table),))


def node_interface(interface: str) -> AclInterfaces:
    """A node-facing interface while a global table exists."""
    return AclInterfaces(interface, input=(REFLECTION_ACL,), output=(GLOBAL_ACL,))


def render_all(
    pod_tables: Mapping[str, str],
    tables: Mapping[str, Rules],
    global_rules: Rules,
    interfaces: Mapping[str, str],
    node_interfaces: Iterable[str],
) -> Config:
    """Everything from scratch: ``pod_tables`` (pod -> table ID) and ``tables`` as the policy
    processor renders them, ``interfaces`` (pod -> its VPP interface; a pod without one is
    not wired yet and gets nothing), the node-facing interfaces. Only ACLs some interface
    names are in it."""
    config: Config = {}
    for pod, table in pod_tables.items():
        interface = interfaces.get(pod)
        if interface is None:
            continue
        config[acl_interface_key(interface)] = pod_interface(interface, table)
        config[acl_key(table_acl(table))] = table_value(table, tables[table])
    nodes = list(node_interfaces)
    if global_rules and nodes:
        for interface in nodes:
            config[acl_interface_key(interface)] = node_interface(interface)
        config[acl_key(GLOBAL_ACL)] = global_value(global_rules)
    if config:
        config[acl_key(REFLECTION_ACL)] = REFLECTION
    return config
