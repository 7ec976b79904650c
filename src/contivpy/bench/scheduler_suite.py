"""The ``scheduler`` benchmark suite: the scenarios at their sizes, as named metrics.

In: ``Sizes`` (``FULL`` or ``QUICK``) and ``Problems``. Out: the suite's metrics in a fixed
order with their targets. Every scenario runs the scheduler with the agent's VPP descriptors
against the VPP simulator in this process (``bench.sim_channel``), so a figure is what the
agent's scheduler, descriptors and API client spend, plus the simulator's handlers. Metric
names are those of the full sizes in both modes (a quick run measures smaller sizes under the
same names; reports say so). A small warm-up runs first
(checked, not reported), so one-off costs (first use of code paths, caches) are not charged
to the first figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.bench import scenarios
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.verify import Problems
from contivpy.bench.workload import graph_keys, interfaces_for_keys

BENCH = "scheduler"


@dataclass(frozen=True, slots=True)
class Sizes:
    """Sizes of one run."""

    create: tuple[int, int]  # N of the one-transaction creates (small, large)
    txn_graph_keys: tuple[int, int]  # graph sizes (keys) of the one-key transactions
    small_txns: int  # one-key transactions per graph size
    resync_graph_keys: int
    concurrent_creates: int
    latency: float  # seconds per VPP API call in the concurrency scenario
    concurrency: int = 16  # the scheduler's default bound
    warm_up: int = 50


FULL = Sizes(
    create=(1_000, 10_000),
    txn_graph_keys=(1_000, 10_000),
    small_txns=1_000,
    resync_graph_keys=10_000,
    concurrent_creates=1_000,
    latency=0.001,
)
QUICK = Sizes(
    create=(200, 1_000),
    txn_graph_keys=(200, 1_000),
    small_txns=200,
    resync_graph_keys=1_000,
    concurrent_creates=200,
    latency=0.001,
)


def _shape(n: int) -> str:
    return f"{n:,} interfaces + 1 bridge domain with {n:,} derived members = {graph_keys(n):,} keys"


async def run(sizes: Sizes, problems: Problems) -> list[Metric]:
    """Run every scenario; returns the metrics (also when a problem was recorded)."""
    await scenarios.create_in_one_txn(sizes.warm_up, problems)
    metrics: list[Metric] = []

    small, large = sizes.create
    for n, name, target in (
        (small, "txn_create_n1000_s", None),
        (large, "txn_create_n10000_s", Target("<=", 1.0)),
    ):
        seconds = await scenarios.create_in_one_txn(n, problems)
        metrics.append(Metric(name, seconds, "s", target, f"one transaction: {_shape(n)}"))

    means: list[float] = []
    for keys, name in zip(
        sizes.txn_graph_keys, ("small_txn_ms_at_1k", "small_txn_ms_at_10k"), strict=True
    ):
        n = interfaces_for_keys(keys)
        mean = await scenarios.small_txns(n, sizes.small_txns, problems)
        means.append(mean)
        detail = f"mean of {sizes.small_txns:,} one-interface MTU changes on {_shape(n)}"
        metrics.append(Metric(name, mean, "ms", None, detail))
    metrics.append(
        Metric(
            "small_txn_ratio",
            means[1] / means[0],
            "x",
            Target("<=", 1.3),
            "small_txn_ms_at_10k / small_txn_ms_at_1k",
        )
    )

    n = interfaces_for_keys(sizes.resync_graph_keys)
    seconds, writes = await scenarios.resync_unchanged(n, problems)
    detail = f"Scheduler.resync_full, same desired state: {_shape(n)}"
    metrics.append(Metric("resync_10k_s", seconds, "s", Target("<=", 1.0), detail))
    metrics.append(Metric("resync_10k_writes", writes, "writes", Target("==", 0), detail))

    count, latency = sizes.concurrent_creates, sizes.latency
    serial = await scenarios.concurrent_creates(count, 1, latency, problems)
    bounded = await scenarios.concurrent_creates(count, sizes.concurrency, latency, problems)
    what = (
        f"{count:,} independent interface creates in one transaction, "
        f"{latency * 1000:g} ms per VPP API call"
    )
    metrics.extend(
        [
            Metric(
                "concurrent_c1_s", serial.seconds, "s", None, f"{what}, Scheduler(concurrency=1)"
            ),
            Metric(
                "concurrent_c16_s",
                bounded.seconds,
                "s",
                None,
                f"{what}, Scheduler() (concurrency={sizes.concurrency})",
            ),
            Metric(
                "concurrent_speedup",
                serial.seconds / bounded.seconds,
                "x",
                Target(">=", 10.0),
                "concurrent_c1_s / concurrent_c16_s",
            ),
            Metric(
                "concurrent_c16_max_in_flight",
                bounded.max_in_flight,
                "calls",
                None,
                f"most VPP API calls in flight at once (bound {sizes.concurrency})",
            ),
        ]
    )
    return metrics
