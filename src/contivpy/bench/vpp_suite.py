"""The ``vpp`` benchmark suite (issue 3): pipelined against sequential VPP API calls, with the
simulator in a process of its own.

In: ``VppSizes`` (``FULL`` or ``QUICK``) and ``Problems``. Out: the suite's metrics in a fixed
order (names of the full size in both modes, as the scheduler suite does):

- ``create_1000_s``: one scheduler transaction creating N taps (the simulator has vhost-net),
  each with one address, all members of one bridge domain, through the VPP descriptors and
  our pipelined ``VppClient`` (the scheduler's default 16 operations in flight);
- ``pipelined_calls_per_s``: the API calls that transaction made / its seconds;
- ``sequential_calls_per_s``: the same calls, in the same order, made one at a time with
  vpp_papi's synchronous ``VPPApiClient`` against a fresh simulator process;
- ``pipelined_speedup``: pipelined / sequential calls per second, target >= 5;
- ``sim_msgs_per_s``: the same calls, pre-packed and sent all at once to a fresh simulator
  process: what the simulator serves alone, to compare with the two above;
- ``vpp_restart_writes``: write requests the simulator served while a new agent started
  against it and ran a full resync of the same state; target 0.

The three timed scenarios run ``repeats`` times each (3; 1 in quick mode), each time on a
fresh simulator process, and the median run is reported. The calls of the first pipelined run
are the ones replayed, and every replay must leave its simulator in the same state as that run
(interfaces, bridge domains and routes, compared with the control ``summary``): the proof that
the same calls were made. A warm-up (20 taps, both clients) runs first, unreported.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from contivpy.bench import papi_replay, sim_feed, vpp_scenarios
from contivpy.bench.call_recorder import RecordedCall
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.sim_process import SimProcess, sim_process
from contivpy.bench.verify import Problems

BENCH = "vpp"


@dataclass(frozen=True, slots=True)
class VppSizes:
    """Sizes of one run."""

    taps: int
    #: runs of each timed scenario; the median run is reported
    repeats: int = 3
    concurrency: int = 16
    warm_up: int = 20


FULL = VppSizes(taps=1_000)
QUICK = VppSizes(taps=200, repeats=1)

_Run = TypeVar("_Run", vpp_scenarios.CreateRun, papi_replay.ReplayRun, sim_feed.FeedRun)


def _median(runs: Sequence[_Run]) -> _Run:
    """The run with the median seconds (the lower one of an even count)."""
    return sorted(runs, key=lambda r: r.seconds)[(len(runs) - 1) // 2]


async def _pipelined(
    sim: SimProcess, n: int, concurrency: int, problems: Problems
) -> vpp_scenarios.CreateRun:
    agent = await vpp_scenarios.start_agent(sim.socket_path, concurrency)
    try:
        label = f"create {n} taps, pipelined, concurrency {concurrency}"
        return await vpp_scenarios.create(sim, agent, n, label, problems)
    finally:
        await agent.stop()


def _same_state(label: str, want: dict[str, Any], have: dict[str, Any], problems: Problems) -> None:
    for part in ("interfaces", "bridge_domains", "routes"):
        if want[part] != have[part]:
            problems.add(f"{label}: the simulator's {part} differ from the pipelined run's")


async def _warm_up(n: int, concurrency: int) -> None:
    """Both clients once, unchecked and unreported (imports, caches, first connections)."""
    throwaway = Problems()
    async with sim_process() as sim:
        created = await _pipelined(sim, n, concurrency, throwaway)
        await sim.request("restart")  # empty again: the same calls make the same interfaces
        await asyncio.to_thread(papi_replay.replay, sim.socket_path, created.recorded)


async def _replay_sequentially(
    calls: Sequence[RecordedCall], want: dict[str, Any], problems: Problems
) -> papi_replay.ReplayRun:
    async with sim_process() as sim:
        run = await asyncio.to_thread(papi_replay.replay, sim.socket_path, calls)
        label = "sequential replay with vpp_papi"
        if run.refused:
            problems.add(f"{label}: {len(run.refused)} calls refused: {run.refused[:5]}")
        _same_state(label, want, await sim.summary(), problems)
    return run


async def _feed_simulator(
    calls: Sequence[RecordedCall], want: dict[str, Any], problems: Problems
) -> sim_feed.FeedRun:
    async with sim_process() as sim:
        run = await sim_feed.feed(sim.socket_path, calls)
        label = "pre-packed feed to the simulator"
        if run.refused:
            problems.add(f"{label}: {len(run.refused)} calls refused: {run.refused[:5]}")
        _same_state(label, want, await sim.summary(), problems)
    return run


async def run(sizes: VppSizes, problems: Problems) -> list[Metric]:
    """Run every scenario; returns the metrics (also when a problem was recorded)."""
    n, bound = sizes.taps, sizes.concurrency
    await _warm_up(sizes.warm_up, bound)
    # The first run's simulator also serves the restart; its calls are the ones replayed.
    async with sim_process() as sim:
        first = await _pipelined(sim, n, bound, problems)
        after_create = await sim.summary()
        restarted = await vpp_scenarios.restart(sim, n, bound, problems)
    creates = [first]
    for _ in range(sizes.repeats - 1):
        async with sim_process() as sim:
            again = await _pipelined(sim, n, bound, problems)
        # Only the first run's calls are replayed; the others' need not stay in memory.
        creates.append(dataclasses.replace(again, recorded=[]))
    if len({c.calls for c in creates}) != 1:
        problems.add(
            f"pipelined creates made different numbers of calls: {[c.calls for c in creates]}"
        )
    calls = first.recorded
    replays = [await _replay_sequentially(calls, after_create, problems) for _ in creates]
    feeds = [await _feed_simulator(calls, after_create, problems) for _ in creates]
    pipelined, sequential, fed = _median(creates), _median(replays), _median(feeds)

    pipelined_rate = pipelined.calls / pipelined.seconds
    sequential_rate = sequential.calls / sequential.seconds
    what = f"{n:,} taps (1 address each) + 1 bridge domain with {n:,} members"
    runs = f"median of {sizes.repeats} runs, each on a fresh simulator process"
    if sizes.repeats == 1:
        runs = "one run on a fresh simulator process"
    return [
        Metric(
            "create_1000_s",
            pipelined.seconds,
            "s",
            None,
            f"one scheduler transaction: {what}; VPP descriptors, pipelined VppClient "
            f"(concurrency {bound}), simulator in its own process; {runs}",
        ),
        Metric(
            "pipelined_calls_per_s",
            pipelined_rate,
            "calls/s",
            None,
            f"{pipelined.calls:,} API calls ({pipelined.writes:,} writes) / create_1000_s",
        ),
        Metric(
            "sequential_calls_per_s",
            sequential_rate,
            "calls/s",
            None,
            f"the same {sequential.calls:,} calls one at a time with vpp_papi's VPPApiClient "
            f"({sequential.seconds:.3f} s; {runs})",
        ),
        Metric(
            "pipelined_speedup",
            pipelined_rate / sequential_rate,
            "x",
            Target(">=", 5),
            "pipelined_calls_per_s / sequential_calls_per_s",
        ),
        Metric(
            "sim_msgs_per_s",
            fed.calls / fed.seconds,
            "calls/s",
            None,
            f"the simulator alone: the same {fed.calls:,} calls pre-packed and sent at once "
            f"({fed.seconds:.3f} s; {runs})",
        ),
        Metric(
            "vpp_restart_writes",
            restarted.writes,
            "writes",
            Target("==", 0),
            f"writes the simulator served while a new agent started (refresh-only) and ran a "
            f"full resync of the same {n:,} taps ({restarted.seconds:.3f} s, "
            f"{restarted.reads:,} read calls)",
        ),
    ]
