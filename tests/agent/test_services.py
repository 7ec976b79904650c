"""Kubernetes Services rendered by a node agent into NAT44-ED (real etcd, VPP simulator): what
VPP holds once a Service and its Endpoints are reflected, a backend change, a single backend,
a refused Service reported in the event history while the others keep working, and an agent
restart that writes nothing. (The simulator does not translate packets yet: these tests assert
what VPP holds.)"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contivpy.agent.config_file import load_agent_config
from contivpy.agent.node_agent import NodeAgent
from contivpy.controllers import naming
from contivpy.errors import ConfigError
from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Service,
    ServicePort,
    encode,
    key_of,
)
from contivpy.sim.vpp.nat44_state import NatMapping
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request

IPv4 = ipaddress.IPv4Address
CLUSTER_IP = IPv4("10.96.0.10")


def web_service(**fields: object) -> Service:
    fields.setdefault("ports", [ServicePort(name="http", port=80, node_port=30080)])
    return Service(
        name="web",
        namespace="default",
        cluster_ip=str(CLUSTER_IP),
        service_type="NodePort",
        **fields,  # type: ignore[arg-type]
    )


def web_endpoints(*ips: str) -> Endpoints:
    return Endpoints(
        name="web",
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=a) for a in ips],
                ports=[EndpointPort(name="http", port=8080)],
            )
        ],
    )


async def put(node: Node, model: Service | Endpoints) -> None:
    await node.store.put(node.prefix + key_of(model), encode(model))


def mapping(state: VppState, ip: IPv4, port: int) -> NatMapping | None:
    return next(
        (m for m in state.nat44.mappings if (m.external_ip, m.external_port) == (ip, port)), None
    )


def backends(found: NatMapping | None) -> set[tuple[str, int, int]]:
    assert found is not None
    return {(str(x.ip), x.port, x.vrf_id) for x in found.locals}


def nat_features(state: VppState) -> dict[str, tuple[bool, bool]]:
    """interface tag -> (inside, outside)."""
    tags = {i.sw_if_index: i.tag for i in state.interfaces.values()}
    return {tags[f.sw_if_index]: (f.inside, f.outside) for f in state.nat44.features}


async def test_a_service_and_its_endpoints_become_mappings_with_every_backend(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent: NodeAgent = await node.start_agent()
    state = node.sim.state
    assert state.nat44.enabled
    assert state.nat44.forwarding
    result = await agent.cni.add(pod_request("web-1", container="c1"))
    local = result.ips[0].address.split("/")[0]
    await put(node, web_service())
    await put(node, web_endpoints(local, "10.1.2.2", "10.1.3.2"))
    await eventually(lambda: mapping(state, CLUSTER_IP, 80) is not None)
    await agent.loop.wait_idle()

    every = {(local, 8080, 1), ("10.1.2.2", 8080, 1), ("10.1.3.2", 8080, 1)}
    cluster = mapping(state, CLUSTER_IP, 80)
    assert cluster is not None
    assert cluster.kind == "lb"
    assert cluster.tag == "default/web"
    assert backends(cluster) == every
    node_ip = agent.ipam.addresses.node_address
    assert backends(mapping(state, IPv4(str(node_ip)), 30080)) == every
    tap = naming.pod_vpp_tap("c1")
    features = nat_features(state)
    assert features[tap] == (True, True)  # a frontend, and a backend of web
    assert features[naming.VXLAN_BVI] == (True, True)
    assert features[naming.HOST_INTERCONNECT_VPP] == (True, True)
    nat_loopback = IPv4(str(agent.ipam.addresses.nat_loopback))
    assert [a for a, _ in state.nat44.twice_nat_addresses] == [nat_loopback]

    # One backend removed: that mapping changes in place, nothing else is written.
    writes = node.sim.writes()
    await put(node, web_endpoints(local, "10.1.2.2"))
    await eventually(lambda: len(backends(mapping(state, CLUSTER_IP, 80))) == 2)
    await agent.loop.wait_idle()
    # two mappings (cluster IP, NodePort on the node IP), one local removed from each
    assert node.sim.writes() - writes == 2

    # A single backend left: a plain static mapping.
    await put(node, web_endpoints("10.1.2.2"))
    await eventually(lambda: (mapping(state, CLUSTER_IP, 80) or cluster).kind == "static")
    await agent.loop.wait_idle()
    assert backends(mapping(state, CLUSTER_IP, 80)) == {("10.1.2.2", 8080, 1)}
    assert nat_features(state)[tap] == (False, True)  # no longer a backend

    # An agent restart against the unchanged VPP writes nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    assert node.sim.writes() == writes
    assert backends(mapping(state, CLUSTER_IP, 80)) == {("10.1.2.2", 8080, 1)}


async def test_a_refused_service_is_in_the_event_history_and_the_others_keep_working(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent = await node.start_agent()
    state = node.sim.state
    await put(node, web_service(ports=[ServicePort(name="http", port=70000)]))
    await put(node, web_endpoints("10.1.2.2", "10.1.3.2"))
    other = Service(
        name="api", namespace="default", cluster_ip="10.96.0.20", ports=[ServicePort(port=443)]
    )
    await node.store.put(node.prefix + key_of(other), encode(other))
    api_endpoints = Endpoints(
        name="api",
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip="10.1.2.7"), EndpointAddress(ip="10.1.2.8")],
                ports=[EndpointPort(port=8443)],
            )
        ],
    )
    await node.store.put(node.prefix + key_of(api_endpoints), encode(api_endpoints))
    await eventually(lambda: mapping(state, IPv4("10.96.0.20"), 443) is not None)
    await agent.loop.wait_idle()
    problem = "Service default/web spec.ports[0].port: 70000 is out of range 1..65535"
    assert agent.services.problems == {"default/web": (problem,)}
    said = [line for record in agent.history.records() for line in record.changes]
    assert any(problem in line for line in said)
    assert not any(m.tag == "default/web" for m in state.nat44.mappings)
    assert backends(mapping(state, IPv4("10.96.0.20"), 443)) == {
        ("10.1.2.7", 8443, 1),
        ("10.1.2.8", 8443, 1),
    }


async def test_a_service_refused_at_the_agents_start_is_in_that_resyncs_record(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    await put(node, web_service(ports=[ServicePort(name="http", port=70000)]))
    agent = await node.start_agent()
    await agent.loop.wait_idle()
    (resync,) = [r for r in agent.history.records() if r.name == "DBResync"]
    assert resync.changes == (
        "services: refused: Service default/web spec.ports[0].port: 70000 is out of range 1..65535",
    )


def test_bad_service_settings_are_refused_naming_the_key(tmp_path: Path) -> None:
    for text, problem in (
        ("services:\n  localEndpointWeight: 0\n", "services.localEndpointWeight: 0 is outside"),
        (
            "services:\n  nodePortRange: 32767-30000\n",
            "services.nodePortRange: '32767-30000' is not a range",
        ),
        ("services:\n  natLoopbackIP: 10.1.1.9\n", "services.natLoopbackIP: unknown setting"),
    ):
        path = tmp_path / "agent.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(problem)):
            load_agent_config(path, node_name="n1")
    path.write_text("services:\n  localEndpointWeight: 4\n  nodePortRange: 20000-20999\n")
    config, _ = load_agent_config(path, node_name="n1")
    assert config.services.local_endpoint_weight == 4
    assert config.services.port_range() == (20000, 20999)
