"""The ``pods`` benchmark suite (issue 5): one node, its pods ADDed by CNI, then an agent
restart and a VPP restart.

In: ``PodsSizes`` (``FULL``: 250 pods, a full /24 less reserved addresses; ``QUICK``: 20) and
``Problems``. Out: the suite's metrics in a fixed order (full-size names in both modes):

- ``cni_add_p50_ms`` / ``cni_add_p99_ms``: per-ADD latency through the agent's RemoteCNI
  socket, ``concurrency`` (10) ADDs in flight, sent from a process of their own as kubelet's
  plugins are (``cni_load``); nearest-rank percentiles; targets 20 / 60 ms;
- ``add_250_total_s``: from the first ADD sent to the last result;
- ``restart_steady_s`` / ``restart_vpp_writes``: a new agent against the unchanged VPP, seconds
  to steady state (target 2 s) and configuration requests VPP served meanwhile (target 0);
- ``vpp_restart_restore_s``: VPP restarted, seconds until it holds everything again
  (target 3 s);
- ``agent_rss_mb``: peak RSS of this process, which runs the agent (the CNI callers, the
  simulator and etcd are other processes); target 150 MB.

Correctness is checked after every phase (see ``pods_scenarios``); a failure makes the run
exit 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from contivpy.bench import cni_load, environment, pods_scenarios
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.pods_node import pods_node
from contivpy.bench.verify import Problems

BENCH = "pods"


@dataclass(frozen=True, slots=True)
class PodsSizes:
    """Sizes of one run."""

    pods: int
    concurrency: int = 10


FULL = PodsSizes(pods=250)
QUICK = PodsSizes(pods=20)


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
    async with pods_node() as node:
        await node.start_agent()
        added = await cni_load.add_pods_from_process(node.cni_socket, len(pods), sizes.concurrency)
        pods_scenarios.check_adds(added, node, pods, problems)
        await pods_scenarios.check_vpp(f"ADD of {len(pods)} pods", node.sim, pods, problems)
        restarted = await pods_scenarios.restart_agent(node, pods, problems)
        restore_s = await pods_scenarios.restart_vpp(node, pods, problems)
    rss = environment.peak_rss_mb()

    n, c = sizes.pods, sizes.concurrency
    adds = (
        f"{len(added.latencies_ms):,} successful CNI ADDs of {n:,} through RemoteCNI "
        "(sent from another process)"
    )
    return [
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
        Metric(
            "agent_rss_mb",
            rss,
            "MB",
            Target("<=", 150),
            "peak RSS of the process running the agent (CNI callers, simulator and etcd not "
            "included)",
        ),
    ]
