"""Resync: refresh-only start, full, downstream, ownership, dry runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contivpy.scheduler import Key, Retrieved, Scheduler, Txn, TxnKind, ValueState
from doubles.southbound import (
    BaseDescriptor,
    ChildDescriptor,
    Item,
    Southbound,
    base_key,
    child_key,
)

A, B, C = base_key("a"), base_key("b"), base_key("c")


def fresh(sb: Southbound) -> Scheduler:
    sched = Scheduler()
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    return sched


async def test_refresh_only_start_records_and_changes_nothing(sb: Southbound) -> None:
    first = fresh(sb)
    await first.start()
    await first.commit(Txn({A: Item(children=(("c", "x"),)), B: Item(deps=(A,))}))
    await first.stop()
    writes = sb.writes
    second = fresh(sb)
    result = await second.start()
    assert result is not None
    assert result.record.kind is TxnKind.REFRESH_START
    assert second.status(A).state is ValueState.DISCOVERED
    assert second.status(child_key(A, "c")).state is ValueState.DISCOVERED
    # Before the first full desired state nothing is deleted, even by a downstream resync.
    await second.resync_downstream()
    await second.commit(Txn({C: Item()}))
    assert {A, B} <= set(sb.objects)
    assert sb.writes == writes + 1  # only C
    # The first full state claims what matches (no writes) and removes what is not wanted.
    result = await second.resync_full({A: Item(children=(("c", "x"),)), C: Item()})
    assert [(op.op.value, op.key) for op in result.record.executed] == [("delete", B)]
    assert second.status(A).state is ValueState.CONFIGURED
    assert not second.awaiting_first_full
    await second.stop()


async def test_full_resync_replaces_the_desired_state(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,))}))
    result = await sched.resync_full({A: Item("changed"), C: Item()})
    assert result.ok
    assert sb.state() == {A: Item("changed"), C: Item()}


async def test_downstream_resync_repairs_drift_and_missing(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,), children=(("c", "x"),))}))
    sb.drift_remove(B)  # takes its child with it
    sb.drift_change(A, Item("drifted"))
    plan = await sched.dry_run_downstream()
    assert {(op.op.value, op.key) for op in plan.planned} == {
        ("update", A),
        ("create", B),
        ("create", child_key(B, "c")),
    }
    assert sb.state()[A] == Item("drifted")  # the dry run changed nothing
    assert sched.status(B).state is ValueState.CONFIGURED  # nor the graph
    result = await sched.resync_downstream()
    assert result.ok
    assert sb.state() == {A: Item(), B: Item(deps=(A,)), child_key(B, "c"): "x"}


async def test_what_a_dry_run_found_missing_is_not_marked_by_a_later_transaction(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item()}))
    sb.drift_remove(A)
    await sched.dry_run_downstream()  # reads A back as gone, but changes nothing
    await sched.commit(Txn({B: Item()}))  # reads nothing back
    assert sched.status(A).state is ValueState.CONFIGURED
    assert ValueState.MISSING not in [rev.state for rev in sched.timeline(A)]
    assert (await sched.resync_downstream()).ok  # a real refresh finds it and repairs it
    assert [rev.state for rev in sched.timeline(A)][-2:] == [
        ValueState.MISSING,
        ValueState.CONFIGURED,
    ]
    assert sb.state() == {A: Item(), B: Item()}


async def test_foreign_objects_are_obtained_and_left_alone(
    sched: Scheduler, sb: Southbound
) -> None:
    foreign = base_key("foreign")
    sb.plant_foreign(foreign, Item("theirs"))
    await sched.resync_downstream()
    assert sched.status(foreign).state is ValueState.OBTAINED
    await sched.resync_full({A: Item(deps=(foreign,))})
    assert sb.objects[foreign].value == Item("theirs")
    assert A in sb.objects


class FlakyRetrieve(BaseDescriptor):
    broken = False

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        if self.broken:
            raise RuntimeError("dump failed")
        return await super().retrieve(correlate)


async def test_failed_retrieve_trusts_the_graph(sb: Southbound) -> None:
    sched = Scheduler()
    descriptor = FlakyRetrieve(sb)
    sched.register(descriptor)
    sched.register(ChildDescriptor(sb))
    await sched.start()
    await sched.commit(Txn({A: Item()}))
    descriptor.broken = True
    writes = sb.writes
    result = await sched.resync_full({A: Item()})
    assert result.ok
    assert sb.writes == writes  # nothing re-created or deleted on a read error
    await sched.stop()


async def test_dry_run_of_a_transaction_is_the_executed_plan(
    sched: Scheduler, sb: Southbound
) -> None:
    values: dict[Key, object | None] = {A: Item(), B: Item(deps=(A,), children=(("c", "x"),))}
    record = await sched.dry_run(Txn(values))
    assert record.dry_run
    assert sb.writes == 0
    assert sched.desired() == {}
    result = await sched.commit(Txn(values))
    assert [(o.op, o.key) for o in record.planned] == [
        (o.op, o.key) for o in result.record.executed
    ]


async def test_dry_runs_change_no_flags_and_use_no_sequence_numbers(sb: Southbound) -> None:
    sched = fresh(sb)
    await sched.start()
    record = await sched.dry_run(Txn({A: Item()}, full=True))
    assert sched.awaiting_first_full  # a dry run is not the first full resync
    result = await sched.commit(Txn({B: Item()}))
    assert result.seq == record.seq  # the dry run's number was not used up
    assert [r.seq for r in sched.txn_history()] == [1, 2]
    await sched.stop()


async def test_full_resync_of_the_current_state_keeps_queued_changes(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item()}))
    queued = sched.submit(Txn({B: Item()}))
    sb.drift_remove(A)
    result = await sched.resync_full_current("operator")
    assert (await queued).ok
    assert result.ok
    assert set(sb.state()) == {A, B}
    assert sched.last_resync is result.record
    assert (await sched.dry_run_full_current()).planned == ()
