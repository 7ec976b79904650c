"""`contivpy ctl nat sessions` through the installed entry point against a node agent on the
VPP simulator: after a pod's packet walk to a Service's ClusterIP it shows the session VPP
holds (DNAT to the backend), as docs/SERVICES.md's "Seeing sessions" lines, run verbatim
through a shell, print it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from contivpy.agent.node_agent import NodeAgent
from contivpy.controllers import naming
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
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import NatHop
from doubles.agent_nodes import Node, eventually, pod_request

SERVICES = Path(__file__).resolve().parents[2] / "docs" / "SERVICES.md"
CONTIVPY = Path(sys.executable).with_name("contivpy")
CLUSTER_IP = "10.96.0.10"
TCP = 6


def seeing_sessions() -> list[str]:
    """The command lines of SERVICES.md's "Seeing sessions" block."""
    section = SERVICES.read_text().split("### Seeing sessions", 1)[1]
    block = section.split("```", 2)[1]
    return [line for line in block.splitlines()[1:] if line.strip()]


@dataclass(frozen=True)
class Ran:
    returncode: int | None
    stdout: str
    stderr: str


async def run(node: Node, line: str) -> Ran:
    """A documented line through a shell, as typed: the installed `contivpy` first on PATH,
    the agent's debug socket in $CONTIVPY_DEBUG_SOCKET. (Asynchronously: the agent answers
    from this test's event loop.)"""
    env = {
        **os.environ,
        "PATH": f"{CONTIVPY.parent}:{os.environ.get('PATH', '')}",
        "CONTIVPY_DEBUG_SOCKET": str(node.dir / "debug.sock"),
    }
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        line,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return Ran(proc.returncode, out.decode(), err.decode())


async def wire(node: Node, agent: NodeAgent, name: str) -> tuple[str, str]:
    """A pod wired by CNI: its VPP tap and its IP."""
    request = pod_request(name, container=f"c-{name}")
    ip = (await agent.cni.add(request)).ips[0].address.split("/")[0]
    return naming.pod_vpp_tap(request.container_id), ip


async def test_the_documented_lines_show_the_session_a_walk_made(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    lines = seeing_sessions()
    assert [line.split()[:4] for line in lines] == [["contivpy", "ctl", "nat", "sessions"]] * 3
    node = await make_node("node-1")
    agent: NodeAgent = await node.start_agent()
    client_tap, client = await wire(node, agent, "client")
    _, web = await wire(node, agent, "web")
    service = Service(
        name="web",
        namespace="default",
        cluster_ip=CLUSTER_IP,
        ports=[ServicePort(name="http", port=80)],
    )
    endpoints = Endpoints(
        name="web",
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=web)],
                ports=[EndpointPort(name="http", port=8080)],
            )
        ],
    )
    for model in (service, endpoints):
        await node.store.put(node.prefix + key_of(model), encode(model))
    state = node.sim.state
    await eventually(lambda: any(str(m.external_ip) == CLUSTER_IP for m in state.nat44.mappings))
    await agent.loop.wait_idle()

    plain, wide, as_json = lines
    before = await run(node, plain)
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines()[0] == "(no NAT44-ED sessions)"

    walk = Fabric({"node-1": state}).trace(
        "node-1", client_tap, client, CLUSTER_IP, protocol=TCP, src_port=40000, dst_port=80
    )
    assert walk.delivered, walk.render()
    (hop,) = [hop for hop in walk.hops if isinstance(hop, NatHop)]
    assert (str(hop.new_dst[0]), hop.new_dst[1]) == (web, 8080)

    for line in (plain, wide):
        shown = await run(node, line)
        assert shown.returncode == 0, shown.stderr
        header, row, total = shown.stdout.splitlines()
        assert header.split()[:3] == ["PROTO", "INSIDE", "OUTSIDE"]
        cells = row.split()
        assert re.fullmatch(r"\d+s", cells[6])  # idle seconds: by the wall clock
        cells[6] = "idle"
        assert cells == [
            "tcp",
            f"{web}:8080",
            f"{CLUSTER_IP}:80",
            f"{client}:40000",
            "-",  # no twice-NAT
            "1",  # the pod VRF
            "idle",
            "1",
            "static",
        ]
        assert total.startswith("1 session(s) of 1 inside address(es); VPP's limit ")

    shown = await run(node, as_json)
    assert shown.returncode == 0, shown.stderr
    (reply,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert reply["users"] == 1
    assert reply["max_sessions"] > 0
    (session,) = reply["sessions"]
    assert {k: session[k] for k in ("inside_ip", "inside_port", "outside_ip", "outside_port")} == {
        "inside_ip": web,
        "inside_port": 8080,
        "outside_ip": CLUSTER_IP,
        "outside_port": 80,
    }
    assert (session["protocol"], session["ext_host_ip"], session["ext_host_port"]) == (
        "tcp",
        client,
        40000,
    )
    assert (session["twice_nat"], session["ext_host_nat_ip"], session["static"]) == (
        False,
        "",
        True,
    )
    assert session["total_packets"] == 1
