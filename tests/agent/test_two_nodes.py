"""Two node agents sharing etcd: they find each other through nodesync, build the VXLAN mesh,
and a packet from a pod on one node reaches a pod on the other (walked through what both
simulated VPPs hold)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import HopKind
from doubles.agent_nodes import Node, eventually, pod_request


async def test_pods_on_two_nodes_reach_each_other_over_vxlan(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent1 = await one.start_agent()
    agent2 = await two.start_agent()
    await eventually(lambda: bool(agent1.nodesync.others()) and bool(agent2.nodesync.others()))
    await agent1.loop.wait_idle()
    await agent2.loop.wait_idle()
    a = pod_request("a")
    b = pod_request("b")
    ip_a = (await agent1.cni.add(a)).ips[0].address.split("/")[0]
    ip_b = (await agent2.cni.add(b)).ips[0].address.split("/")[0]
    assert {agent1.nodesync.node_id, agent2.nodesync.node_id} == {1, 2}

    fabric = Fabric({"node-1": one.sim.state, "node-2": two.sim.state})
    there = fabric.trace("node-1", naming.pod_vpp_tap(a.container_id), ip_a, ip_b)
    assert there.delivered, there.render()
    assert there.verdict.node == "node-2"
    assert ("node-1", HopKind.ENCAP) in there.steps()
    back = fabric.trace("node-2", naming.pod_vpp_tap(b.container_id), ip_b, ip_a)
    assert back.delivered, back.render()

    # Node 2 goes away: node 1 removes its tunnel, and traffic to node 2's pods is dropped
    # by the cluster DROP route instead of being sent into the void.
    await two.stop_agent()
    await agent1.store.delete("/vnf-agent/contiv-ksr/allocatedIDs/2")
    await eventually(lambda: not agent1.nodesync.others())
    await agent1.loop.wait_idle()
    gone = Fabric({"node-1": one.sim.state}).trace(
        "node-1", naming.pod_vpp_tap(a.container_id), ip_a, ip_b
    )
    assert not gone.delivered
    assert "drop" in gone.verdict.reason.lower()
