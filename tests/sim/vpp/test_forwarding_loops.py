"""The packet walk reports forwarding loops as failures.

Each test builds a looping configuration directly in the simulators (typed vppcalls on a
working Contiv vswitch) and checks the walk ends DROPPED with ``looped`` set, saying why.
The first is what crashed two real VPPs (issue 9, item 10): Contiv's routes for the other
node's management address, when that address is also the VXLAN tunnel's destination, send
the tunnel's own packets back into the tunnel.
"""

from __future__ import annotations

import ipaddress

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding_trace import FibLookup, Outcome, VxlanEncap
from contivpy.vppcalls import routes
from contivpy.vppcalls.routes import Route, RoutePath
from sim.vpp.cluster import Cluster
from sim.vpp.scenario import IP_B, IP_C, NODE1, NODE2, NODE3, ref, trace_a
from sim.vpp.vswitch import MAIN_VRF, POD_VRF, Vswitch


async def route_through_overlay(switch: Vswitch, address: object, via_bvi: object) -> None:
    """What Contiv renders for another node's management address: main VRF -> pod VRF, and
    in the pod VRF via that node's BVI."""
    host = ipaddress.ip_network(f"{address}/32")
    bvi = switch.ifaces[naming.VXLAN_BVI]
    await routes.add_route(switch.vpp, Route(host, (RoutePath.via_vrf(POD_VRF),), MAIN_VRF))
    via = RoutePath.via_interface(bvi, ipaddress.ip_address(str(via_bvi)))
    await routes.add_route(switch.vpp, Route(host, (via,), POD_VRF))


async def test_a_tunnel_whose_endpoint_is_routed_into_it_loops(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await route_through_overlay(node1, NODE2.node_ip.ip, NODE2.bvi_ip.ip)

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.looped, trace.render()
    assert trace.verdict.node == "node1"
    to_node2 = ref(two_nodes, "node1", naming.vxlan_tunnel(2))
    assert trace.verdict.reason.startswith(
        f"loop: the VXLAN packet to {NODE2.node_ip.ip} re-enters {to_node2}"
    )
    encaps = [hop for hop in trace.hops if isinstance(hop, VxlanEncap)]
    assert [(hop.node, hop.tunnel) for hop in encaps] == [("node1", to_node2)] * 2
    # the outer packet went main VRF -> pod VRF -> the BVI, never onto the wire
    fib = [(hop.table, hop.prefix) for hop in trace.hops if isinstance(hop, FibLookup)]
    endpoint = ipaddress.ip_network(f"{NODE2.node_ip.ip}/32")
    assert fib[-2:] == [(MAIN_VRF, endpoint), (POD_VRF, endpoint)]


async def test_a_pod_pinging_that_endpoint_loops_too(two_nodes: Cluster) -> None:
    await route_through_overlay(two_nodes.switches["node1"], NODE2.node_ip.ip, NODE2.bvi_ip.ip)

    trace = trace_a(two_nodes, NODE2.node_ip.ip)

    assert trace.looped, trace.render()
    assert trace.verdict.node == "node1"


async def test_the_endpoint_routed_into_the_overlay_in_the_pod_vrf_only_is_no_loop(
    two_nodes: Cluster,
) -> None:
    # Only the main VRF decides where the tunnel's own packets go (its encap VRF).
    node1 = two_nodes.switches["node1"]
    host = ipaddress.ip_network(f"{NODE2.node_ip.ip}/32")
    via = RoutePath.via_interface(node1.ifaces[naming.VXLAN_BVI], NODE2.bvi_ip.ip)
    await routes.add_route(node1.vpp, Route(host, (via,), POD_VRF))

    to_pod = trace_a(two_nodes, IP_B)
    to_node = trace_a(two_nodes, NODE2.node_ip.ip)

    assert to_pod.delivered, to_pod.render()
    assert to_node.delivered, to_node.render()
    assert (to_node.verdict.node, to_node.verdict.reason) == ("node2", "local: for VPP itself")
    assert not to_pod.looped


async def test_an_endpoint_routed_into_another_tunnel_is_refused(three_nodes: Cluster) -> None:
    node1 = three_nodes.switches["node1"]
    await route_through_overlay(node1, NODE2.node_ip.ip, NODE3.bvi_ip.ip)

    trace = trace_a(three_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert not trace.looped
    assert trace.verdict.node == "node1"
    assert trace.verdict.reason.endswith("VXLAN in VXLAN is not modelled")
    # pod C's traffic goes through the tunnel to node 3, whose endpoint is not rerouted
    assert trace_a(three_nodes, IP_C).delivered


async def test_two_nodes_routing_an_address_to_each_other_loop_until_the_hop_limit(
    two_nodes: Cluster,
) -> None:
    nowhere = ipaddress.ip_network("10.200.0.9/32")
    node1, node2 = two_nodes.switches["node1"], two_nodes.switches["node2"]
    for switch, other in ((node1, NODE2), (node2, NODE1)):
        via = RoutePath.via_interface(switch.ifaces[naming.VXLAN_BVI], other.bvi_ip.ip)
        await routes.add_route(switch.vpp, Route(nowhere, (via,), POD_VRF))

    trace = trace_a(two_nodes, nowhere.network_address)

    assert trace.looped, trace.render()
    assert trace.verdict.reason == f"loop: more than {two_nodes.fabric.max_hops} hops"
    assert {hop.node for hop in trace.hops if isinstance(hop, VxlanEncap)} == {"node1", "node2"}
