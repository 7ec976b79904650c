"""Running a plan against the descriptors.

In: a ``Plan``. Out: southbound calls made in order, and the graph's southbound side (exists,
applied value, metadata) updated from what really happened. Phase 1 (deletes) runs before
phase 2 (creates, updates). Within a phase a bounded pool of workers takes ops whose
predecessors are done, so independent ops overlap while dependent ones never reorder; when
southbound calls do not suspend, one worker runs them all with no task switching.

Before a phase 2 op runs its dependencies are checked against what exists *now*: when a
predecessor failed the op is skipped (its value becomes pending), never attempted blind.
A phase 1 delete whose dependent could not be deleted is skipped too (deleting it would
pull the ground from under something still in place).

With ``stop_on_failure`` (revert-on-failure transactions) no new op starts after the first
failure; ``completed`` lists the successful ops in completion order for the undo.

The undo runs here too, as an inverse plan (revert.py): its ops, marked ``revert``, are
chained one after another; before each, ``undo_blocked`` says whether it must be held back
(an error of the undo, never attempted); a property's undo makes no call; a failed undo is
not retried and leaves its node to the rollback that follows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence

import structlog

from contivpy.scheduler.api import Key, OpError, OpKind, Origin, RetryPolicy
from contivpy.scheduler.graph import Graph, Node
from contivpy.scheduler.planner import Plan, PlannedOp, unmet
from contivpy.scheduler.revert import undo_blocked

log = structlog.get_logger(__name__)


class Executor:
    """Executes plans; one instance per scheduler."""

    def __init__(self, graph: Graph, concurrency: int, default_retry: RetryPolicy) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._graph = graph
        self.concurrency = concurrency
        self._default_retry = default_retry

    async def run(
        self, plan: Plan, *, stop_on_failure: bool = False, t0: float | None = None
    ) -> list[PlannedOp]:
        """Execute the plan; returns the successful ops in completion order. Ops' start
        times count from ``t0`` (``time.perf_counter()``; by default, now)."""
        run = _PhaseRun(self, stop_on_failure, time.perf_counter() if t0 is None else t0)
        await run.phase(plan.phase1)
        if not (stop_on_failure and run.failed):
            await run.phase(plan.phase2)
        else:
            for op in plan.phase2:
                op.skipped = "transaction stopped after a failure"
        return run.completed

    # --- one op ---------------------------------------------------------------------------

    def blocked(self, op: PlannedOp) -> str:
        """Why a phase 2 op must not run now, or an empty string."""
        node = op.node
        if op.kind is OpKind.CREATE and node.exists:
            return "still exists (its delete failed)"
        return unmet(self._graph, node)

    def undo_blocked(self, op: PlannedOp, stuck: set[Key]) -> str:
        """Why an undo op must not run now (see revert.py), or an empty string."""
        return undo_blocked(self._graph, op, stuck)

    async def call(self, op: PlannedOp, t0: float) -> None:
        """Make the southbound call of one op and fold the outcome into its node."""
        node = op.node
        descriptor = node.descriptor
        op.started = time.perf_counter() - t0
        try:
            metadata: object = None
            if descriptor is None:
                metadata = None  # a property: no southbound call
            elif op.kind is OpKind.CREATE:
                metadata = await descriptor.create(node.key, op.new_value)
            elif op.kind is OpKind.UPDATE:
                metadata = await descriptor.update(
                    node.key, op.prev_value, op.new_value, node.metadata
                )
            else:
                await descriptor.delete(node.key, op.prev_value, node.metadata)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            op.duration = time.perf_counter() - t0 - op.started
            if op.revert:
                self._undo_failed(op, error)
            else:
                self._failed(op, error)
            return
        op.duration = time.perf_counter() - t0 - op.started
        op.ran = True
        apply_success(self._graph, node, op.kind, op.new_value, metadata)

    def hold(self, op: PlannedOp, blockers: Sequence[PlannedOp]) -> None:
        """A delete that must not run because what depends on it could not be deleted.

        It is recorded as a failure of its own so it is shown and re-attempted, but it does
        not spend its own attempts: it is retried while its blockers are, and fails for good
        (not retriable) once a blocker has failed for good.
        """
        node = op.node
        names = ", ".join(sorted(b.key for b in blockers))
        reason = f"still depended on by {names}, which could not be deleted"
        retriable = all(self._will_retry(b.node) for b in blockers)
        op.skipped = reason
        op.error = OpError(node.key, op.kind, reason, retriable=retriable)
        self._graph.touch(node)
        node.error = op.error
        node.held = True
        node.last_op = op.kind

    def _will_retry(self, node: Node) -> bool:
        error = node.error
        if error is None or not node.held or not error.retriable:
            return False
        policy = node.retry or self._default_retry
        return node.attempts <= policy.max_attempts

    def _failed(self, op: PlannedOp, error: Exception) -> None:
        node = op.node
        descriptor = node.descriptor
        retriable = True
        if descriptor is not None:
            try:
                retriable = descriptor.is_retriable(error)
            except Exception:
                retriable = False
        cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        op.error = OpError(node.key, op.kind, cause, retriable)
        op.ran = True
        self._graph.touch(node)
        node.error = op.error
        node.held = True
        node.attempts += 1
        node.last_op = op.kind
        log.info("operation failed", key=node.key, op=op.kind.value, cause=cause)

    @staticmethod
    def _undo_failed(op: PlannedOp, error: Exception) -> None:
        # Not retried: the transaction has failed already. The node is left alone: the
        # rollback that follows replaces it, then says what the failure left southbound.
        cause = f"{type(error).__name__}: {error}"
        op.error = OpError(op.key, op.kind, cause, retriable=False)
        op.ran = True
        log.warning("revert step failed", key=op.key, op=op.kind.value, cause=cause)


def apply_success(
    graph: Graph, node: Node, kind: OpKind, value: object | None, metadata: object
) -> None:
    """Record that ``kind`` succeeded southbound for ``node``."""
    graph.touch(node)
    node.last_op = kind
    node.error = None
    node.held = False
    node.attempts = 0
    if kind is OpKind.DELETE:
        node.exists = False
        node.applied = None
        node.applied_deps = ()
        node.metadata = None
    else:
        node.exists = True
        node.applied = value
        node.applied_deps = node.deps
        node.metadata = metadata
        node.origin = Origin.NB
    graph.reindex(node)


class _PhaseRun:
    """State of one plan execution across its phases."""

    def __init__(self, executor: Executor, stop_on_failure: bool, t0: float) -> None:
        self.executor = executor
        self.stop_on_failure = stop_on_failure
        self.failed = False
        self.completed: list[PlannedOp] = []
        self.stuck: set[Key] = set()  # keys whose undo failed or was held back
        self.t0 = t0

    def held_back(self, op: PlannedOp, failed_before: list[PlannedOp] | None) -> bool:
        """Whether ``op`` must not run now; if so, why is recorded on it."""
        if op.revert:
            return self._undo_held_back(op)
        if op.phase == 1:
            if failed_before:
                self.executor.hold(op, failed_before)
                self.failed = True
                return True
            return False
        reason = self.executor.blocked(op)
        if reason:
            op.skipped = reason
            return True
        return False

    def _undo_held_back(self, op: PlannedOp) -> bool:
        reason = self.executor.undo_blocked(op, self.stuck)
        if reason:
            op.skipped = reason
            op.error = OpError(op.key, op.kind, reason, retriable=False)
            self.stuck.add(op.key)
            return True
        if op.is_property:
            op.skipped = "a property: nothing southbound to undo"  # the rollback does it
            return True
        return False

    async def phase(self, ops: Sequence[PlannedOp]) -> None:
        if not ops:
            return
        ready: deque[PlannedOp] = deque(op for op in ops if op.preds == 0)
        blockers: dict[PlannedOp, list[PlannedOp]] = {}  # op -> its failed predecessors
        state = {"in_flight": 0}
        wake = asyncio.Event()

        async def worker() -> None:
            while True:
                while ready:
                    op = ready.popleft()
                    if self.failed and self.stop_on_failure:
                        op.skipped = "transaction stopped after a failure"
                    elif not self.held_back(op, blockers.get(op)):
                        state["in_flight"] += 1
                        await self.executor.call(op, self.t0)
                        state["in_flight"] -= 1
                        if op.error is not None:
                            self.failed = True
                            if op.revert:
                                self.stuck.add(op.key)
                        else:
                            self.completed.append(op)
                    bad = op.error is not None or bool(op.skipped)
                    for succ in op.succs:
                        if bad:
                            blockers.setdefault(succ, []).append(op)
                        succ.preds -= 1
                        if succ.preds == 0:
                            ready.append(succ)
                    if ready:
                        wake.set()
                if state["in_flight"] == 0:
                    wake.set()  # nothing running, nothing ready: everyone can leave
                    return
                wake.clear()
                await wake.wait()

        workers = min(self.executor.concurrency, len(ops))
        if workers == 1:
            await worker()
        else:
            await asyncio.gather(*(worker() for _ in range(workers)))
        for op in ops:
            if not op.ran and not op.skipped:
                # Predecessors never finished: only a dependency cycle does that.
                op.skipped = "dependency cycle"
