"""Clusters of simulated VPPs for the packet-walk tests.

In: a count, a directory for the API sockets and an exit stack that owns what is started.
Out: a :class:`Cluster`: nodes node1..nodeN, each a simulator on its own unix socket with a
contivpy client, configured as a Contiv vswitch (``vswitch.py``: base plus the full VXLAN
mesh), joined into a :class:`~contivpy.sim.vpp.forwarding.Fabric`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from contivpy.backoff import Backoff
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.client import VppClient
from sim.vpp.vswitch import NodePlan, Vswitch


@dataclass
class Cluster:
    """Nodes by name: their simulators, their configured vswitches, and the fabric."""

    sims: dict[str, VppSimulator]
    switches: dict[str, Vswitch]
    fabric: Fabric


StartCluster = Callable[[int], Awaitable[Cluster]]


async def start_cluster(stack: contextlib.AsyncExitStack, socket_dir: Path, count: int) -> Cluster:
    """Start ``count`` meshed vswitches; ``stack`` stops them."""
    plans = [NodePlan(node_id) for node_id in range(1, count + 1)]
    sims: dict[str, VppSimulator] = {}
    switches: dict[str, Vswitch] = {}
    for plan in plans:
        sim = VppSimulator(str(socket_dir / f"{plan.name}.sock"))
        await stack.enter_async_context(sim)
        client = VppClient(
            sim.socket_path,
            call_timeout=2.0,
            health_interval=0.05,
            backoff=Backoff(initial=0.01, maximum=0.1),
        )
        await client.start(connect_timeout=5.0)
        stack.push_async_callback(client.close)
        sims[plan.name] = sim
        switches[plan.name] = Vswitch(plan, client)
        await switches[plan.name].base()
    for switch in switches.values():
        await switch.mesh(p for p in plans if p != switch.plan)
    return Cluster(sims, switches, Fabric({name: sim.state for name, sim in sims.items()}))
