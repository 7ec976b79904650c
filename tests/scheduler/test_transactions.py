"""Transactions: ordering, pending, invalid, derived values, properties, any-of, re-create."""

from __future__ import annotations

from contivpy.scheduler import OpKind, Scheduler, Txn, ValueState
from doubles.southbound import Item, Southbound, base_key, child_key, prop_key

A, B, C = base_key("a"), base_key("b"), base_key("c")


async def test_dependencies_are_created_first_whatever_the_txn_order(
    sched: Scheduler, sb: Southbound
) -> None:
    result = await sched.commit(Txn({C: Item(deps=(B,)), B: Item(deps=(A,)), A: Item()}))
    assert result.ok
    assert [k for op, k in sb.log] == [A, B, C]
    assert {s.state for s in sched.statuses()} == {ValueState.CONFIGURED}


async def test_missing_dependency_leaves_value_pending_and_names_it(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({B: Item(deps=(A,))}))
    status = sched.status(B)
    assert status.state is ValueState.PENDING
    assert A in status.details
    assert B not in sb.objects
    await sched.commit(Txn({A: Item()}))
    assert sched.status(B).state is ValueState.CONFIGURED
    assert B in sb.objects


async def test_deleting_a_dependency_sends_dependents_back_to_pending(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,), children=(("c1", "x"),))}))
    result = await sched.commit(Txn({A: None}))
    # The dependent and its derived value went first, then the dependency.
    assert [(op, k) for op, k in sb.log[-3:]] == [
        ("delete", child_key(B, "c1")),
        ("delete", B),
        ("delete", A),
    ]
    assert result.ok
    assert sched.status(B).state is ValueState.PENDING
    assert sched.status(child_key(B, "c1")).state is ValueState.PENDING
    assert sched.desired()[B] == Item(deps=(A,), children=(("c1", "x"),))  # kept
    await sched.commit(Txn({A: Item()}))
    assert set(sb.state()) == {A, B, child_key(B, "c1")}


async def test_invalid_value_names_the_field_and_is_not_applied(
    sched: Scheduler, sb: Southbound
) -> None:
    result = await sched.commit(Txn({A: Item(data="bad"), B: Item(deps=(A,))}))
    assert sched.status(A).state is ValueState.INVALID
    assert "data" in sched.status(A).details
    assert sched.status(B).state is ValueState.PENDING
    assert sb.objects == {}
    assert result.ok  # invalid values are not failed operations
    await sched.commit(Txn({A: "not an item"}))
    assert "value: expected Item" in sched.status(A).details


async def test_key_without_descriptor_is_invalid(sched: Scheduler) -> None:
    await sched.commit(Txn({"nobody/owns/this": Item()}))
    status = sched.status("nobody/owns/this")
    assert status.state is ValueState.INVALID
    assert "no descriptor" in status.details


async def test_derived_values_follow_their_base(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(children=(("c1", "x"), ("c2", "y")), props=("p",))}))
    assert sb.state()[child_key(A, "c1")] == "x"
    assert sched.status(prop_key(A, "p")).state is ValueState.CONFIGURED
    assert sched.status(child_key(A, "c2")).derived_from == A
    # Changing the base's derived set: obsolete removed, new created, changed updated.
    await sched.commit(Txn({A: Item(children=(("c1", "z"), ("c3", "y")))}))
    assert {k: v for k, v in sb.state().items() if k != A} == {
        child_key(A, "c1"): "z",
        child_key(A, "c3"): "y",
    }
    assert sched.status(prop_key(A, "p")).state is ValueState.NONEXISTENT


async def test_putting_a_derived_key_directly_is_refused(sched: Scheduler) -> None:
    await sched.commit(Txn({A: Item(children=(("c1", "x"),))}))
    result = await sched.commit(Txn({child_key(A, "c1"): "hijack"}))
    assert not result.ok
    assert "derived from" in result.record.errors[0].cause
    assert sched.status(child_key(A, "c1")).value == "x"


async def test_property_can_be_a_dependency_target(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({B: Item(deps=(prop_key(A, "ready"),))}))
    assert sched.status(B).state is ValueState.PENDING
    await sched.commit(Txn({A: Item(props=("ready",))}))
    assert B in sb.objects


async def test_any_of_dependency_switching_targets(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(), C: Item(any_of=(A, B))}))
    assert C in sb.objects
    # Replace the only satisfier by another in one transaction: C must never dangle.
    result = await sched.commit(Txn({A: None, B: Item()}))
    assert result.ok, result.record.errors
    assert sb.violations == []
    assert set(sb.state()) == {B, C}
    await sched.commit(Txn({B: None}))
    assert sched.status(C).state is ValueState.PENDING
    assert "any of" in sched.status(C).details


async def test_update_in_place_or_recreate_with_dependents(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,))}))
    mark = len(sb.log)
    await sched.commit(Txn({A: Item(data="new")}))
    assert sb.log[mark:] == [("update", A)]
    mark = len(sb.log)
    result = await sched.commit(Txn({A: Item(data="new", fixed="other")}))
    # A re-create takes its dependent down first and brings it back after.
    assert sb.log[mark:] == [("delete", B), ("delete", A), ("create", A), ("create", B)]
    assert all(op.recreate for op in result.record.executed)


async def test_an_update_that_drops_a_dependency_being_deleted(
    sched: Scheduler, sb: Southbound
) -> None:
    await sched.commit(Txn({A: Item(), B: Item(deps=(A,))}))
    result = await sched.commit(Txn({A: None, B: Item(data="free")}))
    assert result.ok, result.record.errors
    assert sb.violations == []
    assert sb.state() == {B: Item(data="free")}


async def test_same_value_again_changes_nothing(sched: Scheduler, sb: Southbound) -> None:
    await sched.commit(Txn({A: Item(children=(("c", "x"),))}))
    writes = sb.writes
    result = await sched.commit(Txn({A: Item(children=(("c", "x"),))}))
    assert result.record.planned == ()
    assert sb.writes == writes


async def test_dependents_never_start_before_dependencies_under_concurrency(sb: Southbound) -> None:
    from doubles.southbound import BaseDescriptor, ChildDescriptor

    sched = Scheduler(concurrency=16)
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    sb.latency = 0.001
    chain = {base_key(f"n{i}"): Item(deps=(base_key(f"n{i - 1}"),) if i else ()) for i in range(20)}
    wide = {base_key(f"w{i}"): Item(deps=(base_key("n0"),)) for i in range(40)}
    result = await sched.commit(Txn({**chain, **wide}))
    assert result.ok
    assert sb.violations == []
    assert sb.max_in_flight > 1  # independent creates overlapped
    assert [k for _, k in sb.log if k.startswith(base_key("n"))] == list(chain)
    deletes = await sched.commit(Txn(dict.fromkeys([*chain, *wide])))
    assert deletes.ok
    assert sb.objects == {}
    assert sb.violations == []
    assert all(op.op is OpKind.DELETE for op in deletes.record.executed)
    await sched.stop()
