"""The packet walk over simulated VPPs configured as Contiv vswitches: where packets arrive.

Each test drives real simulators through the typed vppcalls (``vswitch.py``), then asks the
:class:`~contivpy.sim.vpp.forwarding.Fabric` where a packet from a pod would go. Drops and
their reasons: ``test_forwarding_drops.py``.
"""

from __future__ import annotations

import ipaddress

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding_trace import (
    ArpLookup,
    FibLookup,
    L2Lookup,
    PathTaken,
    Rx,
    Tx,
    VxlanDecap,
    VxlanEncap,
)
from contivpy.vppcalls import interface_ip, routes
from contivpy.vppcalls.routes import Route, RoutePath
from sim.vpp.cluster import Cluster, StartCluster
from sim.vpp.scenario import (
    ACROSS_TWO_NODES,
    ARP,
    DECAP,
    FIB,
    IP_A,
    IP_A2,
    IP_B,
    IP_C,
    NODE1,
    NODE2,
    NODE3,
    POD_A,
    POD_A2,
    POD_B,
    POD_C,
    RX,
    TAP_A,
    TAP_B,
    TX,
    ref,
    trace_a,
)
from sim.vpp.vswitch import POD_VRF, VNI, VXLAN_BD_ID


async def test_pod_to_pod_across_nodes_is_delivered_through_vxlan(two_nodes: Cluster) -> None:
    trace = trace_a(two_nodes, IP_B)

    assert trace.delivered, trace.render()
    assert trace.verdict.node == "node2"
    assert trace.verdict.interface == ref(two_nodes, "node2", TAP_B)
    assert trace.steps() == ACROSS_TWO_NODES
    bvi1, bvi2 = ref(two_nodes, "node1", naming.VXLAN_BVI), ref(two_nodes, "node2", "vxlanBVI")
    to_node2 = ref(two_nodes, "node1", naming.vxlan_tunnel(2))
    from_node1 = ref(two_nodes, "node2", naming.vxlan_tunnel(1))
    nic1, nic2 = (
        ref(two_nodes, "node1", "GigabitEthernet0/a/0"),
        ref(two_nodes, "node2", "GigabitEthernet0/a/0"),
    )
    node1_ip, node2_ip, bvi2_ip = NODE1.node_ip.ip, NODE2.node_ip.ip, NODE2.bvi_ip.ip
    assert list(trace.hops) == [
        Rx("node1", ref(two_nodes, "node1", TAP_A), POD_VRF),
        FibLookup(
            "node1", POD_VRF, IP_B, NODE2.pod_subnet, PathTaken("normal", bvi1, bvi2_ip), 1, "api"
        ),
        ArpLookup("node1", bvi1, bvi2_ip, NODE2.bvi_mac),
        L2Lookup("node1", VXLAN_BD_ID, naming.VXLAN_BD, NODE2.bvi_mac, to_node2, bvi=False),
        VxlanEncap("node1", to_node2, VNI, node1_ip, node2_ip),
        FibLookup(
            "node1", 0, node2_ip, NODE2.node_ip.network, PathTaken("normal", nic1), 1, "connected"
        ),
        Rx("node2", nic2, 0),
        VxlanDecap("node2", from_node1, VNI, node1_ip, node2_ip),
        L2Lookup("node2", VXLAN_BD_ID, naming.VXLAN_BD, NODE2.bvi_mac, bvi2, bvi=True),
        Rx("node2", bvi2, POD_VRF),
        FibLookup(
            "node2",
            POD_VRF,
            IP_B,
            ipaddress.ip_network(f"{IP_B}/32"),
            PathTaken("normal", ref(two_nodes, "node2", TAP_B), IP_B),
            1,
            "api",
        ),
        ArpLookup("node2", ref(two_nodes, "node2", TAP_B), IP_B, naming.pod_mac(POD_B)),
        Tx("node2", ref(two_nodes, "node2", TAP_B), IP_B),
    ]


async def test_render_is_one_line_per_hop_and_the_verdict(two_nodes: Cluster) -> None:
    text = trace_a(two_nodes, IP_B).render()

    lines = text.splitlines()
    assert len(lines) == 1 + len(ACROSS_TWO_NODES) + 1
    assert lines[0] == f"{IP_A} -> {IP_B} from node1 {TAP_A}"
    assert "encap  vxlan_tunnel0 (vxlan-default-2) vni 10 192.168.16.1 -> 192.168.16.2" in text
    assert lines[-1] == f"DELIVERED at node2: {ref(two_nodes, 'node2', TAP_B)}"


async def test_pod_to_pod_on_the_same_node_is_delivered_locally(two_nodes: Cluster) -> None:
    trace = trace_a(two_nodes, IP_A2)

    assert trace.delivered, trace.render()
    assert trace.verdict.interface == ref(two_nodes, "node1", naming.pod_vpp_tap(POD_A2))
    assert trace.steps() == [("node1", RX), ("node1", FIB), ("node1", ARP), ("node1", TX)]


