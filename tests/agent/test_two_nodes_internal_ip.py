"""Two node agents whose Kubernetes Nodes have their interconnect address as InternalIP (as
the project's simulated nodes do): pods reach each other across the VXLAN mesh, and no
packet loops (issue 9, item 10: two real VPPs crashed on that loop).

Contiv routes another node's management IP through the overlay; when it is also the VXLAN
tunnel's destination, VPP would encapsulate its own tunnel packets again and again. Such an
address gets no overlay route; a management IP that is no tunnel endpoint keeps one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from contivpy.controllers import naming
from contivpy.models.k8s_codec import Node as KubeNode
from contivpy.models.k8s_codec import NodeAddress, encode, key_of
from contivpy.settings import InterfaceSettings
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import HopKind
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request

KSR = "/vnf-agent/contiv-ksr/"
NIC = "GigabitEthernet0/a/0"  # every simulated VPP has it
EXTERNAL_IP_2 = "10.20.0.2"  # node 2's other management address: not a tunnel endpoint


async def register(node: Node, internal_ip: str, *extra: NodeAddress) -> None:
    """The Kubernetes Node as a kubelet registers it (reflected into etcd)."""
    model = KubeNode(name=node.name, addresses=[NodeAddress("InternalIP", internal_ip), *extra])
    await node.store.put(KSR + key_of(model), encode(model))


def routes_to(state: VppState, address: str) -> list[tuple[int, str]]:
    """(table, prefix) of every API route in VPP for exactly ``address``."""
    host = ipaddress.ip_network(f"{address}/32")
    return [
        (table, str(prefix))
        for (is_ip6, table), table_routes in state.routes.items()
        for prefix in table_routes
        if not is_ip6 and prefix == host
    ]


async def test_internal_ip_equal_to_the_interconnect_address_does_not_loop(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    for node in (one, two):  # a NIC, so the underlay carries plain packets too
        node.interfaces = InterfaceSettings(main_interface=NIC)
    await register(one, "192.168.16.1")
    await register(two, "192.168.16.2", NodeAddress("ExternalIP", EXTERNAL_IP_2))
    agent1 = await one.start_agent()
    agent2 = await two.start_agent()
    assert (agent1.nodesync.node_id, agent2.nodesync.node_id) == (1, 2)

    def meshed() -> bool:
        other1, other2 = agent1.nodesync.others(), agent2.nodesync.others()
        return (
            [n.mgmt_addresses for n in other1] == [("192.168.16.2", EXTERNAL_IP_2)]
            and [n.mgmt_addresses for n in other2] == [("192.168.16.1",)]
            and all(n.vpp_addresses for n in (*other1, *other2))
        )

    await eventually(meshed)
    await agent1.loop.wait_idle()
    await agent2.loop.wait_idle()
    a, b = pod_request("a"), pod_request("b")
    ip_a = (await agent1.cni.add(a)).ips[0].address.split("/")[0]
    ip_b = (await agent2.cni.add(b)).ips[0].address.split("/")[0]

    # What VPP holds: no route for the tunnel's far end, Contiv's overlay route for the
    # management IP that is no endpoint.
    assert routes_to(one.sim.state, "192.168.16.2") == []
    assert routes_to(two.sim.state, "192.168.16.1") == []
    assert sorted(routes_to(one.sim.state, EXTERNAL_IP_2)) == [
        (0, f"{EXTERNAL_IP_2}/32"),
        (1, f"{EXTERNAL_IP_2}/32"),
    ]

    fabric = Fabric({"node-1": one.sim.state, "node-2": two.sim.state})
    tap_a, tap_b = naming.pod_vpp_tap(a.container_id), naming.pod_vpp_tap(b.container_id)
    for start, tap, src, dst, far in (
        ("node-1", tap_a, ip_a, ip_b, "node-2"),
        ("node-2", tap_b, ip_b, ip_a, "node-1"),
    ):
        trace = fabric.trace(start, tap, src, dst)
        assert trace.delivered, trace.render()
        assert not trace.looped
        assert trace.verdict.node == far
        assert [step for step in trace.steps() if step[1] is HopKind.ENCAP] == [
            (start, HopKind.ENCAP)
        ]
    # a pod reaches the other node's address, which is its underlay address, too
    to_node2 = fabric.trace("node-1", tap_a, ip_a, "192.168.16.2")
    assert to_node2.delivered, to_node2.render()
    assert (to_node2.verdict.node, to_node2.verdict.reason) == ("node-2", "local: for VPP itself")
