"""Smoke test of ``contivpy bench eventlog``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, and the run exited 0 (every check passed: etcd held exactly the stand-in's
pods with the codec's bytes, every change arrived, the agent's fold found its node ID, the
other nodes and its local pods, and the restarted agent wrote nothing to VPP). Also: the
cluster layout the suite builds, and the percentile it reports.
"""

from __future__ import annotations

import ipaddress

import pytest

from bench.quick_run import run_quick
from contivpy.bench.eventlog_cluster import AGENT_NODE_ID, ClusterShape, address_plan, placements
from contivpy.bench.eventlog_reflector import ReflectorRun

METRICS = (
    "reflector_initial_10k_s",
    "reflector_latency_p50_ms",
    "reflector_latency_p99_ms",
    "reflector_latency_rate",
    "agent_fold_10k_s",
    "agent_fold_rss_mb",
    "agent_restart_fold_10k_s",
    "peak_rss_mb",
)


# 12 s (a whole quick benchmark run) with both cores of a 2-core machine busy; 3x, rounded.
@pytest.mark.timeout(40)
def test_quick_bench_emits_every_metric_once() -> None:
    run_quick("eventlog", METRICS, timeout=35)  # within the test's own timeout


def test_the_cluster_puts_a_few_pods_on_the_agents_node_with_unique_addresses() -> None:
    plan = address_plan()
    shape = ClusterShape(pods=300, nodes=4, namespaces=3, local_pods=4, local_host_network_pods=2)
    pods = placements(shape, plan)
    assert len({(p.namespace, p.name) for p in pods}) == 300
    local = [p for p in pods if p.node_id == AGENT_NODE_ID]
    assert sum(not p.host_network for p in local) == 4
    assert sum(p.host_network for p in local) == 2
    assert {p.node_id for p in pods} == {1, 2, 3, 4}
    pod_network = [p for p in pods if not p.host_network]
    assert len({p.ip for p in pod_network}) == len(pod_network)
    for pod in pod_network:
        assert ipaddress.ip_address(pod.ip) in plan.node(pod.node_id).pod_subnet
    for pod in pods:
        if pod.host_network:
            assert pod.ip == str(plan.node(pod.node_id).node_address)


def test_percentiles_are_nearest_rank() -> None:
    run = ReflectorRun(
        initial_seconds=1.0,
        latencies_ms=[float(ms) for ms in range(100, 0, -1)],
        driven=100,
        driven_seconds=0.495,
        late=0,
    )
    assert run.percentile(0.50) == 50.0
    assert run.percentile(0.99) == 99.0
    assert run.rate == 200.0