async def test_the_way_back_is_delivered_too(two_nodes: Cluster) -> None:
    trace = two_nodes.fabric.trace("node2", TAP_B, IP_B, IP_A)

    assert trace.delivered, trace.render()
    assert trace.verdict.interface == ref(two_nodes, "node1", TAP_A)


async def test_a_pod_reaches_another_nodes_address_through_the_inter_vrf_routes(
    two_nodes: Cluster,
) -> None:
    trace = trace_a(two_nodes, NODE2.node_ip.ip)

    assert trace.delivered, trace.render()
    assert trace.verdict.node == "node2"
    assert trace.verdict.reason == "local: for VPP itself"
    fib = [(h.node, h.table, h.origin) for h in trace.hops if isinstance(h, FibLookup)]
    assert fib == [("node1", POD_VRF, "api"), ("node1", 0, "connected"), ("node2", 0, "local")]


async def test_a_pod_reaches_its_host_through_the_interconnect(two_nodes: Cluster) -> None:
    trace = trace_a(two_nodes, NODE1.host_subnet.network_address + 2)

    assert trace.delivered, trace.render()
    assert trace.verdict.interface == ref(two_nodes, "node1", naming.HOST_INTERCONNECT_VPP)


async def test_a_multipath_route_follows_the_first_path_and_says_so(two_nodes: Cluster) -> None:
    node1 = two_nodes.switches["node1"]
    extra = RoutePath.via_interface(node1.ifaces[naming.VXLAN_BVI], NODE2.bvi_ip.ip + 100)
    await routes.add_path(node1.vpp, POD_VRF, NODE2.pod_subnet, extra)

    trace = trace_a(two_nodes, IP_B)

    assert trace.delivered, trace.render()
    first = trace.hops[1]
    assert isinstance(first, FibLookup)
    assert first.multipath
    assert first.paths == 2
    assert "(multipath: first of 2)" in trace.render()


async def test_the_vpp_name_works_as_well_as_the_logical_name(two_nodes: Cluster) -> None:
    by_tag = trace_a(two_nodes, IP_B)
    by_name = two_nodes.fabric.trace(
        "node1", ref(two_nodes, "node1", TAP_A).name, str(IP_A), str(IP_B)
    )

    assert by_name.hops == by_tag.hops
    assert by_name.verdict == by_tag.verdict


async def test_every_pod_reaches_every_other_in_a_full_mesh(three_nodes: Cluster) -> None:
    pods = {"node1": (POD_A, IP_A), "node2": (POD_B, IP_B), "node3": (POD_C, IP_C)}
    for src_node, (src_pod, src_ip) in pods.items():
        for dst_node, (dst_pod, dst_ip) in pods.items():
            tap = naming.pod_vpp_tap(src_pod)
            trace = three_nodes.fabric.trace(src_node, tap, src_ip, dst_ip)
            assert trace.delivered, trace.render()
            assert trace.verdict.node == dst_node
            assert trace.verdict.interface == ref(
                three_nodes, dst_node, naming.pod_vpp_tap(dst_pod)
            )
            # straight to the destination node: no transit through the third one
            assert {node for node, _ in trace.steps()} == {src_node, dst_node}


async def test_a_route_via_another_nodes_bvi_transits_it(three_nodes: Cluster) -> None:
    node1 = three_nodes.switches["node1"]
    via_node2 = RoutePath.via_interface(node1.ifaces[naming.VXLAN_BVI], NODE2.bvi_ip.ip)
    await routes.add_route(node1.vpp, Route(NODE3.pod_subnet, (via_node2,), POD_VRF))

    trace = trace_a(three_nodes, IP_C)

    assert trace.delivered, trace.render()
    assert trace.verdict.node == "node3"
    assert [node for node, kind in trace.steps() if kind is DECAP] == ["node2", "node3"]
    # node 2 routes it again from its BVI: unicast from a BVI may enter the tunnels
    assert ("node2", FIB) in trace.steps()


async def test_ipv6_between_two_interfaces_of_one_node(start_cluster: StartCluster) -> None:
    cluster = await start_cluster(1)
    node1 = cluster.switches["node1"]
    tap_a = node1.ifaces[naming.HOST_INTERCONNECT_VPP]
    tap_b = await node1.add_pod(POD_A, IP_A)
    await interface_ip.clear_unnumbered(node1.vpp, tap_b, node1.ifaces[naming.POD_GW_LOOP])
    await interface_ip.set_interface_vrf(node1.vpp, tap_b, 0, ipv6=False)
    await interface_ip.add_address(node1.vpp, tap_a, ipaddress.IPv6Interface("fd00:1::1/64"))
    await interface_ip.add_address(node1.vpp, tap_b, ipaddress.IPv6Interface("fd00:2::1/64"))

    trace = cluster.fabric.trace("node1", naming.HOST_INTERCONNECT_VPP, "fd00:1::2", "fd00:2::5")

    assert trace.delivered, trace.render()
    assert trace.verdict.interface == ref(cluster, "node1", TAP_A)
    fib = trace.hops[1]
    assert isinstance(fib, FibLookup)
    assert (fib.prefix, fib.origin) == (ipaddress.ip_network("fd00:2::/64"), "connected")
