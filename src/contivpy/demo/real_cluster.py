"""The demo's cluster on real VPPs: ``contivpy demo --vpp BINARY`` (needs root and iproute2).

In: a working directory, a node count, the ``vpp`` binary. Out (an async context manager):
:class:`RealCluster`, everything below running, and removed again on exit:

- in this namespace: the embedded etcd, the Kubernetes stand-in and the reflector, as in the
  simulator demo, and a bridge ``cvm-<tag>`` (10.213.0.1/24) through which the agents of
  the nodes reach etcd;
- per node a network namespace ``cvn<i>-<tag>`` holding a veth to that bridge
  (10.213.0.<10+i>, the node's InternalIP), a real VPP with a start-up configuration of its
  own, the node agent as a process (``contivpy agent``, veth mode: kernels here have no
  /dev/vhost-net; its configuration and process as :mod:`contivpy.vppprocess.real_node`
  makes them), and the host ends of its pods' veths;
- the underlay: a namespace ``cvu-<tag>`` with a bridge; every node's ``und0`` is a veth into
  it, and each VPP's main interface is an af_packet on ``und0`` (the VXLAN tunnels run there);
- pods: the stand-in's kubelets make a namespace for each pod sandbox (``cni-<id>``) and run
  the real ``contivpy cni`` plugin against the node's agent, which wires eth0 in it.

The proof of connectivity is real: ICMP echo from one pod's namespace to another pod's IP
(:mod:`contivpy.linux.icmp_echo`, our own raw-socket ping; no ``ping`` binary needed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from contivpy.demo import cni_exec
from contivpy.linux import icmp_echo
from contivpy.reflector import Reflector, ReflectorSettings
from contivpy.reflector.watching import KubeApi
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.kube.pod_network import PodNetworkResult
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppprocess import real_node
from contivpy.vppprocess.process import VppProcess
from contivpy.vppprocess.real_node import AgentProcess, RealNodeError
from contivpy.vppprocess.startup import StartupConfig

log = structlog.get_logger(__name__)

MGMT_PREFIX = "10.213.0"

#: the real-VPP demo cannot run here (not root, no iproute2, VPP failed): a real node's error
RealDemoError = RealNodeError


def check_real_demo_possible(binary: Path) -> None:
    """Raise RealDemoError naming what is missing."""
    try:
        real_node.check_can_make_namespaces()
    except RealNodeError as error:
        raise RealDemoError(f"demo --vpp: {error}") from None
    if not os.access(binary, os.X_OK):
        raise RealDemoError(f"{binary} is not an executable VPP binary")


@dataclass
class RealNode:
    """One node: its namespace, VPP and agent process."""

    name: str
    index: int
    netns: str
    dir: Path
    vpp: VppProcess
    agent: AgentProcess | None = None

    @property
    def mgmt_ip(self) -> str:
        return f"{MGMT_PREFIX}.{10 + self.index}"

    @property
    def cni_socket(self) -> Path:
        return self.dir / "cni.sock"

    @property
    def debug_socket(self) -> Path:
        return self.dir / "debug.sock"

    def ctl(self, *args: str) -> list[dict[str, Any]]:
        """``contivpy ctl <args> --json`` against this node's agent; [] when it cannot answer."""
        try:
            return real_node.ctl(self.debug_socket, *args)
        except RealNodeError:
            return []


@dataclass
class RealCluster:
    """What the real demo runs (see the module docstring)."""

    workdir: Path
    tag: str
    nodes: list[RealNode] = field(default_factory=list)
    kube: KubeApiStandIn | None = None
    kubeconfig: Path | None = None
    store: EtcdStore | None = None
    reflector: Reflector | None = None
    #: pod sandbox id -> its namespace
    pod_namespaces: dict[str, str] = field(default_factory=dict)

    def _pod_netns(self, cid: str) -> None:
        netns = cni_exec.pod_netns_name(cid)
        if netns not in self.pod_namespaces.values():
            real_node.add_netns(netns)
            self.pod_namespaces[cid] = netns

    async def _pod_added(self, pod: dict[str, Any]) -> PodNetworkResult:
        # The container runtime makes the sandbox's namespace before the kubelet runs CNI.
        return await cni_exec.add_on_node(self.nodes, pod, self._pod_netns)

    async def _pod_removed(self, pod: dict[str, Any]) -> None:
        await cni_exec.delete_on_node(self.nodes, pod)
        netns = self.pod_namespaces.pop(cni_exec.sandbox_id(pod), None)
        if netns is not None:
            real_node.delete_netns(netns)


def ping(netns: str, address: str, count: int = 3) -> tuple[int, str]:
    """Replies out of ``count`` from ``netns`` to ``address``, and a summary line in ping's
    words (or why no echo could be sent)."""
    try:
        result = icmp_echo.echo(address, count, netns=netns, interval=0.2, timeout=1.0)
    except (OSError, ValueError) as error:
        return 0, f"no echo sent: {error}"
    return result.received, result.summary


def _start_agent(node: RealNode, etcd_endpoint: str) -> AgentProcess:
    """The node's agent, in veth mode with its NIC an af_packet on ``und0``, started."""
    config = real_node.write_agent_config(
        node.dir / "agent.yaml",
        node_name=node.name,
        directory=node.dir,
        vpp_socket=node.vpp.api_socket,
        etcd_endpoints=(etcd_endpoint,),
        main_host_interface="und0",
    )
    agent = AgentProcess(config, node.dir, netns=node.netns)
    agent.start()
    return agent


