"""The ``eventlog`` benchmark suite (issue 4): Kubernetes -> reflector -> etcd -> node agent.

In: ``EventlogSizes`` (``FULL`` or ``QUICK``) and ``Problems``. Out: the suite's metrics in a
fixed order (names of the full size in both modes, as the other suites do):

- ``reflector_initial_10k_s``: a reflector starting against an empty etcd, until etcd holds
  every pod key of the stand-in (target <= 5 s);
- ``reflector_latency_p50_ms`` / ``reflector_latency_p99_ms``: steady state, one pod change
  in the stand-in -> its put in etcd, at ``rate`` changes per second (target p99 <= 50 ms);
- ``reflector_latency_rate``: the pace the changes were actually driven at;
- ``agent_fold_10k_s``: a node agent's start until its first DBResync is processed, with the
  reflected cluster in etcd and an empty VPP (target <= 2 s), and ``agent_fold_rss_mb``, the
  agent process's peak RSS after it;
- ``agent_restart_fold_10k_s``: the same agent restarted against the VPP it configured.

Processes (one etcd, the stand-in, the VPP simulator and the agent each in their own, the
reflector in this one): see ``eventlog_kube``, ``eventlog_reflector`` and ``eventlog_agent``.
etcd is an embedded etcd 3.5 with its default settings (fsync on) in a temporary directory.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from contivpy.bench import eventlog_agent, eventlog_reflector
from contivpy.bench.eventlog_agent_proc import FoldRun
from contivpy.bench.eventlog_cluster import (
    ClusterShape,
    address_plan,
    other_node_records,
    placements,
)
from contivpy.bench.eventlog_kube import kube_process
from contivpy.bench.eventlog_reflector import LatencyPlan, ReflectorRun
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.verify import Problems
from contivpy.reflector import ReflectorSettings
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings

BENCH = "eventlog"
_SLOWEST_PACE = 0.95  # below this share of the planned rate the latencies are not "at" it


@dataclass(frozen=True, slots=True)
class EventlogSizes:
    """Sizes of one run."""

    shape: ClusterShape
    latency: LatencyPlan


FULL = EventlogSizes(
    # 10,000 pods need at least 91 nodes at the kubelet's default of 110 pods per node.
    ClusterShape(pods=10_000, nodes=100, namespaces=20, local_pods=20, local_host_network_pods=5),
    LatencyPlan(rate=200.0, seconds=10.0),
)
QUICK = EventlogSizes(
    ClusterShape(pods=1_000, nodes=10, namespaces=5, local_pods=5, local_host_network_pods=2),
    LatencyPlan(rate=200.0, seconds=2.0),
)


async def run(sizes: EventlogSizes, problems: Problems) -> list[Metric]:
    """Run the phases in order; returns the metrics (also when a problem was recorded)."""
    shape = sizes.shape
    plan = address_plan()
    pods = placements(shape, plan)
    with tempfile.TemporaryDirectory(prefix="contivpy-bench-eventlog-") as tmp:
        directory = Path(tmp)
        async with EmbeddedEtcd(directory / "etcd") as etcd:
            store_settings = StoreSettings(endpoints=(etcd.endpoint,))
            async with (
                kube_process(shape, directory) as kube,
                EtcdStore(store_settings) as bench_store,
            ):
                settings = ReflectorSettings(
                    kubeconfig=kube.kubeconfig, store=store_settings, identity="bench-reflector"
                )
                reflected = await eventlog_reflector.measure(
                    kube, settings, bench_store, pods, sizes.latency, problems
                )
                # What the other nodes' agents would have written: their node IDs.
                for key, value in other_node_records(shape, plan).items():
                    await bench_store.put(settings.prefix + key, value)
            first, again = await eventlog_agent.measure_folds(
                etcd.endpoint, settings.prefix, pods, shape.nodes, directory, problems
            )
    if reflected.rate < _SLOWEST_PACE * sizes.latency.rate:
        problems.add(
            f"steady phase: driven at {reflected.rate:.1f} changes/s, not "
            f"{sizes.latency.rate:g}/s: the latencies are not at the planned rate"
        )
    return _reflector_metrics(sizes, reflected) + _agent_metrics(shape, first, again)


def _reflector_metrics(sizes: EventlogSizes, run: ReflectorRun) -> list[Metric]:
    shape, latency = sizes.shape, sizes.latency
    changes = (
        f"{run.driven:,} label patches to distinct pods at {latency.rate:g}/s "
        f"(after {latency.warm_up} uncounted), stand-in patch returned -> bench etcd watch "
        f"got the put"
    )
    slowest = max(run.latencies_ms, default=float("nan"))
    return [
        Metric(
            "reflector_initial_10k_s",
            run.initial_seconds,
            "s",
            Target("<=", 5.0),
            f"reflector start (connect, list, write) -> etcd holds every pod key: "
            f"{shape.describe()}, empty etcd",
        ),
        Metric("reflector_latency_p50_ms", run.percentile(0.50), "ms", None, changes),
        Metric(
            "reflector_latency_p99_ms",
            run.percentile(0.99),
            "ms",
            Target("<=", 50.0),
            f"{changes}; slowest {slowest:.1f} ms",
        ),
        Metric(
            "reflector_latency_rate",
            run.rate,
            "events/s",
            None,
            f"pace the changes were driven at ({run.late} made over one period late)",
        ),
    ]


def _agent_metrics(shape: ClusterShape, first: FoldRun, again: FoldRun) -> list[Metric]:
    others = shape.pods - shape.local_pods
    what = (
        f"{shape.pods:,} reflected pods ({shape.local_pods} local wired, {others:,} on other "
        f"nodes or host network), {shape.nodes} nodes"
    )
    return [
        Metric(
            "agent_fold_10k_s",
            first.seconds,
            "s",
            Target("<=", 2.0),
            f"agent start -> first DBResync processed, empty VPP (simulator process): {what}; "
            f"the DBResync event itself {first.resync_seconds:.3f} s, {first.values:,} values",
        ),
        Metric(
            "agent_fold_rss_mb",
            first.rss_mb,
            "MB",
            None,
            f"peak RSS (VmHWM) of the agent process after the fold; "
            f"{first.baseline_rss_mb:.1f} MB before the agent was built (interpreter, imports, "
            f"etcd client)",
        ),
        Metric(
            "agent_restart_fold_10k_s",
            again.seconds,
            "s",
            None,
            f"the same, agent restarted against the VPP it configured (0 writes); the "
            f"DBResync event itself {again.resync_seconds:.3f} s",
        ),
    ]
