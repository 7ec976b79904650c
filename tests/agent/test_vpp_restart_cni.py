"""A CNI ADD that arrives while VPP restarts (its state lost): it waits for VPP and succeeds,
because the agent rebuilds VPP's base configuration (the downstream resync) before the pod's
transaction touches VPP (real etcd, VPP simulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contivpy.controllers import naming
from doubles.agent_nodes import Node, eventually, pod_request, vpp_config


async def test_cni_add_during_a_vpp_restart_waits_and_succeeds(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    await agent.cni.add(pod_request("before"))
    restart = asyncio.create_task(node.sim.restart(downtime=0.5))
    await eventually(lambda: not agent.vpp.connected)
    result = await agent.cni.add(pod_request("during-restart"))
    await restart
    assert result.ips
    await agent.loop.wait_idle()
    config = vpp_config(node.sim.state)
    for name in ("before", "during-restart"):
        tap = naming.pod_vpp_tap(pod_request(name).container_id)
        assert f"if {tap}" in config, name
    assert agent.vpp_restarts == 1
