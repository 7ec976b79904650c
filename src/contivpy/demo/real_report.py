"""What the real-VPP demo shows: each VPP's interfaces and addresses, read through its API, and
real pings between pods.

In: a running :class:`~contivpy.demo.real_cluster.RealCluster` and its running pods. Out: text:
per node the interfaces of its VPP (name, tag, state, addresses); and for a pair of pods on
different nodes and a pair on one node, ping's result each way, sent from the pod's own
network namespace.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from contivpy.demo.cni_exec import pod_netns_name
from contivpy.demo.real_cluster import RealCluster, ping
from contivpy.demo.report import DemoPod
from contivpy.vppcalls import interface_ip, interfaces
from contivpy.vppcalls.client import VppClient


async def vpp_interfaces(cluster: RealCluster) -> str:
    """Every node's VPP interfaces, as `show interface addr` would list them."""
    parts = []
    for node in cluster.nodes:
        client = VppClient(node.vpp.api_socket)
        await client.start(connect_timeout=10)
        try:
            lines = [f"== {node.name}: VPP {node.vpp.api_socket} (pid {node.vpp.pid})"]
            for d in await interfaces.dump_interfaces(client):
                addresses = [
                    *await interface_ip.dump_addresses(client, d.sw_if_index, False),
                    *await interface_ip.dump_addresses(client, d.sw_if_index, True),
                ]
                state = "up" if d.admin_up else "down"
                tag = f" ({d.tag})" if d.tag else ""
                shown = ", ".join(str(a) for a in addresses if not a.ip.is_link_local) or "-"
                lines.append(f"  {d.name}{tag} {state}: {shown}")
        finally:
            await client.close()
        parts.append("\n".join(lines))
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class PingResult:
    """One ping from a pod to another."""

    source: DemoPod
    target: DemoPod
    received: int
    sent: int
    summary: str

    @property
    def ok(self) -> bool:
        return self.received == self.sent


def pairs(pods: list[DemoPod]) -> list[tuple[DemoPod, DemoPod]]:
    """A pod and one on another node, and a pod and one on its own node, both ways."""
    chosen: list[tuple[DemoPod, DemoPod]] = []
    for a in pods:
        remote = next((b for b in pods if b.node != a.node), None)
        if remote is not None:
            chosen += [(a, remote), (remote, a)]
            break
    for a in pods:
        local = next((b for b in pods if b.node == a.node and b is not a), None)
        if local is not None:
            chosen += [(a, local), (local, a)]
            break
    return chosen


async def pings(
    pods: list[DemoPod], sandbox_ids: dict[str, str], count: int = 3
) -> list[PingResult]:
    """Real pings for :func:`pairs`; ``sandbox_ids``: pod namespace/name -> sandbox id."""
    results = []
    for a, b in pairs(pods):
        netns = pod_netns_name(sandbox_ids[f"{a.namespace}/{a.name}"])
        received, summary = await asyncio.to_thread(ping, netns, b.ip, count)
        results.append(PingResult(a, b, received, count, summary))
    return results
