"""Failures: retries with backoff, permanent failures, revert, blocked deletes."""

from __future__ import annotations

import asyncio

from contivpy.scheduler import OpKind, RetryPolicy, Scheduler, Txn, ValueState
from doubles.southbound import Item, Southbound, base_key, child_key
from doubles.timer import ManualTimer

A, B = base_key("a"), base_key("b")


async def wait_for(sched: Scheduler, key: str, state: ValueState) -> None:
    updates = sched.watch_status(key)
    try:
        async with asyncio.timeout(3.0):
            while sched.status(key).state is not state:
                await updates.queue.get()
    finally:
        updates.close()


async def test_retriable_failure_is_retried_with_backoff_and_recovers(
    timed_sched: Scheduler, sb: Southbound, timer: ManualTimer
) -> None:
    sched = timed_sched
    sb.fail("create", A, 2)
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,))}))
    status = sched.status(A)
    assert status.state is ValueState.RETRYING
    assert status.error is not None
    assert status.error.op is OpKind.CREATE
    assert "injected create failure" in status.details
    assert sched.status(B).state is ValueState.PENDING
    await timer.armed_count(1)
    timer.fire()  # the first retry fails again and arms the second
    await timer.armed_count(2)
    timer.fire()
    await wait_for(sched, B, ValueState.CONFIGURED)
    assert set(sb.state()) == {A, B}
    retries = [r for r in sched.txn_history() if r.kind.value == "retry"]
    assert len(retries) == 2
    # Exponential backoff: the second retry waits twice as long as the first.
    policy = sched.retry
    assert timer.delays == [policy.period, policy.period * policy.backoff]


async def test_retries_stop_after_max_attempts(sched: Scheduler, sb: Southbound) -> None:
    sb.fail("create", A, 10)
    await sched.commit(Txn({A: Item()}))
    await wait_for(sched, A, ValueState.FAILED)
    assert sb.failures[("create", A)] == [True] * 6  # 1 + 3 retries were spent
    assert sched.stats.retries_scheduled == 3


async def test_permanent_failure_is_not_retried(
    timed_sched: Scheduler, sb: Southbound, timer: ManualTimer
) -> None:
    sched = timed_sched
    sb.fail("create", A, 1, retriable=False)
    result = await sched.commit(Txn({A: Item()}))
    assert not result.ok
    assert result.record.errors[0].retriable is False
    assert sched.status(A).state is ValueState.FAILED
    # Retries are armed while the transaction settles, before its commit returns.
    assert sched.stats.retries_scheduled == 0
    assert timer.delays == []
    # A new value (or the same one again) re-attempts it.
    await sched.commit(Txn({A: Item()}))
    assert sched.status(A).state is ValueState.CONFIGURED


async def test_retry_is_dropped_when_the_value_changed_meanwhile(
    timed_sched: Scheduler, sb: Southbound, timer: ManualTimer
) -> None:
    sched = timed_sched
    sb.fail("create", A, 1)
    await sched.commit(Txn({A: Item("one")}))
    await sched.commit(Txn({A: Item("two")}))
    assert sb.state()[A] == Item("two")
    assert timer.fire() == 1  # the retry of "one" comes due now
    # The queue is serial: a transaction committed after the retry ends after it.
    await sched.commit(Txn({}, "after the retry"))
    assert sched.stats.retries_dropped == 1
    assert sb.state()[A] == Item("two")


async def test_retry_rereads_what_a_failed_call_left_behind(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item("one")}))
    sb.fail("update", A, 1)
    await sched.commit(Txn({A: Item("two")}))
    # Behind the scheduler's back the update happened after all.
    sb.drift_change(A, Item("two"))
    writes = sb.writes
    await wait_for(sched, A, ValueState.CONFIGURED)
    assert sb.writes == writes  # the retry saw it was done and made no call


async def test_blocked_delete_is_retried_with_its_blocker(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(children=(("c", "x"),))}))
    sb.fail("delete", child_key(A, "c"), 2)
    result = await sched.commit(Txn({A: None}))
    assert sb.violations == []
    held = [e for e in result.record.errors if e.key == A]
    assert held
    assert "still depended on" in held[0].cause
    await wait_for(sched, A, ValueState.NONEXISTENT)
    assert sb.objects == {}


async def test_revert_on_failure_puts_everything_back(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item("old"), B: Item("gone-then-back")}))
    before = sb.state()
    c = base_key("c")
    sb.fail("create", c, 1)
    result = await sched.commit(Txn({A: Item("new"), B: None, c: Item(deps=(A,))}, revert=True))
    assert not result.ok
    assert result.record.reverted
    assert [op.op for op in result.record.executed if op.revert]  # the undo is recorded
    assert sb.state() == before
    assert sched.desired() == {A: Item("old"), B: Item("gone-then-back")}
    assert sched.status(c).state is ValueState.NONEXISTENT
    # Retries are armed while the transaction settles, before its commit returns.
    assert sched.stats.retries_scheduled == 0  # reverted values are not retried


async def test_revert_refreshes_metadata_of_recreated_values(sb: Southbound) -> None:
    from doubles.southbound import BaseDescriptor, ChildDescriptor

    sched = Scheduler(retry=RetryPolicy(max_attempts=0))
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    await sched.commit(Txn({A: Item()}))
    old_index = sched.metadata(A)
    sb.fail("create", B, 1)
    await sched.commit(Txn({A: None, B: Item()}, revert=True))
    assert A in sb.objects
    assert sched.metadata(A) == sb.objects[A].index != old_index
    await sched.stop()


async def test_all_or_nothing_fails_on_invalid_or_pending_values(
    sched: Scheduler, sb: Southbound
) -> None:
    # A revert-on-failure transaction must leave nothing half-done: a value it puts that ends
    # invalid or pending fails it as surely as a failed call.
    result = await sched.commit(Txn({A: Item(), B: Item(data="bad")}, revert=True))
    assert not result.ok
    assert result.record.reverted
    assert "invalid: data" in result.record.errors[0].cause
    assert sb.objects == {}
    result = await sched.commit(Txn({A: Item(), B: Item(deps=(base_key("zzz"),))}, revert=True))
    assert "pending: waiting for" in result.record.errors[0].cause
    assert sb.objects == {}
    assert sched.desired() == {}
