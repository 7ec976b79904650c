"""A whole cluster in one process: etcd, the Kubernetes stand-in, the reflector, and nodes.

In: a working directory and a node count. Out (as an async context manager): an embedded
etcd; for each node a VPP simulator and a node agent (CNI and debug sockets under the working
directory) running the memif device plugin; the Kubernetes stand-in whose simulated kubelets
admit pods through the node's device plugins and network them by running the real
`contivpy cni` plugin against the node's agent; the reflector mirroring Kubernetes into etcd;
and, once asked (``start_cnfs``), a VPP with the CNF agent for every CNF pod
(``demo/cnfs.py``). Everything is stopped in reverse order on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from contivpy.agent.node_agent import AgentConfig, AgentPaths, MemifPluginConfig, NodeAgent
from contivpy.demo import cni_exec
from contivpy.demo.cnfs import DemoCnf, start_cnfs
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

    @property
    def memif_plugin(self) -> MemifPluginConfig:
        """The node's memif device plugin, with a kubelet of the stand-in's in ``dp/``."""
        return MemifPluginConfig(
            enabled=True,
            device_plugins_dir=self.dir / "dp",
            memif_dir=self.dir / "memif",
            pod_resources_socket=self.dir / "pod-resources.sock",
        )


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
    cnfs: list[DemoCnf] = field(default_factory=list)
    _stack: contextlib.AsyncExitStack | None = None

    async def start_cnfs(self) -> list[DemoCnf]:
        """Start the VPP and CNF agent of every running CNF pod not started yet."""
        assert self._stack is not None
        assert self.kube is not None
        assert self.store is not None
        started = {(c.namespace, c.name) for c in self.cnfs}
        fresh = await start_cnfs(self._stack, self.kube, self.store, self.workdir, skip=started)
        self.cnfs.extend(fresh)
        return fresh

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
        # The stand-in first: each node's kubelet serves its device-plugin sockets before the
        # node's agent starts, so the agent's memif device plugin registers at once.
        kube = KubeApiStandIn(pod_network=cluster._pod_added, pod_teardown=cluster._pod_removed)
        cluster.kube = await stack.enter_async_context(kube)
        kube.install_contivpp_crds()
        for index in range(1, node_count + 1):
            directory = workdir / f"node-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            sim = VppSimulator(str(directory / "api.sock"))
            await stack.enter_async_context(sim)
            node = DemoNode(f"node-{index}", f"10.20.0.{index}", directory, sim)
            plugin = node.memif_plugin
            await kube.serve_device_plugins(
                node.name, plugin.device_plugins_dir, plugin.pod_resources_socket
            )
            kube.register_node(node.name, node.mgmt_ip)
            config = AgentConfig(
                AgentSettings(node_name=node.name).validate(),
                AgentPaths(
                    state_dir=directory / "state",
                    vpp_socket=directory / "api.sock",
                    cni_socket=node.cni_socket,
                    debug_socket=node.debug_socket,
                ),
                configure_linux=False,  # demo pods are simulated: no network namespaces
                memif_plugin=plugin,
            )
            node.agent = NodeAgent(config, cluster.store)
            await node.agent.start(vpp_timeout=10)
            stack.push_async_callback(node.agent.stop)
            cluster.nodes.append(node)
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
            if node.agent.memif_plugin is not None:  # pods asking for memifs are admitted
                await asyncio.wait_for(node.agent.memif_plugin.registered.wait(), 30)
        cluster._stack = stack
        yield cluster
