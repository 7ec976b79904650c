"""The transaction queue, history, timelines, snapshots, DOT, status watching, stats."""

from __future__ import annotations

import asyncio
import time

import pytest

from contivpy.scheduler import (
    HistoryLimits,
    Scheduler,
    SchedulerStoppedError,
    Txn,
    TxnOptionsError,
    TxnQueueFullError,
    ValueState,
)
from doubles.southbound import BaseDescriptor, ChildDescriptor, Item, Southbound, base_key

A, B = base_key("a"), base_key("b")


async def test_queue_overflow_is_an_error_and_counted(sb: Southbound) -> None:
    sched = Scheduler(queue_size=2)
    sched.register(BaseDescriptor(sb))
    await sched.start()
    sb.latency = 0.01
    accepted = [sched.submit(Txn({base_key(f"k{i}"): Item()})) for i in range(2)]
    with pytest.raises(TxnQueueFullError, match="queue full"):
        sched.submit(Txn({A: Item()}, "the one too many"))
    assert sched.stats.queue_overflows == 1
    results = await asyncio.gather(*accepted)
    assert all(r.ok for r in results)
    assert A not in sb.objects
    await sched.stop()


async def test_stop_fails_queued_transactions(sb: Southbound) -> None:
    sched = Scheduler()
    sched.register(BaseDescriptor(sb))
    await sched.start()
    sb.latency = 0.05
    first = sched.submit(Txn({A: Item()}))
    second = sched.submit(Txn({B: Item()}))
    await asyncio.sleep(0.01)
    await sched.stop()
    for future in (first, second):
        with pytest.raises(SchedulerStoppedError):
            await future
    with pytest.raises(SchedulerStoppedError):
        sched.submit(Txn({A: Item()}))


async def test_revert_with_full_resync_is_refused(sched: Scheduler) -> None:
    with pytest.raises(TxnOptionsError):
        sched.submit(Txn({}, full=True, revert=True))


async def test_history_records_txns_and_key_timelines(sched: Scheduler, sb: Southbound) -> None:
    t0 = time.time()
    await sched.commit(Txn({B: Item(deps=(A,))}, "b first"))
    await sched.commit(Txn({A: Item()}, "then a"))
    records = sched.txn_history(since=t0)
    assert [r.description for r in records] == ["b first", "then a"]
    assert [(op.op.value, op.key) for op in records[1].executed] == [("create", A), ("create", B)]
    assert records[1].planned == tuple(
        type(op)(op.key, op.op, op.prev_value, op.new_value, op.derived, op.property)
        for op in records[1].executed
    )
    assert sched.txn_history(seq=records[0].seq) == [records[0]]
    timeline = sched.timeline(B)
    assert [rev.state for rev in timeline] == [ValueState.PENDING, ValueState.CONFIGURED]
    assert timeline[0].txn_seq == records[0].seq
    snapshot = sched.history.snapshot(timeline[0].time)
    assert snapshot[B].state is ValueState.PENDING
    assert A not in snapshot


async def test_history_is_bounded_by_count_and_age(sb: Southbound) -> None:
    now = [1000.0]
    sched = Scheduler(
        history=HistoryLimits(max_txns=3, max_revisions=4, max_age=50), clock=lambda: now[0]
    )
    sched.register(BaseDescriptor(sb))
    await sched.start()
    for i in range(6):
        await sched.commit(Txn({base_key(f"k{i}"): Item()}))
    assert len(sched.txn_history()) == 3
    assert sched.history.sizes[1] <= 4
    now[0] += 100
    await sched.commit(Txn({A: Item()}))
    assert [r.seq for r in sched.txn_history()] == [sched.txn_history()[-1].seq]
    await sched.stop()


async def test_dot_shows_states_and_edges(sched: Scheduler) -> None:
    await sched.commit(Txn({B: Item(deps=(A,)), base_key("x"): Item(data="bad")}))
    dot = sched.dot()
    assert dot.startswith("digraph")
    assert f'"{B}" [fillcolor=pink' in dot
    assert "maroon" in dot
    await sched.commit(Txn({A: Item()}))
    assert f'"{B}" -> "{A}"' in sched.dot()


async def test_status_watch_receives_changes_and_counts_drops(sched: Scheduler) -> None:
    sub = sched.watch_status(prefix=base_key(""))
    small = sched.watch_status(maxsize=1)
    await sched.commit(Txn({B: Item(deps=(A,))}))
    await sched.commit(Txn({A: Item()}))
    seen = []
    while not sub.queue.empty():
        seen.append(sub.queue.get_nowait())
    assert [(s.key, s.state) for s in seen] == [
        (B, ValueState.PENDING),
        (A, ValueState.CONFIGURED),
        (B, ValueState.CONFIGURED),
    ]
    assert small.dropped == 2
    assert sched.stats.status_drops == 2
    sub.close()
    small.close()


async def test_metadata_view_for_descriptors(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(base_key("zzz"),))}))
    assert sched.metadata(A) == sb.objects[A].index
    assert sched.metadata(B) is None
    assert sched.keys_with_prefix(base_key("")) == [A]


async def test_concurrency_bound_is_respected(sb: Southbound) -> None:
    sched = Scheduler(concurrency=3)
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    sb.latency = 0.002
    await sched.commit(Txn({base_key(f"k{i}"): Item() for i in range(30)}))
    assert sb.max_in_flight == 3
    await sched.stop()
