"""Two benchmark nodes sharing one embedded etcd: the SFC benchmark's cluster.

In: nothing (everything lives in a new temporary directory). Out: :func:`sfc_cluster`, an
async context manager yielding an :class:`SfcCluster`: two
:class:`~contivpy.bench.pods_node.PodsNode` (``sfc-node-1``, ``sfc-node-2``), each with its
own VPP simulator process (``sim_process``), its own etcd connection and, once started, a
real node agent in this process (default settings but the node name; simulated pods, as
``pods_node`` runs them); and per node a VPP API client of the benchmark's own
(``observers``), which only dumps (dumps are no writes: the simulator's write count is not
disturbed). ``start_agents`` starts both agents and returns once each knows the other
(nodesync) and both are idle; everything is stopped on exit.

One etcd, as in a cluster: both agents watch the same reflected pods and chains, and the
SFC hops' VNIs are allocated in the one ``vni`` pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from contivpy.bench.pods_node import PodsNode, bench_etcd
from contivpy.bench.sim_process import sim_process
from contivpy.settings import AgentSettings
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppcalls.client import VppClient

NODE_NAMES = ("sfc-node-1", "sfc-node-2")
_VPP_TIMEOUT = 10.0
_PEERS_TIMEOUT = 30.0
_POLL_SECONDS = 0.01


class ClusterError(RuntimeError):
    """The two agents did not come to know each other."""


@dataclass
class SfcCluster:
    """The nodes, in ``NODE_NAMES`` order, and a dump-only VPP client per node."""

    nodes: tuple[PodsNode, ...]
    observers: tuple[VppClient, ...] = field(default=())

    def index(self, node_name: str) -> int:
        """The position of a node by its name."""
        return NODE_NAMES.index(node_name)

    async def start_agents(self) -> None:
        """Start both agents; return once each has the other's node record and both idle."""
        for node in self.nodes:
            await node.start_agent()
        deadline = time.monotonic() + _PEERS_TIMEOUT
        while not all(n.agent is not None and n.agent.nodesync.others() for n in self.nodes):
            if time.monotonic() > deadline:
                raise ClusterError(f"the agents did not see each other in {_PEERS_TIMEOUT:g} s")
            await asyncio.sleep(_POLL_SECONDS)
        await self.wait_idle()

    async def stop_agents(self) -> None:
        """Stop both agents (VPPs and etcd keep what they made)."""
        for node in self.nodes:
            await node.stop_agent()

    async def wait_idle(self) -> None:
        """Return once both agents' event loops have nothing to process."""
        for node in self.nodes:
            if node.agent is not None:
                await node.agent.loop.wait_idle()

    async def writes(self) -> int:
        """Configuration requests both simulators have served since they started."""
        return sum([await node.sim.writes() for node in self.nodes])


@contextlib.asynccontextmanager
async def sfc_cluster() -> AsyncIterator[SfcCluster]:
    """Etcd, two simulators and their observers running, no agent yet; all stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="contivpy-bench-sfc-") as name:
        directory = Path(name)
        etcd = bench_etcd(directory / "etcd")
        async with etcd, contextlib.AsyncExitStack() as stack:
            nodes = []
            observers = []
            for node_name in NODE_NAMES:
                sim = await stack.enter_async_context(sim_process())
                store = EtcdStore(StoreSettings(endpoints=(etcd.endpoint,)))
                await store.connect()
                stack.push_async_callback(store.close)
                node_dir = directory / node_name
                node_dir.mkdir()
                settings = AgentSettings(node_name=node_name).validate()
                node = PodsNode(node_dir, sim, store, settings)
                stack.push_async_callback(node.stop_agent)
                nodes.append(node)
                observer = VppClient(sim.socket_path, client_name="bench-observer")
                await observer.start(connect_timeout=_VPP_TIMEOUT)
                stack.push_async_callback(observer.close)
                observers.append(observer)
            yield SfcCluster(tuple(nodes), tuple(observers))
