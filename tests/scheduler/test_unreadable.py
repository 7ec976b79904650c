"""Values read back but not understood (``Retrieved.unreadable``): a resync never deletes,
re-creates or updates them, nor what is derived from them or what they stand on; the key is
reported UNREADABLE and every transaction that would have touched it fails naming it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from contivpy.scheduler import Key, OpKind, Retrieved, Scheduler, Txn, ValueState
from doubles.southbound import (
    BaseDescriptor,
    ChildDescriptor,
    Item,
    Southbound,
    base_key,
    child_key,
)

A, B, D, E = base_key("a"), base_key("b"), base_key("d"), base_key("e")
WHY = "field 'kind' reads back as 'mystery'"


class PartlyReadable(BaseDescriptor):
    """Reports the keys in ``unreadable`` as not understood; with ``lossy`` their value reads
    back without its dependencies (like an interface whose unknown type hides its link)."""

    def __init__(self, sb: Southbound) -> None:
        super().__init__(sb)
        self.unreadable: dict[Key, str] = {}
        self.lossy = False

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        found = []
        for item in await super().retrieve(correlate):
            why = self.unreadable.get(item.key, "")
            if why and self.lossy and isinstance(item.value, Item):
                item = replace(item, value=replace(item.value, deps=()))
            found.append(replace(item, unreadable=why))
        return found


@pytest.fixture
async def rig(sb: Southbound) -> AsyncIterator[tuple[Scheduler, PartlyReadable]]:
    descriptor = PartlyReadable(sb)
    sched = Scheduler()
    sched.register(descriptor)
    sched.register(ChildDescriptor(sb))
    await sched.start()
    yield sched, descriptor
    await sched.stop()


# D <- A (with child c) <- B ; E unrelated
FIRST = {
    D: Item("d"),
    A: Item("a", fixed="v1", deps=(D,), children=(("c", "x"),)),
    B: Item("b", deps=(A,)),
    E: Item("e"),
}


async def test_full_resync_leaves_an_unreadable_value_and_its_surroundings_as_found(
    rig: tuple[Scheduler, PartlyReadable], sb: Southbound
) -> None:
    sched, descriptor = rig
    assert (await sched.resync_full(FIRST)).ok
    before = sb.state()
    descriptor.unreadable[A] = WHY
    # Wanted now: A re-created (fixed changed), its child changed, B changed, D (which A
    # stands on) and E no longer wanted.
    result = await sched.resync_full(
        {A: Item("a", fixed="v2", children=(("c", "y"),)), B: Item("b2", deps=(A,))}
    )
    touched = {op.key for op in result.record.executed}
    assert touched == {B, E}  # the update of B (A stays) and the delete of E
    assert sb.state() == {k: v for k, v in before.items() if k != E} | {B: Item("b2", deps=(A,))}
    status = sched.status(A)
    assert status.state is ValueState.UNREADABLE
    assert WHY in status.details
    assert "unreadable" in sched.dot()
    errors = {e.key: e for e in result.record.errors}
    assert set(errors) == {A, child_key(A, "c"), D}
    assert errors[A].op is OpKind.DELETE  # a re-create refused
    assert WHY in errors[A].cause
    assert "derived from " + A in errors[child_key(A, "c")].cause
    assert errors[D].op is OpKind.DELETE
    assert "needed by " + A in errors[D].cause
    assert not result.ok


async def test_what_an_unreadable_value_is_meant_to_stand_on_is_not_pulled_away(
    rig: tuple[Scheduler, PartlyReadable], sb: Southbound
) -> None:
    sched, descriptor = rig
    await sched.resync_full(FIRST)
    descriptor.unreadable[A] = WHY
    descriptor.lossy = True  # the read-back of A no longer names D
    # D must be re-created for its new value: that would delete it from under A.
    result = await sched.resync_full(dict(FIRST) | {D: Item("d", fixed="v2")})
    assert sb.violations == []
    assert sb.objects[D].value == Item("d")
    assert [e.key for e in result.record.errors if e.key == D]
    assert not [op for op in result.record.executed if op.key in (A, D)]


async def test_an_explicit_delete_of_an_unreadable_value_is_refused(
    rig: tuple[Scheduler, PartlyReadable], sb: Southbound
) -> None:
    sched, descriptor = rig
    await sched.resync_full(FIRST)
    descriptor.unreadable[A] = WHY
    await sched.resync_downstream()
    writes = sb.writes
    result = await sched.commit(Txn({B: None, A: None}))
    assert [op.key for op in result.record.executed] == [B]
    assert sb.writes == writes + 1
    assert A in sb.objects
    assert [e.key for e in result.record.errors] == [A]
    assert sched.status(A).state is ValueState.UNREADABLE


async def test_once_readable_again_the_value_is_reconciled(
    rig: tuple[Scheduler, PartlyReadable], sb: Southbound
) -> None:
    sched, descriptor = rig
    await sched.resync_full(FIRST)
    descriptor.unreadable[A] = WHY
    changed = dict(FIRST) | {A: replace(FIRST[A], fixed="v2")}
    dry = await sched.dry_run(Txn(changed, full=True))
    assert not [op for op in dry.planned if op.key == A]
    assert [e.key for e in dry.errors] == [A]
    assert not (await sched.resync_full(changed)).ok
    del descriptor.unreadable[A]
    result = await sched.resync_full(changed)
    assert result.ok
    assert sb.objects[A].value == replace(changed[A], children=())
    assert sched.status(A).state is ValueState.CONFIGURED
    assert sched.status(B).state is ValueState.CONFIGURED


async def test_obtained_values_marked_unreadable_are_simply_obtained(
    rig: tuple[Scheduler, PartlyReadable], sb: Southbound
) -> None:
    sched, descriptor = rig
    sb.plant_foreign(base_key("foreign"), Item("theirs"))
    descriptor.unreadable[base_key("foreign")] = WHY
    result = await sched.resync_full({E: Item("e")})
    assert result.ok
    assert sched.status(base_key("foreign")).state is ValueState.OBTAINED
