"""From planned and executed ops to the records the history keeps.

In: ``PlannedOp``s (before or after execution, forward or undo) and ops the planner refused.
Out: ``OpRecord``s (an undo op's record is marked ``revert``), the executed list of a
transaction in the order its ops started, and the error of a refused op.
"""

from __future__ import annotations

from collections.abc import Iterable

from contivpy.scheduler.api import OpError, OpKind, OpRecord
from contivpy.scheduler.planner import PlannedOp, Refused


def op_record(op: PlannedOp) -> OpRecord:
    """The record of a planned or executed op."""
    node = op.node
    return OpRecord(
        key=node.key,
        op=op.kind,
        prev_value=op.prev_value,
        new_value=op.new_value,
        derived=node.base is not None,
        property=node.descriptor is None,
        recreate=op.recreate,
        revert=op.revert,
        started=op.started,
        duration=op.duration,
        error=op.error,
        skipped=op.skipped,
    )


def executed_records(ops: Iterable[PlannedOp]) -> list[OpRecord]:
    """Records of the ops that ran, in the order they started, then those skipped."""
    return [
        op_record(op)
        for op in sorted(ops, key=lambda op: (bool(op.skipped), op.started))
        if op.ran or op.skipped
    ]


def refused_error(refused: Refused) -> OpError:
    """The error of an op left out because its key is frozen (see planner)."""
    verb = "deleted or re-created" if refused.op is OpKind.DELETE else "updated"
    cause = f"not {verb}: {refused.reason} (left as found)"
    return OpError(refused.key, refused.op, cause, retriable=False)
