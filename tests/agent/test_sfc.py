"""ServiceFunctionChains and ExternalInterfaces rendered by node agents (real etcd, VPP
simulators): what each vswitch holds for a chain on one node and across two, re-routing when
an instance goes away, invalid chains and external interface entries refused without
disturbing the rest, and restarts that write nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from contivpy.agent.node_agent import NodeAgent
from contivpy.cni.types import CniRequest
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.models.k8s_codec import (
    ExternalInterface,
    NetworkType,
    NodeInterface,
    Pod,
    ServiceFunction,
    ServiceFunctionChain,
    ServiceFunctionType,
    encode,
    key_for,
)
from contivpy.models.node_reports import ReportedObject, decode_report, report_key
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.model import Interface, Kind
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.subinterfaces import VtrOp
from doubles.agent_nodes import Node, eventually, pod_request

STUB_TAP = {"contivpp.io/custom-if": "tap1/tap/stub"}


def by_tag(state: VppState) -> dict[str, Interface]:
    return {i.tag: i for i in state.interfaces.values() if i.tag}


def xconnects(state: VppState) -> dict[str, str]:
    """receive interface -> transmit interface, by logical names."""
    names = {i.sw_if_index: i.tag or i.name for i in state.interfaces.values()}
    return {
        names[i.sw_if_index]: names[i.xconnect_to]
        for i in state.interfaces.values()
        if i.xconnect_to is not None
    }


async def wire_pod(
    node: Node, name: str, labels: dict[str, str], annotations: dict[str, str] = STUB_TAP
) -> CniRequest:
    """A pod as Kubernetes runs it on ``node``: reflected, ADDed, then reflected with its IP."""
    agent = node.agent
    assert agent is not None
    pod = Pod(
        name=name, namespace="default", labels=labels, annotations=annotations, node_name=node.name
    )
    key = node.prefix + key_for("pod", name, "default")
    await node.store.put(key, encode(pod))
    await eventually(lambda: agent.pods.reflected(PodID("default", name)))
    request = pod_request(name)
    result = await agent.cni.add(request)
    pod.ip_address = result.ips[0].address.split("/")[0]
    await node.store.put(key, encode(pod))
    return request


async def put_chain(node: Node, chain: ServiceFunctionChain) -> None:
    await node.store.put(
        node.prefix + key_for("servicefunctionchain", chain.name, chain.namespace), encode(chain)
    )


def element(selector: str, interface: str = "tap1", **extra: str) -> ServiceFunction:
    return ServiceFunction(
        name=selector,
        type=ServiceFunctionType.POD,
        pod_selector={"cnf": selector},
        interface="" if extra else interface,
        input_interface=extra.get("input", ""),
        output_interface=extra.get("output", ""),
    )


def chain(
    name: str, *elements: ServiceFunction, unidirectional: bool = False
) -> ServiceFunctionChain:
    return ServiceFunctionChain(
        name=name, namespace="default", unidirectional=unidirectional, chain=list(elements)
    )


async def one_node_two_cnfs(
    make_node: Callable[[str], Awaitable[Node]],
) -> tuple[Node, NodeAgent, tuple[CniRequest, CniRequest]]:
    """A node with its agent and two wired CNF pods (labels cnf=one, cnf=two; a stub tap1)."""
    node = await make_node("node-1")
    agent = await node.start_agent()
    one = await wire_pod(node, "cnf1", {"cnf": "one"})
    two = await wire_pod(node, "cnf2", {"cnf": "two"})
    return node, agent, (one, two)


def tap(request: CniRequest) -> str:
    return naming.custom_vpp_tap("tap1", request.container_id)


async def test_a_chain_on_one_node_cross_connects_the_taps_both_ways_and_goes_with_it(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node, agent, (one, two) = await one_node_two_cnfs(make_node)
    await put_chain(node, chain("linux-chain", element("one"), element("two")))
    await eventually(lambda: len(xconnects(node.sim.state)) == 2)
    await agent.loop.wait_idle()
    assert xconnects(node.sim.state) == {tap(one): tap(two), tap(two): tap(one)}
    assert agent.sfc.paths["default/linux-chain"].rendered

    # An agent restart rewrites nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes
    assert xconnects(node.sim.state) == {tap(one): tap(two), tap(two): tap(one)}

    await node.store.delete(node.prefix + key_for("servicefunctionchain", "linux-chain", "default"))
    await eventually(lambda: not xconnects(node.sim.state))
    await agent.loop.wait_idle()
    assert {tap(one), tap(two)} <= set(by_tag(node.sim.state))  # the pods' taps stay


async def test_a_unidirectional_chain_cross_connects_one_way(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node, _, (one, two) = await one_node_two_cnfs(make_node)
    await put_chain(node, chain("c", element("one"), element("two"), unidirectional=True))
    await eventually(lambda: bool(xconnects(node.sim.state)))
    assert xconnects(node.sim.state) == {tap(one): tap(two)}


async def test_the_chain_moves_to_a_replica_when_its_pod_goes_and_only_that_hop_changes(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    annotations = {"contivpp.io/custom-if": "in1/tap/stub, out1/tap/stub"}
    first = await wire_pod(node, "a-first", {"cnf": "one"})
    middle = await wire_pod(node, "b-middle", {"cnf": "mid"}, annotations)
    spare = await wire_pod(node, "c-spare", {"cnf": "mid"}, annotations)
    last = await wire_pod(node, "d-last", {"cnf": "three"})
    await put_chain(
        node,
        chain("c", element("one"), element("mid", input="in1", output="out1"), element("three")),
    )
    await eventually(lambda: len(xconnects(node.sim.state)) == 4)
    await agent.loop.wait_idle()

    def via(request: CniRequest) -> dict[str, str]:
        cid = request.container_id
        a, b = naming.custom_vpp_tap("in1", cid), naming.custom_vpp_tap("out1", cid)
        return {tap(first): a, a: tap(first), b: tap(last), tap(last): b}

    assert xconnects(node.sim.state) == via(middle)  # b-middle sorts before c-spare
    # the chosen middle pod is deleted in Kubernetes: the chain moves to the spare
    await node.store.delete(node.prefix + key_for("pod", "b-middle", "default"))
    await eventually(lambda: xconnects(node.sim.state) == via(spare))
    await agent.loop.wait_idle()
    assert "c-spare" in agent.sfc.paths["default/c"].describe()


async def test_an_invalid_chain_is_refused_and_the_others_keep_working(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node, agent, (one, two) = await one_node_two_cnfs(make_node)
    await put_chain(node, chain("good", element("one"), element("two")))
    bad = ServiceFunctionChain(
        name="bad",
        namespace="default",
        chain=[ServiceFunction(name="x", type=ServiceFunctionType.POD, interface="tap1")],
    )
    await put_chain(node, bad)
    await eventually(lambda: "default/bad" in agent.sfc.problems)
    await eventually(lambda: len(xconnects(node.sim.state)) == 2)
    problems = " ".join(agent.sfc.problems["default/bad"])
    assert "spec.chain[0] ('x').podSelector" in problems
    assert "at least two" in problems
    assert xconnects(node.sim.state) == {tap(one): tap(two), tap(two): tap(one)}


async def test_two_chains_never_share_an_interface(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node, agent, (one, two) = await one_node_two_cnfs(make_node)
    await put_chain(node, chain("a-chain", element("one"), element("two")))
    await put_chain(node, chain("b-chain", element("two"), element("one")))
    await eventually(lambda: "default/b-chain" in agent.sfc.paths)
    await agent.loop.wait_idle()
    assert xconnects(node.sim.state) == {tap(one): tap(two), tap(two): tap(one)}
    assert "used by chain default/a-chain" in agent.sfc.paths["default/b-chain"].reason


async def test_a_chain_across_two_nodes_uses_one_vxlan_tunnel_per_end_with_one_vni(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent1, agent2 = await one.start_agent(), await two.start_agent()
    await eventually(lambda: bool(agent1.nodesync.others()) and bool(agent2.nodesync.others()))
    a = await wire_pod(one, "cnf1", {"cnf": "one"})
    b = await wire_pod(two, "cnf2", {"cnf": "two"})
    await put_chain(one, chain("span", element("one"), element("two")))
    name = naming.sfc_tunnel("span", 0)
    await eventually(lambda: name in xconnects(one.sim.state) and name in xconnects(two.sim.state))
    await agent1.loop.wait_idle()
    await agent2.loop.wait_idle()
    assert xconnects(one.sim.state)[tap(a)] == name
    assert xconnects(one.sim.state)[name] == tap(a)
    assert xconnects(two.sim.state)[tap(b)] == name
    assert xconnects(two.sim.state)[name] == tap(b)
    t1, t2 = by_tag(one.sim.state)[name], by_tag(two.sim.state)[name]
    assert t1.kind is Kind.VXLAN
    assert t1.vxlan is not None
    assert t2.vxlan is not None
    assert t1.vxlan.vni == t2.vxlan.vni >= 5000
    assert (t1.vxlan.src, t1.vxlan.dst) == (t2.vxlan.dst, t2.vxlan.src)
    # etcd holds the VNI under the tunnel's name, once
    record = (await one.store.get(one.prefix + f"idalloc/vni/label/{name}")).item
    assert record is not None
    assert json.loads(record.value)["id"] == t1.vxlan.vni

    # restarts of both agents write nothing
    for node in (one, two):
        await node.stop_agent()
        writes = node.sim.writes()
        await node.start_agent()
        assert node.sim.writes() == writes


async def test_external_interfaces_make_vlan_subinterfaces_and_refuse_bad_entries(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    nic = "GigabitEthernet0/a/0"

    async def put(name: str, *entries: NodeInterface) -> None:
        model = ExternalInterface(
            name=name, namespace="default", type=NetworkType.L2, nodes=list(entries)
        )
        await node.store.put(
            node.prefix + key_for("external-interface", name, "default"), encode(model)
        )

    await put("vlan-200", NodeInterface(node="node-1", vpp_interface_name=nic, vlan=200))
    await put("vlan-300", NodeInterface(node="node-1", vpp_interface_name=nic, vlan=300))
    await put("again-200", NodeInterface(node="node-1", vpp_interface_name=nic, vlan=200))
    await put("too-high", NodeInterface(node="node-1", vpp_interface_name=nic, vlan=4095))
    await put("elsewhere", NodeInterface(node="node-9", vpp_interface_name=nic, vlan=400))
    await eventually(lambda: f"{nic}.300" in by_tag(node.sim.state))
    await eventually(lambda: "default/too-high" in agent.extif.problems)
    await agent.loop.wait_idle()
    found = by_tag(node.sim.state)
    sub = found[f"{nic}.200"]
    assert sub.kind is Kind.SUB
    assert sub.admin_up
    parent = next(i for i in node.sim.state.interfaces.values() if i.name == nic)
    assert parent.admin_up
    assert not parent.addresses
    subs = {i.name for i in node.sim.state.interfaces.values() if i.kind is Kind.SUB}
    assert subs == {f"{nic}.200", f"{nic}.300"}  # not 400 (another node's), not 4095
    # the first by namespace/name keeps VLAN 200; the other is told who has it
    assert "default/again-200" not in agent.extif.problems
    assert agent.extif.problems["default/vlan-200"] == [
        "ExternalInterface default/vlan-200 spec.nodes[0]: VLAN 200 of GigabitEthernet0/a/0 on "
        "node node-1 is already used by ExternalInterface default/again-200 spec.nodes[0]"
    ]
    assert "vlan 4095: outside 1..4094" in agent.extif.problems["default/too-high"][0]


async def test_a_chain_between_two_vlans_pops_the_tag_in_and_pushes_the_other_out(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    nic = "GigabitEthernet0/a/0"
    for vlan in (200, 300):
        name = f"vlan-{vlan}"
        model = ExternalInterface(
            name=name,
            namespace="default",
            type=NetworkType.L2,
            nodes=[NodeInterface(node="node-1", vpp_interface_name=nic, vlan=vlan)],
        )
        await node.store.put(
            node.prefix + key_for("external-interface", name, "default"), encode(model)
        )
    vlans = chain(
        "vlans",
        *(
            ServiceFunction(
                name=f"vlan-{vlan}",
                type=ServiceFunctionType.EXTERNAL_INTERFACE,
                interface=f"vlan-{vlan}",
            )
            for vlan in (200, 300)
        ),
    )
    state = node.sim.state

    def popping() -> set[str]:
        return {i.name for i in state.interfaces.values() if i.tag_rewrite.op is VtrOp.POP_1}

    await put_chain(node, vlans)
    await eventually(lambda: len(popping()) == 2)
    await agent.loop.wait_idle()
    assert xconnects(state) == {f"{nic}.200": f"{nic}.300", f"{nic}.300": f"{nic}.200"}
    assert popping() == {f"{nic}.200", f"{nic}.300"}
    # a frame from VLAN 200 crosses the chain untagged and leaves the NIC tagged 300
    walk = Fabric({"node-1": state}).trace_frame("node-1", nic, "1.2.3.4", "1.2.3.5", vlan=200)
    assert walk.delivered, walk.render()
    assert walk.verdict.interface is not None
    assert (walk.verdict.interface.name, walk.verdict.vlan) == (f"{nic}.300", 300)

    # An agent restart rewrites nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes

    # Without the chain the sub-interfaces are back in L3, where VPP keeps no rewrite; when
    # the chain comes back the rewrite is applied again.
    chain_key = node.prefix + key_for("servicefunctionchain", "vlans", "default")
    await node.store.delete(chain_key)
    await eventually(lambda: not xconnects(state))
    await agent.loop.wait_idle()
    assert popping() == set()
    await put_chain(node, vlans)
    await eventually(lambda: len(popping()) == 2)
    await agent.loop.wait_idle()
    assert len(xconnects(state)) == 2


async def test_a_nic_this_node_lacks_is_reported_for_the_status_and_the_report_goes_with_it(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    model = ExternalInterface(
        name="phantom",
        namespace="default",
        type=NetworkType.L2,
        nodes=[NodeInterface(node="node-1", vpp_interface_name="GigabitEthernet9/9/9", vlan=7)],
    )
    key = node.prefix + key_for("external-interface", "phantom", "default")
    await node.store.put(key, encode(model))
    report = node.prefix + report_key(
        "node-1", ReportedObject("external-interface", "default", "phantom")
    )

    async def reported() -> list[str] | None:
        found = (await node.store.get(report)).item
        return decode_report(found.value) if found is not None else None

    for _ in range(200):
        if await reported():
            break
        await asyncio.sleep(0.05)
    problems = await reported()
    assert problems is not None
    assert len(problems) == 1
    assert problems[0].startswith(
        "ExternalInterface default/phantom spec.nodes[0]: GigabitEthernet9/9/9.7 on node node-1: "
    )
    assert "GigabitEthernet9/9/9" in problems[0].split("node-1: ", 1)[1]
    assert agent.loop.history.records()  # the agent goes on

    await node.store.delete(key)
    for _ in range(200):
        if await reported() is None:
            break
        await asyncio.sleep(0.05)
    assert await reported() is None
