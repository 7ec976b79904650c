"""The packet walk over simulated VPPs configured as Contiv vswitches: why packets are dropped.

Each test breaks one piece of a working Contiv vswitch through the typed vppcalls, then
checks the walk drops the packet where VPP would, saying why.
"""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import FibLookup, Outcome
from contivpy.vppcalls import bridge_domains, interface_ip, interfaces, l2fib, neighbors, routes
from contivpy.vppcalls import vxlan as vxlan_calls
from contivpy.vppcalls.routes import Route
from sim.vpp.cluster import Cluster
from sim.vpp.scenario import DECAP, IP_A, IP_B, NODE1, NODE2, POD_B, TAP_A, TAP_B, ref, trace_a
from sim.vpp.vswitch import POD_CIDR, POD_VRF, VNI, VXLAN_BD_ID, NodePlan


async def test_a_pod_deleted_on_node2_is_dropped_there(two_nodes: Cluster) -> None:
    await two_nodes.switches["node2"].delete_pod(POD_B, IP_B)

    trace = trace_a(two_nodes, IP_B)

    # Node 1 still routes the pod subnet to node 2; there only podGwLoop's connected /24
    # matches, and a loopback outside a bridge domain reaches nobody.
    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "node2"
    last = trace.hops[-1]
    assert isinstance(last, FibLookup)
    assert (last.prefix, last.origin) == (NODE2.pod_subnet, "connected")
    assert "podGwLoop" in trace.verdict.reason
    assert "no bridge domain" in trace.verdict.reason


async def test_a_pod_ip_no_node_serves_hits_the_cluster_drop_route(two_nodes: Cluster) -> None:
    trace = trace_a(two_nodes, NodePlan(9).pod_ip(1))

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "node1"
    assert trace.verdict.reason == f"DROP route {POD_CIDR} in table {POD_VRF}"


async def test_pods_of_a_node_gone_from_the_mesh_hit_the_cluster_drop_route(
    two_nodes: Cluster,
) -> None:
    node1 = two_nodes.switches["node1"]
    await routes.delete_route(node1.vpp, Route(NODE2.pod_subnet, (), POD_VRF))

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert (trace.verdict.node, trace.verdict.reason) == (
        "node1",
        f"DROP route {POD_CIDR} in table {POD_VRF}",
    )


