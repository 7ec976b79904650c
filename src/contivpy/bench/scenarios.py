"""The four scheduler measurements, each on a fresh simulated VPP and scheduler.

In: sizes, and ``Problems`` to record correctness failures in. Out: raw figures (seconds,
milliseconds, write counts). The scheduler runs the agent's VPP descriptors, registered as the
agent registers them, against the VPP simulator in this process
(:class:`~contivpy.bench.sim_channel.SimChannel`: the simulator's handlers behind the codec,
no socket). Only the awaited transaction is timed: desired states are built before the clock
starts and every check runs after it stops. Each run is verified: every measured transaction
must succeed with the expected number of scheduler writes, and the simulator must hold exactly
what was desired afterwards (read from its state, not through the descriptors).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from contivpy.bench import sim_check
from contivpy.bench.sim_channel import SimChannel
from contivpy.bench.verify import Problems
from contivpy.bench.workload import (
    graph_keys,
    interface,
    interface_name,
    interfaces,
    new_scheduler,
    with_bridge_domain,
)
from contivpy.models.vpp_keys import interface_key
from contivpy.scheduler import Key, Scheduler, Txn


@contextlib.asynccontextmanager
async def running(vpp: SimChannel, *, concurrency: int = 16) -> AsyncIterator[Scheduler]:
    """A started scheduler over ``vpp`` (refresh-only start, as the agent does), stopped after."""
    scheduler = new_scheduler(vpp, concurrency=concurrency)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


def _quiesce() -> None:
    """Collect garbage left by set-up so it is not charged to the measured transaction."""
    gc.collect()


async def create_in_one_txn(n: int, problems: Problems) -> float:
    """Seconds to create N interfaces and one bridge domain with N derived members."""
    vpp = SimChannel()
    desired = with_bridge_domain(n)
    label = f"create N={n}"
    async with running(vpp) as scheduler:
        txn = Txn(desired, f"create {n} interfaces and a bridge domain")
        _quiesce()
        t0 = time.perf_counter()
        result = await scheduler.commit(txn)
        elapsed = time.perf_counter() - t0
        problems.txn(label, result, writes=graph_keys(n))
        sim_check.check(problems, label, vpp.state, desired)
    return elapsed


async def small_txns(n: int, count: int, problems: Problems) -> float:
    """Mean milliseconds of ``count`` sequential one-key transactions (an interface's MTU
    changes) on the graph of N interfaces and a bridge domain with N members."""
    vpp = SimChannel()
    desired = with_bridge_domain(n)
    label = f"small transactions on {graph_keys(n)} keys"
    async with running(vpp) as scheduler:
        problems.txn(f"{label}: set-up", await scheduler.commit(Txn(desired, "set-up")))
        changes: list[tuple[Key, object]] = []
        for i in range(count):
            which = i % n
            changed = interface(which, mtu=1501 + i % 7000)
            changes.append((interface_key(interface_name(which)), changed))
        failed = 0
        total = 0.0
        _quiesce()
        for key, value in changes:
            txn = Txn({key: value}, "mtu change")
            t0 = time.perf_counter()
            result = await scheduler.commit(txn)
            total += time.perf_counter() - t0
            if not result.ok or result.writes != 1:
                failed += 1
                if failed == 1:
                    problems.txn(label, result, writes=1)
            desired[key] = value
        if failed > 1:
            problems.add(f"{label}: {failed} of {count} transactions failed or mis-wrote")
        sim_check.check(problems, label, vpp.state, desired)
    return total / count * 1000.0


async def resync_unchanged(n: int, problems: Problems) -> tuple[float, int]:
    """Seconds and VPP API writes of a full resync (same desired state, rebuilt as new
    objects) of the graph of N interfaces and a bridge domain with N members."""
    vpp = SimChannel()
    label = f"full resync of {graph_keys(n)} keys"
    async with running(vpp) as scheduler:
        setup = await scheduler.resync_full(with_bridge_domain(n), "set-up")
        problems.txn(f"{label}: set-up", setup, writes=graph_keys(n))
        desired = with_bridge_domain(n)
        before = vpp.writes
        _quiesce()
        t0 = time.perf_counter()
        result = await scheduler.resync_full(desired, "unchanged resync")
        elapsed = time.perf_counter() - t0
        writes = vpp.writes - before
        problems.txn(label, result)
        if writes:
            problems.add(f"{label}: nothing changed, yet {writes} API writes were made")
        sim_check.check(problems, label, vpp.state, desired)
    return elapsed, writes


@dataclass(frozen=True, slots=True)
class ConcurrentRun:
    """Wall time of the creates and the most VPP API calls seen in flight at once."""

    seconds: float
    max_in_flight: int


async def concurrent_creates(
    count: int, concurrency: int, latency: float, problems: Problems
) -> ConcurrentRun:
    """Seconds to create ``count`` independent interfaces in one transaction when every
    VPP API call takes ``latency`` seconds, with the scheduler's concurrency bound."""
    vpp = SimChannel(latency=latency)
    desired = interfaces(count)
    label = f"{count} creates at concurrency {concurrency}"
    async with running(vpp, concurrency=concurrency) as scheduler:
        txn = Txn(desired, f"{count} independent creates")
        vpp.max_in_flight = 0
        _quiesce()
        t0 = time.perf_counter()
        result = await scheduler.commit(txn)
        elapsed = time.perf_counter() - t0
        problems.txn(label, result, writes=count)
        sim_check.check(problems, label, vpp.state, desired)
        if vpp.max_in_flight > concurrency:
            problems.add(f"{label}: {vpp.max_in_flight} calls in flight, above the bound")
    return ConcurrentRun(elapsed, vpp.max_in_flight)
