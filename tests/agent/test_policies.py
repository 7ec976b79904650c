"""Kubernetes NetworkPolicies rendered by a node agent into VPP ACLs (real etcd, VPP
simulator), checked by walking packets: a policy admitting only ``role=frontend`` to a server
pod delivers the frontend's packet and drops another pod's at the server's ACL; the reply of
the permitted connection passes the frontend's own ACL by the reflect session its request
left; a refused policy is in the event history while the others keep working; an agent
restart writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contivpy.agent.node_agent import NodeAgent
from contivpy.controllers import naming
from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Pod,
    Policy,
    Service,
    ServicePort,
    encode,
    key_of,
)
from contivpy.reflector.converting import convert
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import Outcome, Trace
from doubles.agent_nodes import Node, eventually, pod_request

TCP = 6
CLUSTER_IP = "10.96.0.10"


def network_policy(name: str, spec: dict[str, Any]) -> Policy:
    model = convert("policy", {"metadata": {"name": name, "namespace": "default"}, "spec": spec})
    assert isinstance(model, Policy)
    return model


FRONTEND_ONLY = network_policy(
    "server",
    {
        "podSelector": {"matchLabels": {"role": "server"}},
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                "ports": [{"protocol": "TCP", "port": 80}],
            }
        ],
    },
)
# the frontend admits nothing: its reply can only come back by the reflect session
FRONTEND_CLOSED = network_policy(
    "frontend",
    {"podSelector": {"matchLabels": {"role": "frontend"}}, "policyTypes": ["Ingress"]},
)


async def put(node: Node, model: Pod | Policy | Service | Endpoints) -> None:
    await node.store.put(node.prefix + key_of(model), encode(model))


async def wire(node: Node, agent: NodeAgent, name: str, role: str) -> tuple[str, str]:
    """A pod wired by CNI and reflected with its label; (its VPP tap, its IP)."""
    request = pod_request(name, container=f"c-{name}")
    ip = (await agent.cni.add(request)).ips[0].address.split("/")[0]
    reflected = Pod(
        name=name, namespace="default", node_name="node-1", ip_address=ip, labels={"role": role}
    )
    await put(node, reflected)
    return naming.pod_vpp_tap(request.container_id), ip


def tcp(node: Node, tap: str, src: str, dst: str, sport: int, dport: int) -> Trace:
    return Fabric({"node-1": node.sim.state}).trace(
        "node-1", tap, src, dst, protocol=TCP, src_port=sport, dst_port=dport
    )


async def test_only_the_frontend_reaches_the_server_and_its_reply_comes_back(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent: NodeAgent = await node.start_agent()
    front_tap, front = await wire(node, agent, "front", "frontend")
    other_tap, other = await wire(node, agent, "other", "tool")
    server_tap, server = await wire(node, agent, "server", "server")
    await agent.loop.wait_idle()
    assert tcp(node, other_tap, other, server, 40000, 80).verdict.outcome is Outcome.DELIVERED

    await put(node, FRONTEND_ONLY)
    await put(node, FRONTEND_CLOSED)
    await eventually(lambda: len(agent.policies.rendering.pod_tables) == 2)
    await agent.loop.wait_idle()

    there = tcp(node, front_tap, front, server, 40000, 80)
    assert there.verdict.outcome is Outcome.DELIVERED, there.render()
    dropped = tcp(node, other_tap, other, server, 40001, 80)
    assert dropped.verdict.outcome is Outcome.DROPPED
    assert "contiv-policy-" in dropped.verdict.reason, dropped.render()
    wrong_port = tcp(node, front_tap, front, server, 40002, 22)
    assert wrong_port.verdict.outcome is Outcome.DROPPED
    # the reply passes the frontend's closed output by its request's reflect session ...
    back = tcp(node, server_tap, server, front, 80, 40000)
    assert back.verdict.outcome is Outcome.DELIVERED, back.render()
    # ... and a connection the server opens to the frontend does not
    opened = tcp(node, server_tap, server, front, 40003, 8080)
    assert opened.verdict.outcome is Outcome.DROPPED

    # Through a service (DNAT before the output ACL, which sees the backend): the same.
    await put(
        node,
        Service(
            name="web",
            namespace="default",
            cluster_ip=CLUSTER_IP,
            ports=[ServicePort(name="http", port=8000)],
        ),
    )
    await put(
        node,
        Endpoints(
            name="web",
            namespace="default",
            subsets=[
                EndpointSubset(
                    addresses=[EndpointAddress(ip=server)],
                    ports=[EndpointPort(name="http", port=80)],
                )
            ],
        ),
    )
    await eventually(lambda: bool(node.sim.state.nat44.mappings))
    await agent.loop.wait_idle()
    via = tcp(node, front_tap, front, CLUSTER_IP, 41000, 8000)
    assert via.verdict.outcome is Outcome.DELIVERED, via.render()
    assert "nat44-out2in" in via.render()  # translated to the server before its ACL
    blocked = tcp(node, other_tap, other, CLUSTER_IP, 41001, 8000)
    assert blocked.verdict.outcome is Outcome.DROPPED, blocked.render()

    # An agent restart against the unchanged VPP writes nothing.
    await node.stop_agent()
    writes = node.sim.writes()
    agent = await node.start_agent()
    await agent.loop.wait_idle()
    assert node.sim.writes() == writes
    assert tcp(node, other_tap, other, server, 40004, 80).verdict.outcome is Outcome.DROPPED


async def test_a_refused_policy_is_in_the_event_history_and_the_others_keep_working(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    agent: NodeAgent = await node.start_agent()
    front_tap, front = await wire(node, agent, "front", "frontend")
    other_tap, other = await wire(node, agent, "other", "tool")
    _, server = await wire(node, agent, "server", "server")
    bad = network_policy(
        "bad",
        {
            "podSelector": {"matchLabels": {"role": "tool"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.x/8"}}]}],
        },
    )
    await put(node, bad)
    await put(node, FRONTEND_ONLY)
    await eventually(lambda: len(agent.policies.rendering.pod_tables) == 1)
    await agent.loop.wait_idle()
    problem = (
        "NetworkPolicy default/bad: spec.ingress[0].from[0].ipBlock.cidr: "
        "'10.0.0.x/8' is not a CIDR"
    )
    assert agent.policies.problems == {"default/bad": (problem,)}
    said = [line for record in agent.history.records() for line in record.changes]
    assert any(problem in line for line in said)
    assert tcp(node, front_tap, front, server, 40000, 80).verdict.outcome is Outcome.DELIVERED
    assert tcp(node, other_tap, other, server, 40001, 80).verdict.outcome is Outcome.DROPPED
    # the refused policy isolates nothing (it is not applied at all)
    assert tcp(node, front_tap, front, other, 40002, 80).verdict.outcome is Outcome.DELIVERED


async def test_a_policy_refused_at_the_agents_start_is_in_that_resyncs_record(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("node-1")
    bad = network_policy(
        "bad",
        {
            "podSelector": {"matchLabels": {"role": "tool"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.x/8"}}]}],
        },
    )
    await put(node, bad)
    agent: NodeAgent = await node.start_agent()
    await agent.loop.wait_idle()
    (resync,) = [r for r in agent.history.records() if r.name == "DBResync"]
    assert resync.changes == (
        "policies: refused: NetworkPolicy default/bad: spec.ingress[0].from[0].ipBlock.cidr: "
        "'10.0.0.x/8' is not a CIDR",
    )
