"""The agent's Prometheus metrics after real work: a node agent on the VPP simulator with real
etcd, pods wired through the CNI server's socket, a VPP call failing, VPP and etcd restarting. The
assertions read the registry's exposition, as Prometheus would scrape it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from contivpy.agent.metrics import AgentMetrics
from contivpy.agent.node_agent import NodeAgent
from contivpy.cni.client import call_agent
from contivpy.cni.types import CniError, CniRequest
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppcalls.retvals import Retval
from doubles.agent_nodes import Node, eventually, pod_request

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(metrics: AgentMetrics) -> Samples:
    """Every sample of the exposition: (name, labels) -> value."""
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def cni_request(name: str) -> CniRequest:
    """The request the kubelet's CNI plugin sends for a pod (its CNI_ARGS name it)."""
    args = f"K8S_POD_NAMESPACE=default;K8S_POD_NAME={name}"
    return dataclasses.replace(pod_request(name), args=args)


async def cni(node: Node, command: str, name: str) -> None:
    """One CNI call to the node's agent, through its CNI socket."""
    await call_agent(str(node.dir / "cni.sock"), command, cni_request(name), 10)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one series grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


async def start_measured_agent(node: Node) -> tuple[NodeAgent, AgentMetrics]:
    """Start the node's agent as ``contivpy agent`` does: with metrics."""
    metrics = AgentMetrics()
    agent = NodeAgent(node.config(), node.store, metrics=metrics)
    agent.vpp.health_interval = 0.05
    node.agent = agent  # stopped by the fixture
    await agent.start(vpp_timeout=10)
    await agent.wait_ready()
    await agent.loop.wait_idle()
    return agent, metrics


async def test_a_pod_wired_through_cni_shows_in_the_metrics(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent, metrics = await start_measured_agent(node)
    before = scrape(metrics)
    assert value(before, "contivpy_agent_pods") == 0
    assert value(before, "contivpy_agent_transactions_total", kind="full-resync", outcome="ok") == 1

    await cni(node, "add", "web")

    after = scrape(metrics)
    add_ok = {"command": "add", "outcome": "ok"}
    assert value(after, "contivpy_agent_cni_request_seconds_count", **add_ok) == 1
    assert value(after, "contivpy_agent_cni_request_seconds_bucket", le="+Inf", **add_ok) == 1
    assert value(after, "contivpy_agent_cni_request_seconds_sum", **add_ok) > 0
    assert value(after, "contivpy_agent_pods") == 1
    # The pod's transaction: one more successful change, its ops executed without failure.
    changes = {"kind": "nb-change", "outcome": "ok"}
    assert grown(before, after, "contivpy_agent_transactions_total", **changes) == 1
    assert total(after, "contivpy_agent_transactions_total", outcome="failed") == 0
    assert grown(before, after, "contivpy_agent_scheduler_ops_total", op="create", outcome="ok") > 0
    assert total(after, "contivpy_agent_scheduler_ops_total", outcome="failed") == 0
    # VPP calls were timed, by message: the pod's tap among them (the host's tap was before).
    taps = {"message": "tap_create_v3"}
    assert grown(before, after, "contivpy_agent_vpp_call_seconds_count", **taps) == 1
    assert total(after, "contivpy_agent_vpp_call_errors_total") == 0
    # The AddPod event was timed; the queue is empty again.
    assert value(after, "contivpy_agent_event_seconds_count", event="AddPod") == 1
    assert value(after, "contivpy_agent_event_queue_length") == 0

    await cni(node, "delete", "web")
    deleted = scrape(metrics)
    assert (
        value(deleted, "contivpy_agent_cni_request_seconds_count", command="del", outcome="ok") == 1
    )
    assert value(deleted, "contivpy_agent_pods") == 0
    assert agent.pods.pods == {}


async def test_a_failed_vpp_call_counts_its_message_and_retval(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent, metrics = await start_measured_agent(node)
    node.sim.fail_next("tap_create_v3", int(Retval.INVALID_VALUE))

    with pytest.raises(CniError):
        await cni(node, "add", "web")

    samples = scrape(metrics)
    retval = str(int(Retval.INVALID_VALUE))
    assert (
        value(
            samples, "contivpy_agent_vpp_call_errors_total", message="tap_create_v3", retval=retval
        )
        == 1
    )
    assert (
        value(samples, "contivpy_agent_cni_request_seconds_count", command="add", outcome="failed")
        == 1
    )
    assert (
        value(samples, "contivpy_agent_transactions_total", kind="nb-change", outcome="failed") == 1
    )
    assert value(samples, "contivpy_agent_scheduler_ops_total", op="create", outcome="failed") == 1
    assert value(samples, "contivpy_agent_event_failures_total", event="AddPod") == 1
    assert value(samples, "contivpy_agent_pods") == 0
    assert agent.pods.pods == {}


async def test_a_vpp_restart_counts_a_reconnect_and_a_restart(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent, metrics = await start_measured_agent(node)
    before = scrape(metrics)
    assert value(before, "contivpy_agent_vpp_restarts_total") == 0

    await node.sim.restart()
    await eventually(lambda: agent.vpp_restarts == 1)
    await agent.loop.wait_idle()

    samples = scrape(metrics)
    assert value(samples, "contivpy_agent_vpp_restarts_total") == 1
    assert value(samples, "contivpy_agent_vpp_reconnects_total") == 1
    # The resync that rebuilt VPP is a downstream resync, and it succeeded.
    assert value(samples, "contivpy_agent_event_seconds_count", event="DownstreamResync") == 1
    downstream = {"kind": "downstream-resync", "outcome": "ok"}
    assert value(samples, "contivpy_agent_transactions_total", **downstream) == 1


async def test_an_etcd_restart_counts_an_etcd_reconnect(
    private_etcd: EmbeddedEtcd, tmp_path: Path
) -> None:
    sim = VppSimulator(str(tmp_path / "api.sock"))
    await sim.start()
    settings = StoreSettings(endpoints=(private_etcd.endpoint,), prefix="/metrics/")
    async with EtcdStore(settings) as store:
        node = Node("n1", tmp_path, sim, store, prefix="/vnf-agent/contiv-ksr/")
        try:
            agent, metrics = await start_measured_agent(node)
            assert value(scrape(metrics), "contivpy_agent_etcd_reconnects_total") == 0

            await private_etcd.kill()
            await private_etcd.start()
            # A change written after the restart reaches the agent as an event: its watch is
            # back (the value need not decode: a rejected object is an event too).
            processed = agent.loop.stats.processed
            await store.put("/vnf-agent/contiv-ksr/k8s/namespace/after-restart", b"{}")
            await eventually(lambda: agent.loop.stats.processed > processed)

            assert value(scrape(metrics), "contivpy_agent_etcd_reconnects_total") >= 1
        finally:
            await node.stop_agent()
            await sim.stop()
