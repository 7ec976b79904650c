"""The pod measurements against one node (``pods_node``): CNI ADDs, an agent restart and a
VPP restart.

In: a :class:`~contivpy.bench.pods_node.PodsNode` with its agent started, the pods, and
``Problems`` to record correctness failures in. Out: raw figures.

- ADDs are sent by ``cni_load`` (from a process of their own); ``check_adds`` checks them.
- ``restart_agent``: stop the agent, start a new one over the same state, store and VPP;
  seconds from the new agent's construction until it is steady (first resync processed,
  event loop idle), and the configuration requests the simulator served from before the stop
  until then (must be 0).
- ``restart_vpp``: restart the simulator (all its state lost, as a VPP crash does); seconds
  until it holds everything again: its ``show interface addr`` text and its routes equal to
  before, polled every 10 ms.

``check_vpp`` checks, after each phase, that the simulator holds an admin-up tap per pod;
``check_deleted`` that DELed pods left neither an IP in the agent nor a tap in VPP.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from contivpy.agent.node_agent import NodeAgent
from contivpy.bench.cni_load import MAIN_INTERFACE, AddRun, BenchPod
from contivpy.bench.pods_node import PodsNode
from contivpy.bench.sim_process import SimProcess
from contivpy.bench.verify import Problems

_POLL_SECONDS = 0.01
_RESTORE_TIMEOUT = 60.0


def check_adds(
    run: AddRun,
    agent: NodeAgent,
    pods: list[BenchPod],
    problems: Problems,
    custom: tuple[str, ...] = (),
) -> None:
    """Every ADD succeeded, each with its own IP, and the agent allocated exactly those (the
    pods' main IPs). ``custom``: the interfaces each result must list after ``eth0`` (where
    the run recorded them), each with an IP of its own too."""
    label = f"ADD of {len(pods)} pods"
    for failure in run.failures[:5]:
        problems.add(f"{label}: {failure}")
    if len(run.failures) > 5:
        problems.add(f"{label}: and {len(run.failures) - 5} more failures")
    expected = [MAIN_INTERFACE, *custom]
    wrong = [name for name, names in run.interfaces.items() if names != expected]
    if wrong:
        example = run.interfaces[wrong[0]]
        problems.add(
            f"{label}: {len(wrong)} results do not list the interfaces {expected}, "
            f"e.g. {wrong[0]}: {example}"
        )
    given = [*run.ips.values(), *(ip for ips in run.custom_ips.values() for ip in ips.values())]
    if len(set(given)) != len(given):
        problems.add(f"{label}: {len(given) - len(set(given))} IPs were given twice")
    allocated = {str(ip) for ip in agent.ipam.allocations().values()}
    if allocated != {ip.split("/")[0] for ip in run.ips.values()}:
        problems.add(f"{label}: the agent's IPAM does not hold exactly the IPs the ADDs returned")


async def check_vpp(label: str, sim: SimProcess, pods: list[BenchPod], problems: Problems) -> None:
    """The simulator holds an admin-up tap for every pod."""
    interfaces = {i["tag"]: i for i in (await sim.summary())["interfaces"] if i["tag"]}
    missing = [p.name for p in pods if p.vpp_tap not in interfaces]
    down = [
        p.name for p in pods if p.vpp_tap in interfaces and not interfaces[p.vpp_tap]["admin_up"]
    ]
    if missing:
        problems.add(f"{label}: VPP has no tap for {len(missing)} pods, e.g. {missing[:3]}")
    if down:
        problems.add(f"{label}: {len(down)} pods' taps are down in VPP, e.g. {down[:3]}")


async def check_deleted(
    label: str, node: PodsNode, pods: list[BenchPod], problems: Problems
) -> None:
    """After DELs: the agent holds no IP for the pods and VPP no tap."""
    assert node.agent is not None
    await node.agent.loop.wait_idle()
    names = {p.name for p in pods}
    held = [str(pod) for pod in node.agent.ipam.allocations() if pod.name in names]
    if held:
        problems.add(f"{label}: the agent still holds IPs of {len(held)} pods, e.g. {held[:3]}")
    interfaces = {i["tag"] for i in (await node.sim.summary())["interfaces"] if i["tag"]}
    left = [p.name for p in pods if p.vpp_tap in interfaces]
    if left:
        problems.add(f"{label}: VPP still has taps of {len(left)} pods, e.g. {left[:3]}")


async def vpp_view(sim: SimProcess) -> tuple[str, list[str]]:
    """What a restore must bring back: ``show interface addr`` and the routes."""
    shown = (await sim.request("show_interface_addr"))["text"]
    summary: dict[str, Any] = await sim.summary()
    return str(shown), list(summary["routes"])


@dataclass(frozen=True, slots=True)
class RestartRun:
    """Seconds to steady state after an agent restart, and the VPP writes meanwhile."""

    seconds: float
    writes: int


async def restart_agent(node: PodsNode, pods: list[BenchPod], problems: Problems) -> RestartRun:
    """Stop the agent and start a new one; it must find everything in place."""
    label = f"agent restart with {len(pods)} pods"
    assert node.agent is not None
    ips_before = node.agent.ipam.allocations()
    view_before = await vpp_view(node.sim)
    writes_before = await node.sim.writes()  # before the stop: whatever it sends counts too
    await node.stop_agent()
    started = time.perf_counter()
    agent = await node.start_agent()
    seconds = time.perf_counter() - started
    writes = await node.sim.writes() - writes_before
    if writes:
        problems.add(f"{label}: VPP unchanged, yet the simulator served {writes} write requests")
    if await vpp_view(node.sim) != view_before:
        problems.add(f"{label}: VPP's interfaces or routes changed")
    if agent.ipam.allocations() != ips_before:
        problems.add(f"{label}: the pods' IPs changed")
    await check_vpp(label, node.sim, pods, problems)
    return RestartRun(seconds, writes)


async def restart_vpp(node: PodsNode, pods: list[BenchPod], problems: Problems) -> float:
    """Restart the simulator; seconds until it holds everything it held before."""
    label = f"VPP restart with {len(pods)} pods"
    agent = node.agent
    assert agent is not None
    before = await vpp_view(node.sim)
    restarts = agent.vpp_restarts
    started = time.perf_counter()
    await node.sim.request("restart")
    while await vpp_view(node.sim) != before:
        if time.perf_counter() - started > _RESTORE_TIMEOUT:
            problems.add(f"{label}: VPP not restored after {_RESTORE_TIMEOUT:g} s")
            break
        await asyncio.sleep(_POLL_SECONDS)
    seconds = time.perf_counter() - started
    await agent.loop.wait_idle()
    if agent.vpp_restarts != restarts + 1:
        problems.add(f"{label}: the agent saw {agent.vpp_restarts - restarts} VPP restarts, not 1")
    await check_vpp(label, node.sim, pods, problems)
    return seconds
