"""The demo's cluster on real VPPs: ``contivpy demo --vpp BINARY`` (needs root and iproute2).

In: a working directory, a node count, the ``vpp`` binary. Out (an async context manager):
:class:`RealCluster`, everything below running, and removed again on exit:

- in this namespace: the embedded etcd, the Kubernetes stand-in and the reflector, as in the
  simulator demo, and a bridge ``cvm-<tag>`` (10.213.0.1/24) through which the agents of
  the nodes reach etcd;
- per node a network namespace ``cvn<i>-<tag>`` holding a veth to that bridge
  (10.213.0.<10+i>, the node's InternalIP), a real VPP with a start-up configuration of its
  own, the node agent as a process (``contivpy agent``, veth mode: kernels here have no
  /dev/vhost-net), and the host ends of its pods' veths;
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
import json
import os
import signal
import subprocess
import sys
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
from contivpy.sim.kube.pod_network import PodNetworkFailure, PodNetworkResult
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppprocess.process import VppProcess
from contivpy.vppprocess.startup import StartupConfig

log = structlog.get_logger(__name__)

MGMT_PREFIX = "10.213.0"
_PYTHON = [sys.executable, "-m", "contivpy.cli"]


class RealDemoError(Exception):
    """The real-VPP demo cannot run here (not root, no iproute2, VPP failed)."""


def _ip(*args: str, check: bool = True) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RealDemoError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def check_real_demo_possible(binary: Path) -> None:
    """Raise RealDemoError naming what is missing."""
    if os.geteuid() != 0:
        raise RealDemoError("demo --vpp needs root: it makes network namespaces and links")
    if not os.access(binary, os.X_OK):
        raise RealDemoError(f"{binary} is not an executable VPP binary")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise RealDemoError(f"`ip netns` is unavailable: {probe.stderr.strip()}")


@dataclass
class RealNode:
    """One node: its namespace, VPP and agent process."""

    name: str
    index: int
    netns: str
    dir: Path
    vpp: VppProcess
    agent: subprocess.Popen[bytes] | None = None

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
        env = {**os.environ, "CONTIVPY_DEBUG_SOCKET": str(self.debug_socket)}
        done = subprocess.run(
            [*_PYTHON, "ctl", *args, "--json"], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            return []
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


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

    def node(self, name: str) -> RealNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    async def _pod_added(self, pod: dict[str, Any]) -> PodNetworkResult:
        name = str((pod.get("spec") or {}).get("nodeName", ""))
        try:
            node = self.node(name)
        except KeyError:
            return PodNetworkFailure(f"no contivpy agent on node {name!r}")
        cid = cni_exec.sandbox_id(pod)
        netns = cni_exec.pod_netns_name(cid)
        if netns not in self.pod_namespaces.values():
            _ip("netns", "add", netns)
            _ip("netns", "exec", netns, "ip", "link", "set", "lo", "up")
            self.pod_namespaces[cid] = netns
        return await cni_exec.add(pod, node.cni_socket)

    async def _pod_removed(self, pod: dict[str, Any]) -> None:
        name = str((pod.get("spec") or {}).get("nodeName", ""))
        with contextlib.suppress(KeyError):
            await cni_exec.delete(pod, self.node(name).cni_socket)
        netns = self.pod_namespaces.pop(cni_exec.sandbox_id(pod), None)
        if netns is not None:
            _ip("netns", "del", netns, check=False)


def ping(netns: str, address: str, count: int = 3) -> tuple[int, str]:
    """Replies out of ``count`` from ``netns`` to ``address``, and a summary line in ping's
    words (or why no echo could be sent)."""
    try:
        result = icmp_echo.echo(address, count, netns=netns, interval=0.2, timeout=1.0)
    except (OSError, ValueError) as error:
        return 0, f"no echo sent: {error}"
    return result.received, result.summary


def _agent_config(node: RealNode, etcd_endpoint: str) -> Path:
    config = node.dir / "agent.yaml"
    # JSON is YAML: the agent reads it as its configuration file.
    config.write_text(
        json.dumps(
            {
                "nodeName": node.name,
                "interfaces": {"useTapInterfaces": False, "mainHostInterface": "und0"},
                "store": {"endpoints": [etcd_endpoint]},
                "paths": {
                    "stateDir": str(node.dir / "state"),
                    "vppSocket": node.vpp.api_socket,
                    "cniSocket": str(node.cni_socket),
                    "debugSocket": str(node.debug_socket),
                },
            },
            indent=2,
        )
    )
    return config


def _spawn_agent(node: RealNode, config: Path) -> subprocess.Popen[bytes]:
    with (node.dir / "agent.log").open("ab") as log_file:
        return subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                node.netns,
                *_PYTHON,
                "--log-json",
                "agent",
                "--config",
                str(config),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop_agent(node: RealNode) -> None:
    process, node.agent = node.agent, None
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _wait_agent_ready(node: RealNode, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if node.agent is not None and node.agent.poll() is not None:
            raise RealDemoError(f"the agent of {node.name} exited; see {node.dir / 'agent.log'}")
        status = await asyncio.to_thread(node.ctl, "status")
        if status and agent_ready(status[0]):
            return
        await asyncio.sleep(0.2)
    raise RealDemoError(f"the agent of {node.name} was not ready within {seconds} s")


def agent_ready(status: dict[str, Any]) -> bool:
    """Whether ``contivpy ctl status --json`` shows an agent connected to VPP that has
    applied a full desired state (its first resync is done)."""
    vpp = status.get("vpp") or {}
    resync = status.get("last_resync") or {}
    return bool(vpp.get("connected")) and resync.get("kind") in ("full-resync", "downstream-resync")


def _make_links(cluster: RealCluster, count: int) -> None:
    tag = cluster.tag
    mgmt, underlay = f"cvm-{tag}", f"cvu-{tag}"
    _ip("link", "add", mgmt, "type", "bridge")
    _ip("addr", "add", f"{MGMT_PREFIX}.1/24", "dev", mgmt)
    _ip("link", "set", mgmt, "up")
    _ip("netns", "add", underlay)
    _ip("netns", "exec", underlay, "ip", "link", "add", "br0", "type", "bridge")
    _ip("netns", "exec", underlay, "ip", "link", "set", "br0", "up")
    for index in range(1, count + 1):
        ns = f"cvn{index}-{tag}"
        _ip("netns", "add", ns)
        _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        # management: this namespace's bridge <-> mgmt0 in the node
        _ip(
            "link", "add", f"cvm{index}-{tag}", "type", "veth", "peer", "name", "mgmt0", "netns", ns
        )
        _ip("link", "set", f"cvm{index}-{tag}", "master", mgmt, "up")
        _ip(
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
        _ip("netns", "exec", ns, "ip", "link", "set", "mgmt0", "up")
        # underlay: und0 in the node <-> u<i> on the underlay bridge
        _ip(
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
        _ip("netns", "exec", underlay, "ip", "link", "set", f"u{index}", "master", "br0", "up")
        _ip("netns", "exec", ns, "ip", "link", "set", "und0", "up")


def _remove_links(cluster: RealCluster, count: int) -> None:
    tag = cluster.tag
    for netns in list(cluster.pod_namespaces.values()):
        _ip("netns", "del", netns, check=False)
    for index in range(1, count + 1):
        _ip("link", "del", f"cvm{index}-{tag}", check=False)
        _ip("netns", "del", f"cvn{index}-{tag}", check=False)
    _ip("netns", "del", f"cvu-{tag}", check=False)
    _ip("link", "del", f"cvm-{tag}", check=False)


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
            node.agent = _spawn_agent(node, _agent_config(node, etcd.endpoint))
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
