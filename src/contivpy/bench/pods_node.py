"""One benchmark node: an embedded etcd, a VPP simulator process and the real node agent.

In: nothing (everything lives in a new temporary directory). Out: :func:`pods_node`, an async
context manager yielding a :class:`PodsNode` whose agent can be started, stopped and started
again over the same state directory, store and simulator (an agent restart against an
unchanged VPP), and whose simulator can be restarted through its control socket (a VPP
restart). The agent is :class:`~contivpy.agent.node_agent.NodeAgent` as ``contivpy agent``
builds it, with default settings (or the ``settings`` given to ``pods_node``) except that
pods are simulated (``configure_linux=False``: no network namespaces, no root); it serves
RemoteCNI on ``cni_socket``, as on a node. ``memif_grants``, set before an agent starts, is
the agent's memif grant lookup (``AgentConfig.memif_grants``; None: no device plugin).

etcd is tuned as the tests tune it (10 ms heartbeats, no fsync): it only has to be there, its
own speed is not measured. The simulator runs in its own process (see ``sim_process``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from contivpy.agent.cni_bridge import MemifGrants
from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.bench.sim_process import SimProcess, sim_process
from contivpy.settings import AgentSettings
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings

NODE_NAME = "bench-node"
KSR_PREFIX = "/vnf-agent/contiv-ksr/"


@dataclass
class PodsNode:
    """The node's parts; ``agent`` is None while the agent is stopped."""

    directory: Path
    sim: SimProcess
    store: EtcdStore
    settings: AgentSettings
    agent: NodeAgent | None = None
    memif_grants: MemifGrants | None = None

    @property
    def cni_socket(self) -> str:
        """Where the agent serves RemoteCNI (the CNI plugin's ``grpcServer``)."""
        return str(self.directory / "cni.sock")

    def config(self) -> AgentConfig:
        """The agent's configuration: the node's settings, simulated pods, paths in the node
        directory, the memif grant lookup."""
        return AgentConfig(
            self.settings,
            AgentPaths(
                state_dir=self.directory / "state",
                vpp_socket=Path(self.sim.socket_path),
                cni_socket=Path(self.cni_socket),
                debug_socket=self.directory / "debug.sock",
            ),
            ksr_prefix=KSR_PREFIX,
            configure_linux=False,
            memif_grants=self.memif_grants,
        )

    async def start_agent(self) -> NodeAgent:
        """Start an agent and return once it is steady: its first resync processed and its
        event loop idle."""
        agent = NodeAgent(self.config(), self.store)
        await agent.start(vpp_timeout=10.0)
        self.agent = agent
        await agent.wait_ready()
        await agent.loop.wait_idle()
        return agent

    async def stop_agent(self) -> None:
        """Stop the agent (VPP and etcd keep what it made)."""
        if self.agent is not None:
            agent, self.agent = self.agent, None
            await agent.stop()


def bench_etcd(directory: Path) -> EmbeddedEtcd:
    """An embedded etcd in ``directory``, tuned as the tests tune it (see the module
    docstring); not started."""
    return EmbeddedEtcd(
        directory, heartbeat_interval_ms=10, election_timeout_ms=100, unsafe_no_fsync=True
    )


@contextlib.asynccontextmanager
async def pods_node(settings: AgentSettings | None = None) -> AsyncIterator[PodsNode]:
    """A node with etcd and the simulator running and no agent yet; all stopped on exit.
    ``settings``: the agent's (default: defaults for ``NODE_NAME``); validated here."""
    settings = (settings or AgentSettings(node_name=NODE_NAME)).validate()
    with tempfile.TemporaryDirectory(prefix="contivpy-bench-node-") as name:
        directory = Path(name)
        etcd = bench_etcd(directory / "etcd")
        async with etcd, sim_process() as sim:
            store = EtcdStore(StoreSettings(endpoints=(etcd.endpoint,)))
            await store.connect()
            node = PodsNode(directory, sim, store, settings)
            try:
                yield node
            finally:
                await node.stop_agent()
                await store.close()
