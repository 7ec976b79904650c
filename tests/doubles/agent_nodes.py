"""Simulated nodes for agent tests: a VPP simulator, a store connection and a node agent
that can be stopped and started again (no root needed: pods are simulated, Linux side off)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contivpy.agent.cni_bridge import MemifGrants
from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.cni.types import CniRequest, PodRef
from contivpy.scheduler import RetryPolicy
from contivpy.settings import AgentSettings, InterfaceSettings
from contivpy.sim.vpp.server import VppSimulator
from contivpy.sim.vpp.state import VppState
from contivpy.store.etcd import EtcdStore


@dataclass
class Node:
    """One simulated node: its VPP and the agent (replaceable, to restart it)."""

    name: str
    dir: Path
    sim: VppSimulator
    store: EtcdStore
    prefix: str
    agent: NodeAgent | None = None
    interfaces: InterfaceSettings = field(default_factory=InterfaceSettings)
    agents_made: list[NodeAgent] = field(default_factory=list)
    memif_grants: MemifGrants | None = None

    def config(self) -> AgentConfig:
        return AgentConfig(
            AgentSettings(node_name=self.name, interfaces=self.interfaces).validate(),
            AgentPaths(
                state_dir=self.dir / "state",
                vpp_socket=Path(self.sim.socket_path),
                cni_socket=self.dir / "cni.sock",
                debug_socket=self.dir / "debug.sock",
            ),
            ksr_prefix=self.prefix,
            configure_linux=False,
            retry=RetryPolicy(period=0.05, max_attempts=3),
            healing_delay=0.2,
            vpp_wait=10.0,
            memif_grants=self.memif_grants,
        )

    async def start_agent(self) -> NodeAgent:
        agent = NodeAgent(self.config(), self.store)
        agent.vpp.health_interval = 0.05
        await agent.start(vpp_timeout=10)
        await agent.wait_ready()
        await agent.loop.wait_idle()
        self.agent = agent
        self.agents_made.append(agent)
        return agent

    async def stop_agent(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
            self.agent = None


def pod_request(name: str, namespace: str = "default", container: str | None = None) -> CniRequest:
    """A CNI request for a pod (container ID derived from its name unless given)."""
    cid = container or uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{name}").hex
    return CniRequest(cid, f"/var/run/netns/{cid[:12]}", "eth0", PodRef(namespace, name))


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll an outside state (a simulator) until ``condition`` holds."""
    steps = int(within / 0.02)
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {within} s")


def vpp_config(state: VppState) -> dict[str, object]:
    """What a VPP holds, by the logical names (tags) of interfaces rather than the names VPP
    chose: after a VPP restart interfaces are re-created concurrently, so ``tap3`` may now
    be another pod's tap while the configuration is the same."""

    def tag(sw_if_index: int | None) -> str | None:
        if sw_if_index is None:
            return None
        iface = state.interfaces.get(sw_if_index)
        return (iface.tag or iface.name) if iface is not None else f"#{sw_if_index}"

    view: dict[str, object] = {}
    for iface in state.interfaces.values():
        view[f"if {iface.tag or iface.name}"] = (
            iface.kind.name,
            iface.admin_up,
            iface.vrf4,
            sorted(str(a) for a in iface.addresses),
            tag(iface.unnumbered_of),
            iface.mac.hex(),
            iface.bd_id is not None,
        )
    for (is_ip6, table), routes in state.routes.items():
        for prefix, route in routes.items():
            paths = sorted(
                (str(p.next_hop), tag(p.sw_if_index) or "", p.table_id, p.type) for p in route.paths
            )
            view[f"route {int(is_ip6)}/{table} {prefix}"] = paths
    return view