def _stop_agent(node: RealNode) -> None:
    agent, node.agent = node.agent, None
    if agent is not None:
        agent.stop()


async def _wait_agent_ready(node: RealNode, seconds: float = 60.0) -> None:
    assert node.agent is not None
    try:
        await node.agent.wait_ready(seconds)
    except RealNodeError as error:
        raise RealDemoError(f"{node.name}: {error}") from None


def _make_links(cluster: RealCluster, count: int) -> None:
    tag = cluster.tag
    mgmt, underlay = f"cvm-{tag}", f"cvu-{tag}"
    real_node.ip("link", "add", mgmt, "type", "bridge")
    real_node.ip("addr", "add", f"{MGMT_PREFIX}.1/24", "dev", mgmt)
    real_node.ip("link", "set", mgmt, "up")
    real_node.add_netns(underlay)
    real_node.ip("netns", "exec", underlay, "ip", "link", "add", "br0", "type", "bridge")
    real_node.ip("netns", "exec", underlay, "ip", "link", "set", "br0", "up")
    for index in range(1, count + 1):
        ns = f"cvn{index}-{tag}"
        real_node.add_netns(ns)
        # management: this namespace's bridge <-> mgmt0 in the node
        real_node.ip(
            "link", "add", f"cvm{index}-{tag}", "type", "veth", "peer", "name", "mgmt0", "netns", ns
        )
        real_node.ip("link", "set", f"cvm{index}-{tag}", "master", mgmt, "up")
        real_node.ip(
            "netns",
            "exec",
            ns,
            "ip",
            "addr",
            "add",
            f"{MGMT_PREFIX}.{10 + index}/24",
            "dev",
            "mgmt0",
        )
        real_node.ip("netns", "exec", ns, "ip", "link", "set", "mgmt0", "up")
        # underlay: und0 in the node <-> u<i> on the underlay bridge
        real_node.ip(
            "link",
            "add",
            "und0",
            "netns",
            ns,
            "type",
            "veth",
            "peer",
            "name",
            f"u{index}",
            "netns",
            underlay,
        )
        real_node.ip(
            "netns", "exec", underlay, "ip", "link", "set", f"u{index}", "master", "br0", "up"
        )
        real_node.ip("netns", "exec", ns, "ip", "link", "set", "und0", "up")


def _remove_links(cluster: RealCluster, count: int) -> None:
    tag = cluster.tag
    for netns in list(cluster.pod_namespaces.values()):
        real_node.delete_netns(netns)
    for index in range(1, count + 1):
        real_node.ip("link", "del", f"cvm{index}-{tag}", check=False)
        real_node.delete_netns(f"cvn{index}-{tag}")
    real_node.delete_netns(f"cvu-{tag}")
    real_node.ip("link", "del", f"cvm-{tag}", check=False)


@contextlib.asynccontextmanager
async def real_demo_cluster(
    workdir: Path, node_count: int, binary: Path, *, etcd_timeout: float = 120.0
) -> AsyncIterator[RealCluster]:
    """Start the whole cluster on real VPPs; remove everything on exit."""
    check_real_demo_possible(binary)
    cluster = RealCluster(workdir, uuid.uuid4().hex[:5])
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(_remove_links, cluster, node_count)
        _make_links(cluster, node_count)
        etcd = EmbeddedEtcd(workdir / "etcd", host=f"{MGMT_PREFIX}.1", startup_timeout=etcd_timeout)
        await stack.enter_async_context(etcd)
        store_settings = StoreSettings(endpoints=(etcd.endpoint,))
        cluster.store = await stack.enter_async_context(EtcdStore(store_settings))
        for index in range(1, node_count + 1):
            directory = workdir / f"node-{index}"
            directory.mkdir(parents=True, exist_ok=True)
            netns = f"cvn{index}-{cluster.tag}"
            vpp = VppProcess(binary, StartupConfig(directory / "vpp"), netns=netns)
            node = RealNode(f"node-{index}", index, netns, directory, vpp)
            await vpp.start()
            stack.push_async_callback(vpp.stop)
            node.agent = _start_agent(node, etcd.endpoint)
            stack.callback(_stop_agent, node)
            cluster.nodes.append(node)
        kube = KubeApiStandIn(pod_network=cluster._pod_added, pod_teardown=cluster._pod_removed)
        cluster.kube = await stack.enter_async_context(kube)
        kube.install_contivpp_crds()
        for node in cluster.nodes:
            kube.register_node(node.name, node.mgmt_ip)
        cluster.kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        settings = ReflectorSettings(kubeconfig=cluster.kubeconfig, store=store_settings)
        api = await stack.enter_async_context(KubeApi.connect(cluster.kubeconfig))
        cluster.reflector = Reflector(settings, cluster.store, api)
        stopping = asyncio.Event()
        task = asyncio.create_task(cluster.reflector.run(stopping), name="reflector")

        async def stop_reflector() -> None:
            stopping.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop_reflector)
        for node in cluster.nodes:
            await _wait_agent_ready(node)
        yield cluster
