"""The packet walk through ACLs, laid out as Contiv does: each isolated pod's policy on the
output of its tap (traffic to the pod), a REFLECTION ACL (permit+reflect any) on its input,
set through the API on Contiv vswitches.

First match wins, nothing matching denies, a direction without a list passes, and a reply
to a connection a permit+reflect rule let out passes an output ACL that would deny it.
"""

from __future__ import annotations

import ipaddress

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import find_interface
from contivpy.sim.vpp.forwarding_trace import Outcome, Trace
from contivpy.vppcalls import acl
from contivpy.vppcalls.acl import AclRule, Action
from sim.vpp.cluster import Cluster
from sim.vpp.scenario import IP_A, IP_A2, IP_B, POD_A2, TAP_A, TAP_B, trace_a

TCP = 6
NET = ipaddress.ip_network
ANY = NET("0.0.0.0/0")
REFLECT = AclRule(Action.PERMIT_REFLECT, ANY, ANY)
DENY_ALL = AclRule(Action.DENY, ANY, ANY)
TAP_A2 = naming.pod_vpp_tap(POD_A2)


def _host(ip: object) -> ipaddress.IPv4Network:
    return NET(f"{ip}/32")


async def _apply(
    cluster: Cluster, node: str, tap: str, inputs: list[list[AclRule]], outputs: list[list[AclRule]]
) -> None:
    vpp = cluster.switches[node].vpp
    iface = find_interface(cluster.fabric.state(node), tap)
    assert iface is not None
    ins = [await acl.add_acl(vpp, f"in-{tap}-{i}", rules) for i, rules in enumerate(inputs)]
    outs = [await acl.add_acl(vpp, f"out-{tap}-{i}", rules) for i, rules in enumerate(outputs)]
    await acl.set_interface_acls(vpp, iface.sw_if_index, ins, outs)


def _tcp(
    cluster: Cluster, node: str, tap: str, src: object, dst: object, sport: int, dport: int
) -> Trace:
    return cluster.fabric.trace(
        node, tap, str(src), str(dst), protocol=TCP, src_port=sport, dst_port=dport
    )


async def test_a_pods_policy_admits_only_what_it_permits(two_nodes: Cluster) -> None:
    web_from_a = AclRule(Action.PERMIT, _host(IP_A), _host(IP_B), TCP, 0, 65535, 80, 80)
    await _apply(two_nodes, "node2", TAP_B, [[REFLECT]], [[web_from_a]])

    assert _tcp(two_nodes, "node1", TAP_A, IP_A, IP_B, 40000, 80).verdict.outcome is (
        Outcome.DELIVERED
    )
    wrong_port = _tcp(two_nodes, "node1", TAP_A, IP_A, IP_B, 40000, 22)
    assert wrong_port.verdict.outcome is Outcome.DROPPED
    assert wrong_port.verdict.node == "node2"
    assert TAP_B in wrong_port.verdict.reason
    assert "no rule of the output ACLs" in wrong_port.verdict.reason
    other_pod = _tcp(two_nodes, "node1", TAP_A2, IP_A2, IP_B, 40000, 80)
    assert other_pod.verdict.outcome is Outcome.DROPPED
    # ACLs look at protocol and ports: a packet with neither matches no TCP rule
    assert trace_a(two_nodes, IP_B).verdict.outcome is Outcome.DROPPED
    # B's own traffic out is only reflected, never denied
    assert _tcp(two_nodes, "node2", TAP_B, IP_B, IP_A, 50000, 22).verdict.outcome is (
        Outcome.DELIVERED
    )


async def test_the_first_matching_rule_decides_and_an_empty_acl_denies(two_nodes: Cluster) -> None:
    deny_a = AclRule(Action.DENY, _host(IP_A), ANY)
    permit_all = AclRule(Action.PERMIT, ANY, ANY)
    await _apply(two_nodes, "node2", TAP_B, [], [[deny_a, permit_all]])
    from_a = _tcp(two_nodes, "node1", TAP_A, IP_A, IP_B, 1, 80)
    assert from_a.verdict.outcome is Outcome.DROPPED
    assert "denied by output ACL" in from_a.verdict.reason
    a2 = _tcp(two_nodes, "node1", TAP_A2, IP_A2, IP_B, 1, 80)
    assert a2.verdict.outcome is Outcome.DELIVERED

    # a list holding an ACL without rules denies everything in its direction
    await _apply(two_nodes, "node2", TAP_B, [], [[]])
    assert a2_again(two_nodes).verdict.outcome is Outcome.DROPPED
    # no list at all passes everything
    iface = find_interface(two_nodes.fabric.state("node2"), TAP_B)
    assert iface is not None
    await acl.set_interface_acls(two_nodes.switches["node2"].vpp, iface.sw_if_index, [], [])
    assert a2_again(two_nodes).verdict.outcome is Outcome.DELIVERED


async def test_replies_pass_by_the_session_a_reflect_rule_made(two_nodes: Cluster) -> None:
    # A is isolated (admits nothing), B admits everything
    await _apply(two_nodes, "node1", TAP_A, [[REFLECT]], [[DENY_ALL]])

    # nothing from B reaches A before A opened a connection
    reply = _tcp(two_nodes, "node2", TAP_B, IP_B, IP_A, 80, 40000)
    assert reply.verdict.outcome is Outcome.DROPPED
    assert reply.verdict.node == "node1"
    assert "denied by output ACL" in reply.verdict.reason
    # A connects to B: its tap's input reflects, and the reply passes A's output ACL
    assert _tcp(two_nodes, "node1", TAP_A, IP_A, IP_B, 40000, 80).verdict.outcome is (
        Outcome.DELIVERED
    )
    reply = _tcp(two_nodes, "node2", TAP_B, IP_B, IP_A, 80, 40000)
    assert reply.verdict.outcome is Outcome.DELIVERED
    # only that connection's replies: another connection from B is still denied
    other = _tcp(two_nodes, "node2", TAP_B, IP_B, IP_A, 80, 40001)
    assert other.verdict.outcome is Outcome.DROPPED
    # the session goes with the tap's lists
    iface = find_interface(two_nodes.fabric.state("node1"), TAP_A)
    assert iface is not None
    await acl.set_interface_acls(two_nodes.switches["node1"].vpp, iface.sw_if_index, [], [])
    assert two_nodes.fabric.state("node1").acl.sessions == set()


def a2_again(cluster: Cluster) -> Trace:
    return _tcp(cluster, "node1", TAP_A2, IP_A2, IP_B, 1, 80)
