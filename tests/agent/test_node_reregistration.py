"""A Kubernetes Node deleted and added again, with a real reflector between the stand-in
API server and etcd, and two node agents (real etcd, VPP simulators): the reflector frees
the node's ID, and the node's agent claims it again once the Node is back, so the other node
builds its tunnel to it again and pods on the two nodes reach each other once more."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from contivpy.agent.node_agent import NodeAgent
from contivpy.controllers import naming
from contivpy.models.k8s_codec import VppNode, decode
from contivpy.reflector import ReflectorSettings
from contivpy.settings import InterfaceSettings
from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.store.settings import StoreSettings
from doubles.agent_nodes import Node, eventually, pod_request
from reflector.harness import KSR, running
from reflector.harness import eventually as until

NIC = "GigabitEthernet0/a/0"  # every simulated VPP has it


@pytest.fixture
async def kube() -> AsyncIterator[KubeApiStandIn]:
    async with KubeApiStandIn(settings=ApiServerSettings(bookmark_interval=0.2)) as standin:
        yield standin


def reflector_settings(
    kube: KubeApiStandIn, tmp_path: Path, store: StoreSettings
) -> ReflectorSettings:
    return ReflectorSettings(
        kubeconfig=kube.write_kubeconfig(tmp_path / "kubeconfig"),
        store=store,
        identity="r1",
        kinds=("namespace", "node", "pod"),
        election_ttl=5,
        status_interval=0.1,
        retry_max=0.3,
        missing_kind_retry=0.3,
    )


def has_tunnel_to(node: Node, node_id: int) -> bool:
    """The node's VPP holds the VXLAN tunnel to the node with that ID."""
    tunnel = naming.vxlan_tunnel(node_id)
    return any(iface.tag == tunnel for iface in node.sim.state.interfaces.values())


async def id_records(agent: NodeAgent) -> dict[int, str]:
    """What etcd holds under allocatedIDs/: node name by ID."""
    listing = await agent.store.list(KSR + "allocatedIDs/")
    records = {}
    for item in listing.items:
        decoded = decode(item.key[len(KSR) :], item.value)
        assert decoded is not None
        assert isinstance(decoded.model, VppNode)
        records[decoded.model.id] = decoded.model.name
    return records


async def test_a_node_deleted_and_added_again_registers_again_with_its_id(
    make_node: Callable[[str], Awaitable[Node]],
    kube: KubeApiStandIn,
    tmp_path: Path,
    store_settings: StoreSettings,
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    for node in (one, two):
        node.interfaces = InterfaceSettings(main_interface=NIC)
    kube.register_node("node-1", "192.168.16.1")
    kube.register_node("node-2", "192.168.16.2")
    async with running(reflector_settings(kube, tmp_path, store_settings)):
        agent1 = await one.start_agent()
        agent2 = await two.start_agent()
        assert (agent1.nodesync.node_id, agent2.nodesync.node_id) == (1, 2)
        await eventually(lambda: has_tunnel_to(one, 2) and has_tunnel_to(two, 1))
        a, b = pod_request("a"), pod_request("b")
        ip_a = (await agent1.cni.add(a)).ips[0].address.split("/")[0]
        ip_b = (await agent2.cni.add(b)).ips[0].address.split("/")[0]
        tap_a = naming.pod_vpp_tap(a.container_id)

        def delivered() -> bool:
            fabric = Fabric({"node-1": one.sim.state, "node-2": two.sim.state})
            return fabric.trace("node-1", tap_a, ip_a, ip_b).delivered

        assert delivered()

        kube.delete("v1", "Node", "node-2")
        await eventually(lambda: not has_tunnel_to(one, 2))
        assert await id_records(agent1) == {1: "node-1"}  # the reflector freed ID 2
        assert not delivered()

        kube.register_node("node-2", "192.168.16.2")
        await eventually(lambda: has_tunnel_to(one, 2))
        assert await id_records(agent1) == {1: "node-1", 2: "node-2"}
        assert agent2.nodesync.node_id == 2  # the same ID: its pods keep their addresses
        assert [n.id for n in agent1.nodesync.others()] == [2]
        await agent1.loop.wait_idle()
        await agent2.loop.wait_idle()
        assert delivered()


async def test_an_id_record_deleted_while_the_node_exists_is_claimed_again_at_once(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent1 = await one.start_agent()
    agent2 = await two.start_agent()
    await eventually(lambda: has_tunnel_to(one, 2))
    await agent1.store.delete(KSR + "allocatedIDs/2")  # by hand; the Node was not deleted

    async def claimed_again() -> bool:
        return await id_records(agent1) == {1: "node-1", 2: "node-2"}

    await until(claimed_again)

    def seen_again() -> bool:  # node 1 has seen the record go and come back
        created = "vppnode allocatedIDs/2 created"
        records = agent1.history.records()
        return sum(r.description.startswith(created) for r in records) >= 2

    await eventually(seen_again)
    await agent1.loop.wait_idle()
    assert agent2.nodesync.node_id == 2
    assert [n.id for n in agent1.nodesync.others()] == [2]
    assert has_tunnel_to(one, 2)


async def test_a_node_whose_id_was_taken_meanwhile_claims_another_and_rewires(
    make_node: Callable[[str], Awaitable[Node]],
    kube: KubeApiStandIn,
    tmp_path: Path,
    store_settings: StoreSettings,
) -> None:
    one, two, three = [await make_node(f"node-{index}") for index in (1, 2, 3)]
    for index in (1, 2, 3):
        kube.register_node(f"node-{index}", f"192.168.16.{index}")
    async with running(reflector_settings(kube, tmp_path, store_settings)):
        agent1 = await one.start_agent()
        agent2 = await two.start_agent()
        await eventually(lambda: has_tunnel_to(one, 2) and has_tunnel_to(two, 1))
        kube.delete("v1", "Node", "node-2")
        await eventually(lambda: not has_tunnel_to(one, 2))
        agent3 = await three.start_agent()  # takes the smallest free ID: node 2's
        assert agent3.nodesync.node_id == 2
        # node 2 still uses ID 2 (unregistered) and builds no tunnel to node 3's ID 2.
        await agent2.loop.wait_idle()
        assert not has_tunnel_to(two, 2)

        kube.register_node("node-2", "192.168.16.2")
        await eventually(lambda: agent2.nodesync.node_id == 3)
        await eventually(lambda: has_tunnel_to(one, 3) and has_tunnel_to(one, 2))
        assert await id_records(agent1) == {1: "node-1", 2: "node-3", 3: "node-2"}
        await eventually(lambda: has_tunnel_to(two, 1) and has_tunnel_to(two, 2))
        await agent2.loop.wait_idle()
        # node 2 re-addressed itself for ID 3: a pod there gets an address of ID 3's subnet
        ip = (await agent2.cni.add(pod_request("after"))).ips[0].address
        assert ip.startswith("10.1.3."), ip
