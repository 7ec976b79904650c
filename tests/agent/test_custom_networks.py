"""CustomNetworks rendered by node agents (real etcd, VPP simulators): an L3 network's VRF,
gateway, BVI, tunnels and routes on two nodes with pods in it that reach each other in that
VRF and not from the default network; an L2 network's bridge domain; refused networks; the
VNI and VRF released with the network."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable

import pytest

from contivpy.cni.types import CniError, CniRequest, CniResult
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.events.types import HealingResync
from contivpy.models.k8s_codec import CustomNetwork, NetworkType, Pod, encode, key_for
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.model import Interface, Kind
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request


def by_tag(state: VppState) -> dict[str, Interface]:
    return {i.tag: i for i in state.interfaces.values() if i.tag}


async def put_network(node: Node, network: CustomNetwork) -> None:
    key = node.prefix + key_for("customnetwork", network.name, network.namespace)
    await node.store.put(key, encode(network))


async def wire(node: Node, name: str, annotation: str) -> tuple[CniRequest, CniResult]:
    agent = node.agent
    assert agent is not None
    pod = Pod(
        name=name,
        namespace="default",
        annotations={"contivpp.io/custom-if": annotation},
        node_name=node.name,
    )
    await node.store.put(node.prefix + key_for("pod", name, "default"), encode(pod))
    await eventually(lambda: agent.pods.reflected(PodID("default", name)))
    request = pod_request(name)
    return request, await agent.cni.add(request)


NET1 = CustomNetwork(
    name="net1",
    namespace="default",
    type=NetworkType.L3,
    subnet_cidr="10.200.0.0/16",
    subnet_one_node_prefix_len=24,
)


async def two_nodes(make_node: Callable[[str], Awaitable[Node]]) -> tuple[Node, Node]:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent1, agent2 = await one.start_agent(), await two.start_agent()
    await eventually(lambda: bool(agent1.nodesync.others()) and bool(agent2.nodesync.others()))
    return one, two


async def test_pods_in_an_l3_network_reach_each_other_in_its_vrf_and_not_from_the_default(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await two_nodes(make_node)
    await put_network(one, NET1)
    for node in (one, two):
        agent = node.agent
        assert agent is not None
        await eventually(lambda agent=agent: "net1" in agent.networks.joinable())  # type: ignore[misc]
    a, result_a = await wire(one, "a", "net1/tap/net1")
    _, result_b = await wire(two, "b", "net1/tap/net1")
    ip_a = result_a.ips[1].address.split("/")[0]
    ip_b = result_b.ips[1].address.split("/")[0]
    assert ipaddress.ip_address(ip_a) in ipaddress.ip_network("10.200.1.0/24")
    assert ipaddress.ip_address(ip_b) in ipaddress.ip_network("10.200.2.0/24")
    assert result_a.ips[1].gateway == "10.200.1.1"
    for node in (one, two):
        assert node.agent is not None
        await node.agent.loop.wait_idle()

    vpp1 = by_tag(one.sim.state)
    loop = vpp1["podGwLoop-net1"]
    vrf = loop.vrf4
    assert vrf >= 10  # from the vrf pool
    assert [str(x) for x in loop.addresses] == ["10.200.1.1/24"]
    bvi = vpp1["vxlanBVI-net1"]
    assert bvi.vrf4 == vrf
    tunnel1 = vpp1[naming.vxlan_tunnel(2, "net1")]
    tunnel2 = by_tag(two.sim.state)[naming.vxlan_tunnel(1, "net1")]
    assert tunnel1.kind is Kind.VXLAN
    assert tunnel1.vxlan is not None
    assert tunnel2.vxlan is not None
    assert tunnel1.vxlan.vni == tunnel2.vxlan.vni >= 5000
    assert tunnel1.vxlan.vni != 10  # not the default network's
    tap_a = vpp1[naming.custom_vpp_tap("net1", a.container_id)]
    assert tap_a.vrf4 == vrf
    assert tap_a.unnumbered_of == loop.sw_if_index
    # both nodes agree on the VRF and VNI: etcd holds one record of each
    vni = await one.store.get(one.prefix + "idalloc/vni/label/network-net1")
    vrf_record = await one.store.get(one.prefix + "idalloc/vrf/label/net1")
    assert vni.item is not None
    assert json.loads(vni.item.value)["id"] == tunnel1.vxlan.vni
    assert vrf_record.item is not None
    assert json.loads(vrf_record.item.value)["id"] == vrf
    assert by_tag(two.sim.state)["podGwLoop-net1"].vrf4 == vrf

    fabric = Fabric({"node-1": one.sim.state, "node-2": two.sim.state})
    over_net1 = fabric.trace("node-1", naming.custom_vpp_tap("net1", a.container_id), ip_a, ip_b)
    assert over_net1.delivered, over_net1.render()
    assert over_net1.verdict.node == "node-2"
    assert "vxlanBVI-net1" in over_net1.render()
    # from a's main interface (the default network) net1's addresses are not reachable
    eth0 = naming.pod_vpp_tap(a.container_id)
    from_default = fabric.trace("node-1", eth0, result_a.ips[0].address.split("/")[0], ip_b)
    assert not from_default.delivered, from_default.render()

    # restarts write nothing, and the pods keep their net1 addresses
    for node in (one, two):
        await node.stop_agent()
        writes = node.sim.writes()
        await node.start_agent()
        assert node.sim.writes() == writes
    assert one.agent is not None
    assert str(one.agent.ipam.custom_ips_of(PodID("default", "a"))["net1"]) == ip_a


async def test_an_l2_network_bridges_its_pods_and_tunnels(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, _ = await two_nodes(make_node)
    await put_network(one, CustomNetwork(name="l2net", namespace="default", type=NetworkType.L2))
    agent = one.agent
    assert agent is not None
    await eventually(lambda: "l2net" in agent.networks.joinable())
    a, result = await wire(one, "a", "l2if/tap/l2net")
    assert len(result.ips) == 1  # eth0's only: an L2 network gives no IP
    await agent.loop.wait_idle()
    state = one.sim.state
    tap = by_tag(state)[naming.custom_vpp_tap("l2if", a.container_id)]
    tunnel = by_tag(state)[naming.vxlan_tunnel(2, "l2net")]
    bd = next(b for b in state.bridge_domains.values() if b.settings.tag == "l2net")
    assert bd.settings.learn
    assert bd.settings.flood
    assert bd.settings.uu_flood
    assert {tap.sw_if_index, tunnel.sw_if_index} <= set(bd.members)
    assert bd.members[tap.sw_if_index].shg == 0
    assert bd.members[tunnel.sw_if_index].shg == 1
    assert tap.vrf4 == 0
    assert not tap.addresses


async def test_a_refused_network_cannot_be_joined_and_a_deleted_one_gives_its_ids_back(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    bad = CustomNetwork(
        name="bad",
        namespace="default",
        type=NetworkType.L3,
        subnet_cidr="10.1.0.0/16",  # the pod subnet
        subnet_one_node_prefix_len=24,
    )
    await put_network(node, bad)
    await put_network(node, NET1)
    await eventually(lambda: "net1" in agent.networks.joinable())
    await eventually(lambda: "default/bad" in agent.networks.problems)
    assert "overlaps the pod subnet" in agent.networks.problems["default/bad"][0]
    pod = Pod(
        name="joiner",
        namespace="default",
        annotations={"contivpp.io/custom-if": "n1/tap/bad"},
        node_name="node-1",
    )
    await node.store.put(node.prefix + key_for("pod", "joiner", "default"), encode(pod))
    await eventually(lambda: agent.pods.reflected(PodID("default", "joiner")))
    with pytest.raises(CniError) as refused:
        await agent.cni.add(pod_request("joiner"))
    assert "entry 'n1/tap/bad'" in refused.value.message

    member, _ = await wire(node, "member", "n1/tap/net1")
    assert "n1" in agent.ipam.custom_ips_of(PodID("default", "member"))
    # a full resync in between (every controller re-learns what it holds from etcd)
    healed = await agent.loop.push_and_wait(HealingResync(error="test"))
    assert healed.error == ""
    await node.store.delete(node.prefix + key_for("customnetwork", "net1", "default"))
    await eventually(lambda: "net1" not in agent.networks.joinable())
    await agent.loop.wait_idle()
    assert "podGwLoop-net1" not in by_tag(node.sim.state)
    assert (await node.store.get(node.prefix + "idalloc/vni/label/network-net1")).item is None
    assert (await node.store.get(node.prefix + "idalloc/vrf/label/net1")).item is None
    # the member's net1 address is released with the network; its interface stays (the
    # sandbox does), out of any VRF
    assert agent.ipam.custom_ips_of(PodID("default", "member")) == {}
    tap = by_tag(node.sim.state)[naming.custom_vpp_tap("n1", member.container_id)]
    assert tap.vrf4 == 0
    assert not tap.addresses
