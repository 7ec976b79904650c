"""The ``pods`` benchmark suite (issues 5, 10, 12): one node, pods ADDed by plugin processes
as the kubelet execs them and DELed again, then its pods ADDed by CNI, an agent restart and a
VPP restart; then, on a node of its own, the multi-interface run (``pods_multi_if``).

In: ``PodsSizes`` (``FULL``: 100 exec'd ADDs, then 250 pods, a full /24 less reserved
addresses, then 100 multi-interface pods; ``QUICK``: 10, then 20, then 10) and ``Problems``.
Out: the suite's metrics in a fixed order (full-size names in both modes):

- ``cni_exec_add_p50_ms`` / ``cni_exec_add_p99_ms``: per-ADD latency when each ADD is a
  ``contivpy cni`` process (``cni_exec_load``), from its start to its exit, ``concurrency``
  (10) in flight; targets 60 / 120 ms; ``cni_exec_start_p50_ms``: the plugin's start alone
  (a CNI VERSION process, one at a time), the part of an exec'd ADD that is not the agent's;
- ``cni_exec_add_cpu_ms``: the mean CPU of those plugin processes (their own, from
  ``getrusage(RUSAGE_CHILDREN)``);
- ``cni_exec_add_{to_loop,controllers,southbound,reply}_p50_ms``: the medians of where those
  ADDs' time went, from the agent's event and transaction records (``add_breakdown``);
- ``cni_add_p50_ms`` / ``cni_add_p99_ms``: per-ADD latency through the agent's RemoteCNI
  socket, ``concurrency`` (10) ADDs in flight, sent from a process of their own as kubelet's
  plugins are (``cni_load``); nearest-rank percentiles; targets 20 / 60 ms;
- ``add_250_total_s``: from the first ADD sent to the last result;
- ``restart_steady_s`` / ``restart_vpp_writes``: a new agent against the unchanged VPP, seconds
  to steady state (target 2 s) and configuration requests VPP served meanwhile (target 0);
- ``vpp_restart_restore_s``: VPP restarted, seconds until it holds everything again
  (target 3 s);
- ``multi_if_add_p50_ms`` / ``multi_if_add_p99_ms``: per-ADD latency, as ``cni_add_*``, of
  pods with ``eth0``, a tap (a veth in veth mode) and a memif (custom interfaces, the memif
  from the memif device plugin's allocations); targets 30 / 90 ms;
- ``multi_if_restart_vpp_writes``: configuration requests VPP served during an agent restart
  with those pods (target 0);
- ``agent_rss_mb``: peak RSS of this process, which runs the agent (the CNI callers, the
  simulator and etcd are other processes), taken before the multi-interface run; target
  150 MB.

Correctness is checked after every phase (see ``pods_scenarios``); a failure makes the run
exit 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from contivpy.bench import (
    add_breakdown,
    cni_exec_load,
    cni_load,
    environment,
    pods_multi_if,
    pods_scenarios,
)
from contivpy.bench.cni_load import AddRun
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.pods_node import pods_node
from contivpy.bench.verify import Problems

BENCH = "pods"


@dataclass(frozen=True, slots=True)
class PodsSizes:
    """Sizes of one run."""

    pods: int
    exec_pods: int  # ADDs (and DELs) made by plugin processes, before the 250
    multi_if_pods: int  # pods with eth0 + 2 custom interfaces, on a node of their own
    concurrency: int = 10
    version_runs: int = 10


FULL = PodsSizes(pods=250, exec_pods=100, multi_if_pods=100)
QUICK = PodsSizes(pods=20, exec_pods=10, multi_if_pods=10, version_runs=3)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of the values
    at or below it (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def run(sizes: PodsSizes, problems: Problems) -> list[Metric]:
    """Run the phases in order on one node; returns the metrics (also after a problem)."""
    pods = cni_load.bench_pods(sizes.pods)
    exec_pods = cni_load.bench_pods(sizes.exec_pods, prefix="exec-pod")
    async with pods_node() as node:
        await node.start_agent()
        plugin = cni_exec_load.install_plugin(node.directory)
        start_ms = await cni_exec_load.plugin_start_ms_from_process(
            sizes.version_runs, node.directory
        )
        if len(start_ms) < sizes.version_runs:
            problems.add("plugin start: a CNI VERSION call failed")
        execed, plugin_cpu_s = await cni_exec_load.exec_adds_from_process(
            node.cni_socket, exec_pods, sizes.concurrency, node.directory
        )
        assert node.agent is not None
        pods_scenarios.check_adds(execed, node.agent, exec_pods, problems)
        parts = add_breakdown.breakdown(
            execed.spans, node.agent.history.records(), node.agent.scheduler.txn_history()
        )
        label = f"exec'd ADD of {len(exec_pods)} pods"
        await pods_scenarios.check_vpp(label, node.sim, exec_pods, problems)
        for failure in await cni_exec_load.exec_dels_from_process(
            node.cni_socket, exec_pods, sizes.concurrency, node.directory
        ):
            problems.add(f"exec'd DEL: {failure}")
        await pods_scenarios.check_deleted("exec'd DEL", node, exec_pods, problems)
        added = await cni_load.add_pods_from_process(node.cni_socket, len(pods), sizes.concurrency)
        pods_scenarios.check_adds(added, node.agent, pods, problems)
        await pods_scenarios.check_vpp(f"ADD of {len(pods)} pods", node.sim, pods, problems)
        restarted = await pods_scenarios.restart_agent(node, pods, problems)
        restore_s = await pods_scenarios.restart_vpp(node, pods, problems)
    rss = environment.peak_rss_mb()
    multi = await pods_multi_if.run(sizes.multi_if_pods, sizes.concurrency, problems)

    n, c = sizes.pods, sizes.concurrency
    adds = (
        f"{len(added.latencies_ms):,} successful CNI ADDs of {n:,} through RemoteCNI "
        "(sent from another process)"
    )
    execs = f"{len(execed.latencies_ms):,} successful CNI ADDs of {sizes.exec_pods:,}"
    return [
        *exec_metrics(
            execed,
            execs,
            plugin,
            c,
            start_ms,
            plugin_cpu_s * 1000 / max(1, sizes.exec_pods),
            f"the mean over the {sizes.exec_pods:,}: times {c} in flight over the cores, "
            "the floor of the p50",
        ),
        *breakdown_metrics(parts),
        Metric(
            "cni_add_p50_ms",
            percentile(added.latencies_ms, 0.50),
            "ms",
            Target("<=", 20),
            f"median of {adds}, {c} in flight",
        ),
        Metric(
            "cni_add_p99_ms",
            percentile(added.latencies_ms, 0.99),
            "ms",
            Target("<=", 60),
            f"99th percentile (nearest rank) of {adds}, {c} in flight",
        ),
        Metric(
            "add_250_total_s",
            added.seconds,
            "s",
            None,
            f"{n:,} pods ADDed, {c} at a time: first request to last result",
        ),
        Metric(
            "restart_steady_s",
            restarted.seconds,
            "s",
            Target("<=", 2),
            f"new agent, same state, etcd and VPP ({n:,} pods): start to first resync "
            "processed and event loop idle",
        ),
        Metric(
            "restart_vpp_writes",
            restarted.writes,
            "writes",
            Target("==", 0),
            "configuration requests the simulator served during the agent restart",
        ),
        Metric(
            "vpp_restart_restore_s",
            restore_s,
            "s",
            Target("<=", 3),
            f"simulator restarted (state lost) until its 'show interface addr' and routes "
            f"equal those before ({n:,} pods)",
        ),
        *multi_if_metrics(multi, sizes.multi_if_pods, c),
        Metric(
            "agent_rss_mb",
            rss,
            "MB",
            Target("<=", 150),
            "peak RSS of the process running the agent (CNI callers, simulator and etcd not "
            "included)",
        ),
    ]


def multi_if_metrics(multi: pods_multi_if.MultiIfRun, n: int, c: int) -> list[Metric]:
    """The multi-interface run's ADD latency and its restart's VPP writes."""
    added = multi.added
    kinds = " + ".join(f"a {kind}" for _, kind in multi.custom)
    adds = (
        f"{len(added.latencies_ms):,} successful CNI ADDs of {n:,} pods with eth0 + {kinds}, "
        "through RemoteCNI (sent from another process)"
    )
    return [
        Metric(
            "multi_if_add_p50_ms",
            percentile(added.latencies_ms, 0.50),
            "ms",
            Target("<=", 30),
            f"median of {adds}, {c} in flight",
        ),
        Metric(
            "multi_if_add_p99_ms",
            percentile(added.latencies_ms, 0.99),
            "ms",
            Target("<=", 90),
            f"99th percentile (nearest rank) of {adds}, {c} in flight",
        ),
        Metric(
            "multi_if_restart_vpp_writes",
            multi.restart.writes,
            "writes",
            Target("==", 0),
            f"configuration requests the simulator served during an agent restart with the "
            f"{n:,} multi-interface pods",
        ),
    ]


#: the parts of an exec'd ADD (``add_breakdown``): the metric's name part and what it is
PARTS: tuple[tuple[str, str], ...] = (
    ("to_loop", "plugin start, connection and the agent's queue, until its loop takes the AddPod"),
    ("controllers", "the controllers' work on the AddPod, its transaction excluded"),
    (
        "southbound",
        "the AddPod's transaction: VPP API calls (and netlink, when Linux is configured)",
    ),
    ("reply", "from the AddPod done to the plugin's exit"),
)


def exec_metrics(
    execed: AddRun,
    execs: str,
    plugin: str,
    concurrency: int,
    start_ms: list[float],
    cpu_ms: float,
    cpu_note: str,
) -> list[Metric]:
    """The exec'd ADDs' latency, the plugin's start alone and its CPU per ADD (both suites):
    ``execs`` says which ADDs ("N successful CNI ADDs of M …"), ``plugin`` which plugin
    (``cni_exec_load.install_plugin``)."""
    execs = f"{execs}, each an exec of the {plugin} (start to exit)"
    return [
        Metric(
            "cni_exec_add_p50_ms",
            percentile(execed.latencies_ms, 0.50),
            "ms",
            Target("<=", 60),
            f"median of {execs}, {concurrency} in flight",
        ),
        Metric(
            "cni_exec_add_p99_ms",
            percentile(execed.latencies_ms, 0.99),
            "ms",
            Target("<=", 120),
            f"99th percentile (nearest rank) of {execs}, {concurrency} in flight",
        ),
        Metric(
            "cni_exec_start_p50_ms",
            percentile(start_ms, 0.50),
            "ms",
            None,
            f"median of {len(start_ms)} CNI VERSION calls of the {plugin}, one at a time: "
            "start to exit, no agent",
        ),
        Metric(
            "cni_exec_add_cpu_ms",
            cpu_ms,
            "ms",
            None,
            f"CPU (user + system) of one exec'd ADD's plugin process, {cpu_note}",
        ),
    ]


def breakdown_metrics(
    parts: add_breakdown.AddBreakdown, which: tuple[tuple[str, str], ...] = PARTS
) -> list[Metric]:
    """The medians of where the exec'd ADDs' time went (no targets: they explain the total),
    one metric per part in ``which``."""
    metrics = []
    for name, what in which:
        values: list[float] = getattr(parts, f"{name}_ms")
        metrics.append(
            Metric(
                f"cni_exec_add_{name}_p50_ms",
                percentile(values, 0.50),
                "ms",
                None,
                f"median over {len(values):,} exec'd ADDs: {what}",
            )
        )
    return metrics
