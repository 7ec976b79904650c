"""Undoing a transaction that asked for revert-on-failure: its inverse plan.

In: the successful ops of the failed transaction, in completion order, and the graph with
its journal still open. Out: an inverse plan for the executor (``inverse_plan``), the rule
that holds an undo op back (``undo_blocked``, asked by the executor before each one), and,
once it ran, the graph rolled back to before the transaction with the records and errors of
the undo (``undone``).

The inverse plan undoes the ops in reverse order, one after another: a create is deleted, a
delete re-created with the old value, an update reversed. A property has nothing southbound
to undo (the rollback restores it). An undo is held back, and fails, when it would pull the
ground from under a value that could not be undone, when the new value it replaces could not
be removed, or when what the old value needs is not back. An undo that fails or is held back
leaves the graph describing what is really there (so a later resync can repair it) and the
key FAILED with the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contivpy.scheduler.api import Key, OpError, OpKind, OpRecord
from contivpy.scheduler.graph import Graph, Node
from contivpy.scheduler.planner import Plan, PlannedOp, dependency_met
from contivpy.scheduler.records import op_record

_INVERSE = {
    OpKind.CREATE: OpKind.DELETE,
    OpKind.DELETE: OpKind.CREATE,
    OpKind.UPDATE: OpKind.UPDATE,
}


@dataclass(slots=True)
class Undo:
    """What the revert did."""

    records: list[OpRecord] = field(default_factory=list)
    errors: list[OpError] = field(default_factory=list)


def inverse_plan(completed: Sequence[PlannedOp]) -> Plan:
    """The undo of ``completed``, last first, each op after the one before it."""
    ops: list[PlannedOp] = []
    for done in reversed(completed):
        kind = _INVERSE[done.kind]
        op = PlannedOp(
            done.node,
            kind,
            1,
            revert=True,
            prev_value=done.new_value,
            new_value=None if kind is OpKind.DELETE else done.prev_value,
        )
        if ops:
            ops[-1].succs.append(op)
            op.preds = 1
        ops.append(op)
    return Plan(ops, [], [])


def undo_blocked(graph: Graph, op: PlannedOp, stuck: set[Key]) -> str:
    """Why the undo ``op`` must not run now, or ''. ``stuck``: keys whose undo failed or was
    held back so far (still there, as the forward op left them)."""
    node = op.node
    if op.kind is OpKind.DELETE:
        if _needed_by_stuck(graph, node.key, stuck):
            return "kept: a dependent could not be reverted"
    elif op.kind is OpKind.CREATE:
        if node.exists:
            return "not restored: the new value could not be removed"
        if not _dependencies_back(graph, node, op.new_value):
            return "not restored: a dependency could not be restored"
    return ""


def undone(graph: Graph, inverse: Plan) -> Undo:
    """After the inverse plan ran: roll the graph back and make it say what really is
    southbound; the undo's records (of the ops that ran) and errors, in order."""
    ops = inverse.phase1
    graph.rollback()
    for op in ops:
        if op.ran and op.error is None and op.kind is not OpKind.DELETE:
            restored = graph.get(op.key)
            if restored is not None:
                restored.metadata = op.node.metadata  # a re-created object has a new index
    undo = Undo()
    for op in ops:
        if op.ran:
            undo.records.append(op_record(op))
        if op.error is not None:
            undo.errors.append(op.error)
            _reflect_failed_undo(graph, op, op.error)
    return undo


def _needed_by_stuck(graph: Graph, key: Key, stuck: set[Key]) -> bool:
    if not stuck:
        return False
    for other in (*graph.dependents(key), *graph.children(key)):
        if other in stuck:
            node = graph.get(other)
            if node is not None and (
                node.base == key or any(dep.matches(key) for dep in node.applied_deps)
            ):
                return True
    return False


def _dependencies_back(graph: Graph, node: Node, value: object | None) -> bool:
    """Whether everything the old value needs exists again (its base and dependencies)."""

    def exists(key: Key) -> bool:
        found = graph.get(key)
        return found is not None and found.exists

    if node.base is not None and not exists(node.base):
        return False
    descriptor = node.descriptor
    if descriptor is None:
        return True
    try:
        deps = descriptor.dependencies(node.key, value)
    except Exception:
        return True  # let the southbound judge
    return all(dependency_met(graph, dep, exists) for dep in deps)


def _reflect_failed_undo(graph: Graph, op: PlannedOp, error: OpError) -> None:
    """After the rollback, make the graph say what really is southbound for a failed undo."""
    live = op.node
    node = graph.get(live.key)
    if node is None:
        node = graph.add(live.key, live.descriptor, live.base)
    if op.kind is OpKind.CREATE:
        node.exists = False  # the forward delete happened and could not be undone
        node.applied = None
        node.applied_deps = ()
        node.metadata = None
    else:
        node.exists = True  # the forward create/update happened and could not be undone
        node.applied = op.prev_value
        node.applied_deps = live.applied_deps
        node.metadata = live.metadata
    node.error = error
    node.held = True
    node.last_op = error.op
    graph.reindex(node)
