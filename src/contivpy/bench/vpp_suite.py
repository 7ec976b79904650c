"""The ``vpp`` benchmark suite: creating N taps through the scheduler, the VPP descriptors and
the pipelined client into the VPP simulator, and restarting the agent against it.

In: ``VppSizes`` (``FULL`` or ``QUICK``) and ``Problems``. Out: the suite's metrics in a fixed
order (names of the full size in both modes, as the scheduler suite does):

- ``vpp_create_1000_s`` / ``vpp_calls_per_s``: one transaction creating N taps (address,
  bridge-domain membership) with the scheduler's default concurrency (16 operations in
  flight, their requests pipelined on one connection), and the API requests per second;
- ``vpp_create_1000_sequential_s`` / ``vpp_pipelining_speedup``: the same with concurrency 1
  (one request in flight at a time), and the ratio;
- ``vpp_restart_resync_s`` / ``vpp_restart_writes``: a new agent's refresh-only start plus a
  full resync with the same desired state against the unchanged simulator; writes must be 0;
- ``vpp_create_1000_latency_s``, ``vpp_create_1000_latency_sequential_s``,
  ``vpp_pipelining_speedup_latency``: both creates again with every reply ``latency`` late
  (the simulator's injected latency, a stand-in for VPP's own processing time).

The simulator runs in this process, on the same event loop as the client: without latency
"pipelining" can only overlap the agent's work with the simulator's on one core, so the
latency variant is what shows the round trips a real VPP would cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.bench import vpp_scenarios
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.verify import Problems

BENCH = "vpp"


@dataclass(frozen=True, slots=True)
class VppSizes:
    """Sizes of one run."""

    taps: int
    #: seconds the simulator waits before each reply in the latency variant
    latency: float = 0.001
    concurrency: int = 16
    warm_up: int = 20


FULL = VppSizes(taps=1_000)
QUICK = VppSizes(taps=200)


async def _create_fresh(
    n: int, latency: float, concurrency: int, problems: Problems
) -> vpp_scenarios.CreateRun:
    """Create the benchmark state on a fresh simulator with a fresh agent."""
    label = f"create {n} taps, concurrency {concurrency}, {latency * 1000:g} ms/reply"
    async with vpp_scenarios.simulator(latency) as sim:
        agent = await vpp_scenarios.start_agent(sim, concurrency)
        try:
            return await vpp_scenarios.create(sim, agent, n, label, problems)
        finally:
            await agent.stop()


async def run(sizes: VppSizes, problems: Problems) -> list[Metric]:
    """Run every scenario; returns the metrics (also when a problem was recorded)."""
    n, bound, latency = sizes.taps, sizes.concurrency, sizes.latency
    await _create_fresh(sizes.warm_up, 0.0, bound, problems)
    sequential = await _create_fresh(n, 0.0, 1, problems)
    async with vpp_scenarios.simulator(0.0) as sim:
        agent = await vpp_scenarios.start_agent(sim, bound)
        try:
            label = f"create {n} taps, concurrency {bound}"
            pipelined = await vpp_scenarios.create(sim, agent, n, label, problems)
        finally:
            await agent.stop()
        restarted = await vpp_scenarios.restart(sim, n, bound, problems)
    slow_sequential = await _create_fresh(n, latency, 1, problems)
    slow_pipelined = await _create_fresh(n, latency, bound, problems)

    what = f"one transaction: {n:,} taps (1 address each) + 1 bridge domain with {n:,} members"
    ms = f"{latency * 1000:g} ms"
    return [
        Metric(
            "vpp_create_1000_s",
            pipelined.seconds,
            "s",
            None,
            f"{what}, Scheduler() (concurrency {bound}), replies at once",
        ),
        Metric(
            "vpp_calls_per_s",
            pipelined.calls / pipelined.seconds,
            "calls/s",
            None,
            f"{pipelined.calls:,} API requests ({pipelined.writes:,} writes) / vpp_create_1000_s",
        ),
        Metric(
            "vpp_create_1000_sequential_s",
            sequential.seconds,
            "s",
            None,
            "the same with Scheduler(concurrency=1): one request in flight at a time",
        ),
        Metric(
            "vpp_pipelining_speedup",
            sequential.seconds / pipelined.seconds,
            "x",
            None,
            "vpp_create_1000_sequential_s / vpp_create_1000_s",
        ),
        Metric(
            "vpp_create_1000_latency_s",
            slow_pipelined.seconds,
            "s",
            None,
            f"vpp_create_1000_s with every reply {ms} late, concurrency {bound}",
        ),
        Metric(
            "vpp_create_1000_latency_sequential_s",
            slow_sequential.seconds,
            "s",
            None,
            f"vpp_create_1000_s with every reply {ms} late, concurrency 1",
        ),
        Metric(
            "vpp_pipelining_speedup_latency",
            slow_sequential.seconds / slow_pipelined.seconds,
            "x",
            None,
            "vpp_create_1000_latency_sequential_s / vpp_create_1000_latency_s",
        ),
        Metric(
            "vpp_restart_resync_s",
            restarted.seconds,
            "s",
            None,
            f"new agent: refresh-only start + full resync, same {n:,} taps, unchanged VPP "
            f"({restarted.reads:,} read requests)",
        ),
        Metric(
            "vpp_restart_writes",
            restarted.writes,
            "writes",
            Target("==", 0),
            "write requests sent to VPP by the restarted agent",
        ),
    ]
