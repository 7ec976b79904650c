"""Services joined with EndpointSlices by a node agent (real etcd, VPP simulator): a Service and
its slices in etcd become a NAT mapping with the slices' ready backends (two slices, an address
in both once, a not-ready one left out), the Endpoints ignored while slices exist and used once
the last slice is gone, and an agent restart with slices writes nothing."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from contivpy.agent.node_agent import NodeAgent
from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    Service,
    ServicePort,
    SliceEndpoint,
    encode,
    key_of,
)
from contivpy.sim.vpp.nat44_state import NatMapping
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request

IPv4 = ipaddress.IPv4Address
CLUSTER_IP = IPv4("10.96.0.10")
WEB = Service(
    name="web",
    namespace="default",
    cluster_ip=str(CLUSTER_IP),
    ports=[ServicePort(name="http", port=80)],
)


def web_slice(name: str, *endpoints: tuple[str, bool | None], node: str = "") -> EndpointSlice:
    return EndpointSlice(
        name=name,
        namespace="default",
        service_name="web",
        address_type="IPv4",
        endpoints=[
            SliceEndpoint(addresses=[ip], ready=ready, node_name=node) for ip, ready in endpoints
        ],
        ports=[EndpointPort(name="http", port=8080)],
    )


def web_endpoints(*ips: str) -> Endpoints:
    return Endpoints(
        name="web",
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=a) for a in ips],
                ports=[EndpointPort(name="http", port=9090)],
            )
        ],
    )


async def put(node: Node, model: Service | Endpoints | EndpointSlice) -> None:
    await node.store.put(node.prefix + key_of(model), encode(model))


def backends(state: VppState) -> set[tuple[str, int]] | None:
    found: NatMapping | None = next(
        (m for m in state.nat44.mappings if (m.external_ip, m.external_port) == (CLUSTER_IP, 80)),
        None,
    )
    if found is None:
        return None
    return {(str(x.ip), x.port) for x in found.locals}


async def test_a_service_and_its_slices_become_a_mapping_with_their_ready_backends(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent: NodeAgent = await node.start_agent()
    state = node.sim.state
    result = await agent.cni.add(pod_request("web-1", container="c1"))
    local = result.ips[0].address.split("/")[0]
    await put(node, WEB)
    await put(node, web_endpoints("10.1.9.9"))  # stale: the slices win
    await put(node, web_slice("web-a", (local, True), ("10.1.2.2", None), node="node-1"))
    await put(node, web_slice("web-b", ("10.1.2.2", True), ("10.1.3.2", True), ("10.1.3.3", False)))
    want = {(local, 8080), ("10.1.2.2", 8080), ("10.1.3.2", 8080)}
    await eventually(lambda: backends(state) == want)
    await agent.loop.wait_idle()
    assert backends(state) == want

    # A restart against the unchanged VPP writes nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes
    assert backends(state) == want

    # One slice gone: only the other's backends; the last gone: the Endpoints give them.
    await node.store.delete(node.prefix + key_of(web_slice("web-a")))
    await eventually(lambda: backends(state) == {("10.1.2.2", 8080), ("10.1.3.2", 8080)})
    await node.store.delete(node.prefix + key_of(web_slice("web-b")))
    await eventually(lambda: backends(state) == {("10.1.9.9", 9090)})