async def test_without_the_drop_route_the_inter_vrf_routes_loop(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await routes.delete_route(node1.vpp, Route(POD_CIDR, (), POD_VRF))

    trace = trace_a(two_nodes, NodePlan(9).pod_ip(1))

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.reason.startswith("loop")
    tables = [hop.table for hop in trace.hops if isinstance(hop, FibLookup)]
    assert tables[:4] == [POD_VRF, 0, POD_VRF, 0]


async def test_missing_arp_for_the_remote_bvi_drops(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await neighbors.delete_neighbor(node1.vpp, node1.remote_bvi_arp(NODE2))

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "node1"
    bvi = ref(two_nodes, "node1", naming.VXLAN_BVI)
    assert trace.verdict.reason == f"no ARP entry for {NODE2.bvi_ip.ip} on {bvi}"


async def test_missing_l2fib_entry_for_the_remote_bvi_drops(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await l2fib.delete_l2fib_entry(node1.vpp, node1.remote_bvi_l2fib(NODE2))

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "node1"
    assert trace.verdict.reason == (
        f"no L2 FIB entry for {NODE2.bvi_mac} in bd {VXLAN_BD_ID} (vxlanBD) "
        "(unknown-unicast flood off)"
    )


async def test_an_admin_down_ingress_tap_drops(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await interfaces.set_admin_state(node1.vpp, node1.ifaces[TAP_A], False)

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.reason == f"{ref(two_nodes, 'node1', TAP_A)} is admin down"
    assert trace.hops == ()


async def test_an_admin_down_destination_tap_drops(two_nodes: Cluster) -> None:
    node2 = two_nodes.switches["node2"]
    await interfaces.set_admin_state(node2.vpp, node2.ifaces[TAP_B], False)

    trace = trace_a(two_nodes, IP_B)

    assert (trace.verdict.node, trace.verdict.reason) == (
        "node2",
        f"{ref(two_nodes, 'node2', TAP_B)} is admin down",
    )


async def test_an_admin_down_tunnel_drops(two_nodes: Cluster) -> None:
    node2 = two_nodes.switches["node2"]
    await interfaces.set_admin_state(node2.vpp, node2.ifaces[naming.vxlan_tunnel(1)], False)

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.node == "node2"
    assert trace.verdict.reason.endswith("is admin down")
    assert trace.hops[-1].kind is DECAP


async def test_a_bvi_out_of_its_bridge_domain_drops(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    bvi = node1.ifaces[naming.VXLAN_BVI]
    await bridge_domains.remove_port(
        node1.vpp, bridge_domains.BridgeDomainPort(bvi, VXLAN_BD_ID, bvi=True)
    )

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.node == "node1"
    assert "is a loopback in no bridge domain" in trace.verdict.reason


async def test_a_receiver_without_the_mirrored_tunnel_drops(two_nodes: Cluster) -> None:
    node2 = two_nodes.switches["node2"]
    await vxlan_calls.delete_vxlan_tunnel(
        node2.vpp, vxlan_calls.VxlanTunnel(NODE2.node_ip.ip, NODE1.node_ip.ip, VNI)
    )
    await vxlan_calls.create_vxlan_tunnel(
        node2.vpp, vxlan_calls.VxlanTunnel(NODE2.node_ip.ip, NODE1.node_ip.ip, VNI + 1)
    )

    trace = trace_a(two_nodes, IP_B)

    assert (trace.verdict.node, trace.verdict.reason) == (
        "node2",
        f"no VXLAN tunnel {NODE2.node_ip.ip} -> {NODE1.node_ip.ip} with VNI {VNI} to decapsulate",
    )


async def test_a_tunnel_to_an_address_no_node_holds_goes_nowhere(two_nodes: Cluster) -> None:
    node2 = two_nodes.switches["node2"]
    nic = node2.ifaces["GigabitEthernet0/a/0"]
    await interface_ip.delete_address(node2.vpp, nic, NODE2.node_ip)
    await interface_ip.add_address(node2.vpp, nic, ipaddress.IPv4Interface("192.168.16.200/24"))

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.node == "node1"
    assert trace.verdict.reason.startswith(f"no node holds {NODE2.node_ip.ip} (table 0)")


async def test_traffic_to_the_internet_without_a_gateway_is_dropped(two_nodes: Cluster) -> None:
    trace = trace_a(two_nodes, "8.8.8.8")

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.reason == "no route to 8.8.8.8 in table 0 (VPP's 0.0.0.0/0 drop)"


async def test_a_tap_that_is_not_unnumbered_has_no_ip(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    await interface_ip.clear_unnumbered(
        node1.vpp, node1.ifaces[TAP_A], node1.ifaces[naming.POD_GW_LOOP]
    )

    trace = trace_a(two_nodes, IP_B)

    assert trace.verdict.reason.startswith("IPv4 is not enabled on")


async def test_unknown_interface_drops_and_bad_input_is_refused(two_nodes: Cluster) -> None:
    trace = two_nodes.fabric.trace("node1", "vpp-tap-nope", IP_A, IP_B)
    assert trace.verdict.reason == "no interface 'vpp-tap-nope'"

    with pytest.raises(ValueError, match="no node 'node7'"):
        two_nodes.fabric.trace("node7", TAP_A, IP_A, IP_B)
    with pytest.raises(ValueError, match="different families"):
        two_nodes.fabric.trace("node1", TAP_A, IP_A, "fd00::1")


async def test_a_hop_limit_shorter_than_the_path_reports_a_loop(two_nodes: Cluster) -> None:
    short = Fabric(two_nodes.fabric.nodes, max_hops=5)

    trace = short.trace("node1", TAP_A, IP_A, IP_B)

    assert trace.verdict.reason == "loop: more than 5 hops"
    assert len(trace.hops) == 5


async def test_bridging_from_one_tunnel_into_another_breaks_split_horizon(
    three_nodes: Cluster,
) -> None:
    # Node 1 resolves node 2's BVI to a MAC that node 2 bridges on to node 3: the frame would
    # leave node 2 through a tunnel of the group it came in by.
    stray_mac = "02:00:00:00:00:99"
    node1, node2 = three_nodes.switches["node1"], three_nodes.switches["node2"]
    await neighbors.add_neighbor(
        node1.vpp,
        neighbors.IpNeighbor(node1.ifaces[naming.VXLAN_BVI], NODE2.bvi_ip.ip, stray_mac),
    )
    to_node2 = node1.ifaces[naming.vxlan_tunnel(2)]
    await l2fib.add_l2fib_entry(node1.vpp, l2fib.L2FibEntry(VXLAN_BD_ID, stray_mac, to_node2))
    to_node3 = node2.ifaces[naming.vxlan_tunnel(3)]
    await l2fib.add_l2fib_entry(node2.vpp, l2fib.L2FibEntry(VXLAN_BD_ID, stray_mac, to_node3))

    trace = trace_a(three_nodes, IP_B)

    assert trace.verdict.outcome is Outcome.DROPPED
    assert trace.verdict.node == "node2"
    from_node1 = ref(three_nodes, "node2", naming.vxlan_tunnel(1))
    towards_node3 = ref(three_nodes, "node2", naming.vxlan_tunnel(3))
    assert trace.verdict.reason == (
        f"split horizon: {from_node1} and {towards_node3} are both in group 1 of bd 1 (vxlanBD)"
    )
