"""A whole cluster on a three-member etcd: the leader dies, then another member, during pod churn.

The reflector and two node agents (on VPP simulators) each have their own store with all three
endpoints, the leader's first. Pods are created and deleted through the Kubernetes stand-in
while the leader is killed (and later brought back), then the member the reflector moved to is
killed and brought back. Afterwards etcd holds every live pod exactly once and no deleted one,
no pod key was ever written twice with the same bytes, each agent saw every change of a pod
once (no event repeated or lost across the failovers) and wired every live pod into its VPP,
and every store reports that it moved off the member that died.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.controllers import naming
from contivpy.demo import cni_exec
from contivpy.events.types import KubeStateChange
from contivpy.models.k8s_codec import DEFAULT_PREFIX, parse_key
from contivpy.reflector import Reflector, ReflectorSettings
from contivpy.reflector.watching import KubeApi
from contivpy.settings import AgentSettings
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.kube.pod_network import PodNetworkFailure, PodNetworkResult
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.api import EventType, ListResult, WatchEvent
from contivpy.store.embedded_cluster import EmbeddedEtcdCluster
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from doubles.agent_nodes import eventually

POD = """
apiVersion: v1
kind: Pod
metadata: {name: NAME, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
"""
POD_PREFIX = "k8s/pod/"
SENTINEL = "/test/history-end"


@dataclass
class Node:
    name: str
    sim: VppSimulator
    store: EtcdStore
    agent: NodeAgent
    cni_socket: Path


@dataclass
class Cluster:
    kube: KubeApiStandIn
    reflector_store: EtcdStore
    nodes: list[Node] = field(default_factory=list)

    def stores(self) -> list[EtcdStore]:
        return [self.reflector_store, *(node.store for node in self.nodes)]


@contextlib.asynccontextmanager
async def cluster_on(workdir: Path, settings: StoreSettings) -> AsyncIterator[Cluster]:
    """The reflector and two agents, each with a store of its own on ``settings``."""
    nodes: dict[str, Node] = {}

    async def pod_added(pod: dict[str, Any]) -> PodNetworkResult:
        node = nodes.get(str((pod.get("spec") or {}).get("nodeName", "")))
        if node is None:
            return PodNetworkFailure("no contivpy agent on that node")
        return await cni_exec.add(pod, node.cni_socket)

    async def pod_removed(pod: dict[str, Any]) -> None:
        node = nodes.get(str((pod.get("spec") or {}).get("nodeName", "")))
        if node is not None:
            await cni_exec.delete(pod, node.cni_socket)

    async with contextlib.AsyncExitStack() as stack:
        for index in (1, 2):
            directory = workdir / f"node-{index}"
            directory.mkdir(parents=True)
            sim = await stack.enter_async_context(VppSimulator(str(directory / "api.sock")))
            store = await stack.enter_async_context(EtcdStore(settings))
            name = f"node-{index}"
            config = AgentConfig(
                AgentSettings(node_name=name).validate(),
                AgentPaths(
                    state_dir=directory / "state",
                    vpp_socket=directory / "api.sock",
                    cni_socket=directory / "cni.sock",
                    debug_socket=directory / "debug.sock",
                ),
                configure_linux=False,  # simulated pods: no network namespaces
            )
            agent = NodeAgent(config, store)
            await agent.start(vpp_timeout=10)
            stack.push_async_callback(agent.stop)
            nodes[name] = Node(name, sim, store, agent, directory / "cni.sock")
        kube = KubeApiStandIn(pod_network=pod_added, pod_teardown=pod_removed)
        await stack.enter_async_context(kube)
        kube.install_contivpp_crds()
        for index, name in enumerate(nodes, start=1):
            kube.register_node(name, f"10.20.0.{index}")
        kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        kube_api = await stack.enter_async_context(KubeApi.connect(kubeconfig))
        reflector_store = await stack.enter_async_context(EtcdStore(settings))
        reflector = Reflector(
            ReflectorSettings(kubeconfig=kubeconfig, store=settings), reflector_store, kube_api
        )
        stop = asyncio.Event()
        task = asyncio.create_task(reflector.run(stop), name="reflector")

        async def stop_reflector() -> None:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        stack.push_async_callback(stop_reflector)
        for node in nodes.values():
            await node.agent.wait_ready()
        yield Cluster(kube, reflector_store, list(nodes.values()))


def running_pods(kube: KubeApiStandIn) -> dict[str, dict[str, Any]]:
    """Pods that got their network, by name."""
    return {
        pod["metadata"]["name"]: pod
        for pod in kube.list("v1", "Pod", "default")
        if (pod.get("status") or {}).get("podIP")
    }


def vpp_taps(cluster: Cluster) -> set[str]:
    """Tags of every interface the simulated VPPs hold."""
    return {iface.tag for node in cluster.nodes for iface in node.sim.state.interfaces.values()}


async def stored_pods_once(store: EtcdStore, live: set[str], within: float = 30) -> ListResult:
    """The reflected pods once etcd holds exactly ``live`` (or what it holds at the end)."""
    for _ in range(int(within / 0.1)):
        stored = await store.list(DEFAULT_PREFIX + POD_PREFIX)
        if {pod_name(item.key) for item in stored.items} == live:
            break
        await asyncio.sleep(0.1)
    return stored


def pod_name(key: str) -> str:
    """The pod a reflected key names."""
    object_id = parse_key(key.removeprefix(DEFAULT_PREFIX))
    assert object_id is not None, key
    return object_id.name


# 10 s (an etcd cluster and two agents) measured on a shared 2-core machine; 3x, rounded.
@pytest.mark.timeout(40)
async def test_cluster_survives_losing_the_etcd_leader_and_another_member_during_churn(
    tmp_path: Path, etcd_cluster: EmbeddedEtcdCluster
) -> None:
    async with EtcdStore(StoreSettings(endpoints=etcd_cluster.endpoints)) as probe:
        leader = await probe.leader_endpoint()
        start_revision = await probe.revision() + 1
    assert leader is not None
    ordered = (leader, *(e for e in etcd_cluster.endpoints if e != leader))
    settings = StoreSettings(endpoints=ordered)

    async with cluster_on(tmp_path, settings) as cluster:
        kube = cluster.kube
        assert all(store.endpoint_in_use == leader for store in cluster.stores())
        created: list[str] = []
        deleted: set[str] = set()

        async def churn(count: int) -> None:
            """Create ``count`` pods, deleting every third pod created before."""
            for _ in range(count):
                name = f"p{len(created):02d}"
                kube.apply_yaml(POD.replace("NAME", name))
                created.append(name)
                if len(created) % 3 == 0:
                    victim = created[len(created) - 3]
                    kube.delete("v1", "Pod", victim, "default")
                    deleted.add(victim)
                await asyncio.sleep(0.1)

        async with asyncio.timeout(60):
            await churn(4)
            churning = asyncio.create_task(churn(6))
            await etcd_cluster.member(leader).kill()
            await churning
            # Every store moves off the dead leader (to a live member).
            await eventually(
                lambda: all(s.endpoint_in_use != leader for s in cluster.stores()), within=10
            )
            await etcd_cluster.member(leader).start()

            second = cluster.reflector_store.endpoint_in_use
            churning = asyncio.create_task(churn(6))
            await etcd_cluster.member(second).kill()
            await churning
            await eventually(lambda: cluster.reflector_store.endpoint_in_use != second, within=10)
            await etcd_cluster.member(second).start()
            await churn(2)

            live = set(created) - deleted
            await kube.wait_for(lambda: True if set(running_pods(kube)) == live else None, 30)
            pods = running_pods(kube)
            wanted_taps = {naming.pod_vpp_tap(cni_exec.sandbox_id(pod)) for pod in pods.values()}
            gone_taps = {t for t in vpp_taps(cluster) if t.startswith("vpp-tap-")} - wanted_taps

            def converged() -> bool:
                taps = vpp_taps(cluster)
                return wanted_taps <= taps and not (taps & gone_taps)

            await eventually(converged, within=30)
            # The reflector catches up (a write that was in flight to a member when the leader
            # died fails only after etcd's request timeout, and is then resolved by a resync).
            stored = await stored_pods_once(cluster.reflector_store, live)

            # Every change of a pod key since the start, as etcd's history has it (read up to
            # a key of this test's own, written last).
            history: list[WatchEvent] = []
            await cluster.reflector_store.put(SENTINEL, b"end")
            async with cluster.reflector_store.watch("", start_revision=start_revision) as events:
                async for event in events:
                    if event.key == SENTINEL:
                        break
                    if event.key.startswith(DEFAULT_PREFIX + POD_PREFIX):
                        history.append(event)

    # etcd holds every live pod once and no deleted one.
    assert sorted(pod_name(item.key) for item in stored.items) == sorted(live)
    # No write repeated what the key already held, and each pod was created once.
    assert [e.key for e in history if e.type is EventType.PUT and e.value == e.prev_value] == []
    creations = [e.key for e in history if e.type is EventType.PUT and e.prev_value is None]
    assert len(creations) == len(set(creations))
    # (A pod deleted while the reflector could not write may never have reached etcd.)
    created_names = {pod_name(key) for key in creations}
    assert live <= created_names <= set(created), sorted(set(created) - created_names)
    # Each agent processed every change of a pod once: none repeated, none lost.
    pod_changes = {(e.key.removeprefix(DEFAULT_PREFIX), e.mod_revision) for e in history}
    for node in cluster.nodes:
        seen = [
            record.description
            for record in node.agent.history.records()
            if record.name == KubeStateChange.name and record.description.startswith("pod ")
        ]
        assert len(seen) == len(set(seen)), node.name
        assert len(seen) == len(pod_changes), node.name
