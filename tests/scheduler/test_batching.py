"""Transactions queued together are planned and executed as one batch, each keeping its own
result and record; an all-or-nothing one that fails is the only one reverted."""

from __future__ import annotations

import asyncio

from contivpy.scheduler import Scheduler, Txn, TxnKind
from doubles.southbound import BaseDescriptor, ChildDescriptor, Item, Southbound, base_key


async def started(sb: Southbound, concurrency: int = 16) -> Scheduler:
    sched = Scheduler(concurrency=concurrency)
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    return sched


async def test_disjoint_transactions_queued_together_overlap(sb: Southbound) -> None:
    sched = await started(sb)
    sb.latency = 0.005
    futures = [
        sched.submit(Txn({base_key(f"p{i}"): Item(children=(("c", "x"),))}, revert=True))
        for i in range(8)
    ]
    results = await asyncio.gather(*futures)
    assert all(r.ok for r in results)
    assert sb.max_in_flight > 1  # one batch: the pods' calls overlapped
    assert len({r.seq for r in results}) == 8
    for i, result in enumerate(results):
        # Each result carries its own operations only.
        assert {op.key for op in result.record.executed} == {
            base_key(f"p{i}"),
            f"t/child/p{i}/c",
        }
    assert len(sb.state()) == 16
    await sched.stop()


async def test_a_failing_member_is_the_only_one_reverted(sb: Southbound) -> None:
    sched = await started(sb)
    sb.fail("create", base_key("p3"), 2)  # in the batch, and again on its own
    futures = [sched.submit(Txn({base_key(f"p{i}"): Item()}, revert=True)) for i in range(6)]
    results = await asyncio.gather(*futures)
    assert [r.ok for r in results] == [True, True, True, False, True, True]
    assert results[3].record.reverted
    assert set(sb.state()) == {base_key(f"p{i}") for i in (0, 1, 2, 4, 5)}
    assert sb.violations == []
    undone = [r for r in sched.txn_history() if "undone" in r.description]
    assert len(undone) == 1  # the batch attempt is in the history, marked
    assert sched.desired() == {base_key(f"p{i}"): Item() for i in (0, 1, 2, 4, 5)}
    await sched.stop()


async def test_transactions_on_the_same_keys_keep_their_order(sb: Southbound) -> None:
    sched = await started(sb)
    key = base_key("x")
    futures = [sched.submit(Txn({key: Item(data=str(i))})) for i in range(5)]
    futures.append(sched.submit(Txn({key: None})))
    futures.append(sched.submit(Txn({key: Item(data="last")})))
    results = await asyncio.gather(*futures)
    assert all(r.ok for r in results)
    assert sb.state() == {key: Item(data="last")}
    assert [r.seq for r in results] == sorted(r.seq for r in results)
    assert all(r.record.kind is TxnKind.NB_CHANGE for r in results)
    await sched.stop()
