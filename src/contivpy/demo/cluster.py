"""A whole cluster in one process: etcd, the Kubernetes stand-in, the reflector, and nodes.

In: a working directory and a node count. Out (as an async context manager): an embedded
etcd; for each node a VPP simulator and a node agent (CNI and debug sockets under the working
directory); the Kubernetes stand-in whose simulated kubelets network pods by running the real
`contivpy cni` plugin against the node's agent; and the reflector mirroring Kubernetes into
etcd. Everything is stopped in reverse order on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.demo import cni_exec
from contivpy.reflector import Reflector, ReflectorSettings
from contivpy.reflector.watching import KubeApi
from contivpy.settings import AgentSettings
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.kube.pod_network import PodNetworkResult
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings

log = structlog.get_logger(__name__)


@dataclass
class DemoNode:
    """One node of the demo."""

    name: str
    mgmt_ip: str
    dir: Path
    sim: VppSimulator
    agent: NodeAgent | None = None

    @property
    def cni_socket(self) -> Path:
        return self.dir / "cni.sock"

    @property
    def debug_socket(self) -> Path:
        return self.dir / "debug.sock"


@dataclass
class DemoCluster:
    """What the demo runs (see the module docstring)."""

    workdir: Path
    nodes: list[DemoNode] = field(default_factory=list)
    kube: KubeApiStandIn | None = None
    store: EtcdStore | None = None
    kubeconfig: Path | None = None
    etcd: EmbeddedEtcd | None = None
    reflector: Reflector | None = None
    _reflector_settings: ReflectorSettings | None = None
    _kube_api: KubeApi | None = None
    _reflector_task: asyncio.Task[None] | None = None
    _reflector_stop: asyncio.Event | None = None

    async def start_reflector(self) -> None:
        """Start a reflector (a new instance each time)."""
        assert self._reflector_settings is not None
        assert self._kube_api is not None
        assert self.store is not None
        self.reflector = Reflector(self._reflector_settings, self.store, self._kube_api)
        self._reflector_stop = asyncio.Event()
        self._reflector_task = asyncio.create_task(
            self.reflector.run(self._reflector_stop), name="reflector"
        )

    async def stop_reflector(self) -> None:
        """Stop the reflector gracefully (leadership handed over at once)."""
        task, stop = self._reflector_task, self._reflector_stop
        self._reflector_task = None
        if task is None or stop is None:
            return
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _pod_added(self, pod: dict[str, Any]) -> PodNetworkResult:
        return await cni_exec.add_on_node(self.nodes, pod)

    async def _pod_removed(self, pod: dict[str, Any]) -> None:
        await cni_exec.delete_on_node(self.nodes, pod)


@contextlib.asynccontextmanager
async def demo_cluster(
    workdir: Path, node_count: int = 2, *, etcd_timeout: float = 120.0
) -> AsyncIterator[DemoCluster]:
    """Start the whole cluster; stop it on exit. ``etcd_timeout``: the most seconds etcd may
    take to start while it makes progress (see ``EmbeddedEtcd``)."""
    cluster = DemoCluster(workdir)
    async with contextlib.AsyncExitStack() as stack:
        etcd = EmbeddedEtcd(workdir / "etcd", startup_timeout=etcd_timeout)
        await stack.enter_async_context(etcd)
        cluster.etcd = etcd
        store_settings = StoreSettings(endpoints=(etcd.endpoint,))
        cluster.store = await stack.enter_async_context(EtcdStore(store_settings))
        for index in range(1, node_count + 1):
            directory = workdir / f"node-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            sim = VppSimulator(str(directory / "api.sock"))
            await stack.enter_async_context(sim)
            node = DemoNode(f"node-{index}", f"10.20.0.{index}", directory, sim)
            config = AgentConfig(
                AgentSettings(node_name=node.name).validate(),
                AgentPaths(
                    state_dir=directory / "state",
                    vpp_socket=directory / "api.sock",
                    cni_socket=node.cni_socket,
                    debug_socket=node.debug_socket,
                ),
                configure_linux=False,  # demo pods are simulated: no network namespaces
            )
            node.agent = NodeAgent(config, cluster.store)
            await node.agent.start(vpp_timeout=10)
            stack.push_async_callback(node.agent.stop)
            cluster.nodes.append(node)
        kube = KubeApiStandIn(pod_network=cluster._pod_added, pod_teardown=cluster._pod_removed)
        cluster.kube = await stack.enter_async_context(kube)
        kube.install_contivpp_crds()
        for node in cluster.nodes:
            kube.register_node(node.name, node.mgmt_ip)
        cluster.kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        cluster._reflector_settings = ReflectorSettings(
            kubeconfig=cluster.kubeconfig, store=store_settings
        )
        cluster._kube_api = await stack.enter_async_context(KubeApi.connect(cluster.kubeconfig))
        await cluster.start_reflector()
        stack.push_async_callback(cluster.stop_reflector)
        for node in cluster.nodes:
            assert node.agent is not None
            await node.agent.wait_ready()
        yield cluster
