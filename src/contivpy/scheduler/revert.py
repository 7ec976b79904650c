"""Undoing a transaction that asked for revert-on-failure.

In: the successful ops of the failed transaction, in completion order, and the graph with
its journal still open. Out: the southbound put back as it was (ops undone in reverse order:
a create is deleted, a delete re-created with the old value, an update reversed), the graph
rolled back to before the transaction, and records of the undo (marked ``revert``).

An undo that fails leaves the graph describing what is really there (so a later resync can
repair it) and the key FAILED with the error.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from contivpy.scheduler.api import OpError, OpKind, OpRecord
from contivpy.scheduler.executor import apply_success
from contivpy.scheduler.graph import Graph
from contivpy.scheduler.planner import PlannedOp, dependency_met

log = structlog.get_logger(__name__)

_UNDO = {OpKind.CREATE: OpKind.DELETE, OpKind.DELETE: OpKind.CREATE, OpKind.UPDATE: OpKind.UPDATE}


@dataclass(slots=True)
class Undo:
    """What the revert did."""

    records: list[OpRecord] = field(default_factory=list)
    errors: list[OpError] = field(default_factory=list)


async def revert_ops(graph: Graph, completed: Sequence[PlannedOp], offset: float) -> Undo:
    """Undo ``completed`` in reverse order, then roll the graph back."""
    undo = Undo()
    t0 = time.perf_counter() - offset
    metadata_after: dict[str, object] = {}
    failed: list[tuple[PlannedOp, OpError]] = []
    stuck: set[str] = set()  # keys whose undo failed: still there, as the forward op left them
    error: OpError | None
    for op in reversed(completed):
        node = op.node
        descriptor = node.descriptor
        kind = _UNDO[op.kind]
        blocked = ""
        if kind is OpKind.DELETE and _needed_by_stuck(graph, node.key, stuck):
            # Removing it would pull the ground from under a value that could not be undone.
            blocked = "kept: a dependent could not be reverted"
        elif kind is OpKind.CREATE and node.exists:
            blocked = "not restored: the new value could not be removed"
        elif kind is OpKind.CREATE and not _dependencies_back(graph, op):
            blocked = "not restored: a dependency could not be restored"
        if blocked:
            error = OpError(node.key, kind, blocked, False)
            failed.append((op, error))
            undo.errors.append(error)
            stuck.add(node.key)
            continue
        if descriptor is None:
            continue  # a property: nothing southbound
        started = time.perf_counter() - t0
        error = None
        try:
            if kind is OpKind.DELETE:
                await descriptor.delete(node.key, op.new_value, node.metadata)
                apply_success(graph, node, kind, None, None)
            elif kind is OpKind.CREATE:
                metadata = await descriptor.create(node.key, op.prev_value)
                apply_success(graph, node, kind, op.prev_value, metadata)
                metadata_after[node.key] = metadata
            else:
                metadata = await descriptor.update(
                    node.key, op.new_value, op.prev_value, node.metadata
                )
                apply_success(graph, node, kind, op.prev_value, metadata)
                metadata_after[node.key] = metadata
        except Exception as exc:
            cause = f"{type(exc).__name__}: {exc}"
            error = OpError(node.key, kind, cause, retriable=False)
            failed.append((op, error))
            stuck.add(node.key)
            undo.errors.append(error)
            log.warning("revert step failed", key=node.key, op=kind.value, cause=cause)
        undo.records.append(
            OpRecord(
                key=node.key,
                op=kind,
                prev_value=op.new_value,
                new_value=op.prev_value if kind is not OpKind.DELETE else None,
                derived=node.base is not None,
                revert=True,
                started=started,
                duration=time.perf_counter() - t0 - started,
                error=error,
            )
        )
    graph.rollback()
    for key, metadata in metadata_after.items():
        restored = graph.get(key)
        if restored is not None:
            restored.metadata = metadata  # a re-created object has a new index
    for op, error in failed:
        _reflect_failed_undo(graph, op, error)
    return undo


def _needed_by_stuck(graph: Graph, key: str, stuck: set[str]) -> bool:
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


def _dependencies_back(graph: Graph, op: PlannedOp) -> bool:
    """Whether everything the old value needs exists again (its base and dependencies)."""
    node = op.node

    def exists(key: str) -> bool:
        found = graph.get(key)
        return found is not None and found.exists

    if node.base is not None and not exists(node.base):
        return False
    descriptor = node.descriptor
    if descriptor is None:
        return True
    try:
        deps = descriptor.dependencies(node.key, op.prev_value)
    except Exception:
        return True  # let the southbound judge
    return all(dependency_met(graph, dep, exists) for dep in deps)


def _reflect_failed_undo(graph: Graph, op: PlannedOp, error: OpError) -> None:
    """After the rollback, make the graph say what really is southbound for a failed undo."""
    live = op.node
    node = graph.get(live.key)
    if node is None:
        node = graph.add(live.key, live.descriptor, live.base)
    if op.kind is OpKind.DELETE:
        node.exists = False  # the delete happened and could not be undone
        node.applied = None
        node.applied_deps = ()
        node.metadata = None
    else:
        node.exists = True  # the create/update happened and could not be undone
        node.applied = op.new_value
        node.applied_deps = live.applied_deps
        node.metadata = live.metadata
    node.error = error
    node.held = True
    node.last_op = error.op
    graph.reindex(node)
