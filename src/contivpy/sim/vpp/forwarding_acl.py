"""ACL evaluation for the packet walk: does an interface's input or output ACL list let a
packet through?

In: a VPP's :class:`~contivpy.sim.vpp.acl_state.AclState`, an interface, a direction and the
packet's :class:`Flow` (addresses, protocol, ports). Out: None when the packet passes, else
why it is denied; a packet permitted by a permit+reflect rule leaves a reflect session on
that interface (in the state, so later walks see it).

As VPP's acl plugin: a direction without a list passes everything; otherwise the packet is
first looked up in the interface's sessions (a session matches the flow that made it in its
own direction and its replies in the other), then the ACLs are evaluated in list order and
each ACL's rules in order, the first matching rule deciding; nothing matching is a deny. A
rule matches a packet of its family whose addresses are in its networks and, unless its
protocol is 0 (any, ports not looked at), whose protocol is the rule's, ports within its
ranges (ICMP: type and code) and TCP flags, masked, equal to the rule's value.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.sim.vpp.acl_state import AclState, FlowKey
from contivpy.vppcalls.acl import AclRule, Action
from contivpy.vppcalls.wire import IpAddress

PROTO_TCP = 6


@dataclass(frozen=True)
class Flow:
    """What the ACLs look at in a packet."""

    src: IpAddress
    dst: IpAddress
    protocol: int = 0
    src_port: int = 0
    dst_port: int = 0
    tcp_flags: int = 0


def _matches(rule: AclRule, flow: Flow) -> bool:
    if rule.src.version != flow.src.version:
        return False
    if flow.src not in rule.src or flow.dst not in rule.dst:
        return False
    if rule.proto == 0:
        return True
    if rule.proto != flow.protocol:
        return False
    if not rule.src_first <= flow.src_port <= rule.src_last:
        return False
    if not rule.dst_first <= flow.dst_port <= rule.dst_last:
        return False
    if flow.protocol != PROTO_TCP:
        return True
    return (flow.tcp_flags & rule.tcp_flags_mask) == rule.tcp_flags_value


def session_key(sw_if_index: int, is_input: bool, flow: Flow) -> FlowKey:
    """The session a packet of ``flow`` in this direction belongs to (replies of an input
    flow on output share its key, as VPP orders the tuple by direction)."""
    if is_input:
        return FlowKey(sw_if_index, flow.protocol, flow.src, flow.dst, flow.src_port, flow.dst_port)
    return FlowKey(sw_if_index, flow.protocol, flow.dst, flow.src, flow.dst_port, flow.src_port)


def denied(state: AclState, sw_if_index: int, is_input: bool, flow: Flow) -> str | None:
    """None when the interface's ACLs in this direction let ``flow`` through, else why not."""
    inputs, outputs = state.lists_of(sw_if_index)
    indexes = inputs if is_input else outputs
    if not indexes:
        return None
    key = session_key(sw_if_index, is_input, flow)
    if key in state.sessions:
        return None
    direction = "input" if is_input else "output"
    for index in indexes:
        acl = state.acls.get(index)
        if acl is None:
            continue
        for number, rule in enumerate(acl.rules):
            if not _matches(rule, flow):
                continue
            if rule.action == Action.DENY:
                return f"denied by {direction} ACL {acl.tag or index} rule {number}"
            if rule.action == Action.PERMIT_REFLECT:
                state.sessions.add(key)
            return None
    names = ", ".join(str(state.acls[i].tag or i) for i in indexes if i in state.acls)
    return f"no rule of the {direction} ACLs ({names}) permits it"
