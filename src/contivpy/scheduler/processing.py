"""Processing one transaction, or one batch of plain transactions, against the graph.

In: requests taken off the scheduler's queue. Out: the graph folded, refreshed, planned and
executed through the descriptors, states settled, retries handed to the scheduler, and one
TxnRecord per transaction in the history. The steps: fold into desired state (desired.py),
refresh southbound when resyncing (refresh.py), plan (planner.py), execute (executor.py),
revert an all-or-nothing transaction that failed (revert.py), settle states (outcome.py),
record (history.py). A dry run takes the same path up to the plan and rolls the graph back.
An op the planner refused because its key could not be read back (``Plan.refused``) is an
error of the transaction that would have made it: the key and the reason are in its record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from contivpy.scheduler.api import (
    Key,
    OpError,
    OpKind,
    OpRecord,
    RetryPolicy,
    Txn,
    TxnKind,
    TxnRecord,
)
from contivpy.scheduler.desired import DesiredState
from contivpy.scheduler.executor import Executor
from contivpy.scheduler.graph import Graph
from contivpy.scheduler.history import History
from contivpy.scheduler.outcome import Settler
from contivpy.scheduler.planner import Plan, PlannedOp, Planner, Refused, unmet
from contivpy.scheduler.refresh import Refresher
from contivpy.scheduler.requests import Request, SchedulerStats
from contivpy.scheduler.revert import revert_ops
from contivpy.scheduler.status_watch import StatusWatchers

RetrySchedule = Callable[[Mapping[float, list[tuple[Key, int]]]], None]


class TxnProcessor:
    """The processing steps over one graph (see the module docstring)."""

    def __init__(
        self,
        *,
        graph: Graph,
        desired: DesiredState,
        planner: Planner,
        executor: Executor,
        refresher: Refresher,
        settler: Settler,
        history: History,
        watchers: StatusWatchers,
        stats: SchedulerStats,
        retry: RetryPolicy,
        clock: Callable[[], float],
        schedule_retries: RetrySchedule,
    ) -> None:
        self._graph = graph
        self._desired = desired
        self._planner = planner
        self._executor = executor
        self._refresher = refresher
        self._settler = settler
        self.history = history
        self._watchers = watchers
        self.stats = stats
        self._retry = retry
        self._clock = clock
        self._schedule_retries = schedule_retries
        self._seq = 0
        self.awaiting_first_full = True
        self.last_resync: TxnRecord | None = None  # the newest executed resync

    async def process(self, request: Request) -> TxnRecord:
        # A dry run shows the number the transaction would get but does not use it up, so
        # sequence numbers in the history have no gaps.
        seq = self._seq + 1
        if not request.dry_run:
            self._seq = seq
        kind, txn = request.kind, request.txn
        started_at = self._clock()
        t0 = time.perf_counter()
        journaled = request.dry_run or txn.revert
        graph = self._graph
        if journaled:
            graph.begin_journal()
        keep_undesired = self._planner.keep_undesired
        awaiting_first_full = self.awaiting_first_full
        self._desired.rejected.clear()
        affected: set[Key] = set()
        found: set[Key] = set()  # refreshed keys to settle even when nothing is planned
        if kind is TxnKind.NB_CHANGE:
            policy = txn.retry or self._retry
            for key, value in txn.values.items():
                self._desired.put(key, value, policy, affected)
        elif kind is TxnKind.RETRY:
            affected = await self._prepare_retry(request.retry_keys)
        elif kind is TxnKind.REFRESH_START:
            found = await self._refresher.refresh()
        else:
            affected = await self._prepare_resync(kind, txn, current=request.current)
        plan = self._planner.plan(affected)
        planned = tuple(op_record(op) for op in plan.ops)
        if self._refresher.missing and not request.dry_run:
            self._settler.mark_missing(self._refresher.missing, seq)
            self._refresher.missing = []
        errors = [OpError(k, OpKind.CREATE, c, False) for k, c in self._desired.rejected]
        errors.extend(refused_error(r) for r in plan.refused)
        if request.dry_run:
            graph.rollback()
            self._planner.keep_undesired = keep_undesired
            self.awaiting_first_full = awaiting_first_full
            return self._record(seq, kind, txn, started_at, t0, planned, (), errors, dry_run=True)
        completed = await self._executor.run(plan, stop_on_failure=txn.revert)
        executed = [
            op_record(op)
            for op in sorted(plan.ops, key=lambda op: (bool(op.skipped), op.started))
            if op.ran or op.skipped
        ]
        errors.extend(op.error for op in plan.ops if op.error is not None)
        if txn.revert and not errors:
            errors.extend(self._not_applied(txn))
        reverted = False
        if txn.revert and errors:
            undo = await revert_ops(graph, completed, time.perf_counter() - t0)
            executed.extend(undo.records)
            errors.extend(undo.errors)
            reverted = True
        elif journaled:
            graph.end_journal()
        self._count(kind, plan)
        keys = plan.examined if not reverted else [op.key for op in plan.ops]
        if found:
            keys = [*keys, *found]
        retries = self._settler.settle(keys, seq, allow_retry=not reverted)
        self._schedule_retries(retries)
        self.stats.status_drops = self._watchers.dropped
        record = self._record(
            seq, kind, txn, started_at, t0, planned, tuple(executed), errors, reverted=reverted
        )
        if kind not in (TxnKind.NB_CHANGE, TxnKind.RETRY):
            self.last_resync = record
        return record

    async def process_batch(self, batch: list[Request]) -> list[TxnRecord]:
        """Several plain transactions as one plan and one execution. If an all-or-nothing
        one among them fails, the whole batch is undone and each transaction is processed
        again on its own (so only the failing one ends reverted)."""
        graph = self._graph
        started_at = self._clock()
        t0 = time.perf_counter()
        any_revert = any(request.txn.revert for request in batch)
        if any_revert:
            graph.begin_journal()
        owned: list[set[Key]] = []
        rejected: list[list[OpError]] = []
        for request in batch:
            affected: set[Key] = set()
            self._desired.rejected.clear()
            policy = request.txn.retry or self._retry
            for key, value in request.txn.values.items():
                self._desired.put(key, value, policy, affected)
            owned.append(affected)
            rejected.append(
                [OpError(k, OpKind.CREATE, c, False) for k, c in self._desired.rejected]
            )
        owner: dict[Key, int] = {}
        for index, keys in enumerate(owned):
            for key in keys:
                owner.setdefault(key, index)
        plan = self._planner.plan(set(owner))
        completed = await self._executor.run(plan, stop_on_failure=any_revert)
        errors = rejected
        for op in plan.ops:
            if op.error is not None:
                errors[owner.get(op.key, 0)].append(op.error)
        for refused in plan.refused:
            errors[owner.get(refused.key, 0)].append(refused_error(refused))
        for index, request in enumerate(batch):
            if request.txn.revert and not errors[index]:
                errors[index].extend(self._not_applied(request.txn))
        if any(request.txn.revert and errors[i] for i, request in enumerate(batch)):
            undo = await revert_ops(graph, completed, time.perf_counter() - t0)
            self._count(TxnKind.NB_CHANGE, plan)
            self._seq += 1
            attempt = Txn({}, f"batch of {len(batch)} transaction(s), undone: one failed")
            executed = [op_record(op) for op in plan.ops if op.ran] + undo.records
            self._record(
                self._seq,
                TxnKind.NB_CHANGE,
                attempt,
                started_at,
                t0,
                tuple(op_record(op) for op in plan.ops),
                tuple(executed),
                [e for group in errors for e in group],
                reverted=True,
            )
            self._settler.settle([op.key for op in plan.ops], self._seq, allow_retry=False)
            return [await self.process(request) for request in batch]
        if any_revert:
            graph.end_journal()
        self._count(TxnKind.NB_CHANGE, plan)
        seqs = []
        for _ in batch:
            self._seq += 1
            seqs.append(self._seq)
        groups: list[list[Key]] = [[] for _ in batch]
        for key in plan.examined:
            groups[owner.get(key, 0)].append(key)
        for index, group in enumerate(groups):
            retries = self._settler.settle(group, seqs[index])
            self._schedule_retries(retries)
        self.stats.status_drops = self._watchers.dropped
        records = []
        for index, request in enumerate(batch):
            mine = [op for op in plan.ops if owner.get(op.key, 0) == index]
            executed = [
                op_record(op)
                for op in sorted(mine, key=lambda op: (bool(op.skipped), op.started))
                if op.ran or op.skipped
            ]
            records.append(
                self._record(
                    seqs[index],
                    TxnKind.NB_CHANGE,
                    request.txn,
                    started_at,
                    t0,
                    tuple(op_record(op) for op in mine),
                    tuple(executed),
                    errors[index],
                )
            )
        return records

    async def _prepare_resync(self, kind: TxnKind, txn: Txn, *, current: bool) -> set[Key]:
        graph = self._graph
        if kind is TxnKind.FULL_RESYNC and current:
            txn = Txn(self._base_desired(), txn.description, full=True, retry=txn.retry)
        if kind is TxnKind.FULL_RESYNC:
            self._planner.keep_undesired = False
            self.awaiting_first_full = False
            policy = txn.retry or self._retry
            affected: set[Key] = set()
            for key, node in list(graph.nodes.items()):
                if node.base is None and node.desired is not None and key not in txn.values:
                    self._desired.put(key, None, policy, affected)
            for key, value in txn.values.items():
                self._desired.put(key, value, policy, affected)
        # After the new desired state is folded in, so retrieve can correlate with it (fill
        # in what the southbound cannot report, order lists the way they were asked for).
        await self._refresher.refresh()
        for node in graph.nodes.values():
            if node.held or node.attempts:
                graph.touch(node)
                node.held = False
                node.attempts = 0
        return set(graph.nodes)

    async def _prepare_retry(self, retry_keys: Sequence[tuple[Key, int]]) -> set[Key]:
        graph = self._graph
        due: list[Key] = []
        for key, rev in retry_keys:
            node = graph.get(key)
            if node is None or node.desired_rev != rev or not node.held:
                self.stats.retries_dropped += 1
                continue
            due.append(key)
        if not due:
            return set()
        # Re-read what is really there first: a failed call may have half-happened.
        names = set()
        for key in due:
            node = graph.nodes[key]
            root = node
            while root.base is not None and root.base in graph.nodes:
                root = graph.nodes[root.base]
            if root.descriptor is not None:
                names.add(root.descriptor.name)
        changed = await self._refresher.refresh(names)
        for key in due:
            node = graph.get(key)
            if node is not None:
                graph.touch(node)
                node.held = False
        return set(due) | changed

    def _not_applied(self, txn: Txn) -> list[OpError]:
        """For all-or-nothing transactions: every value they put (and every value derived
        from it) must now exist as desired; an invalid or pending one is a failure."""
        graph = self._graph
        problems: list[OpError] = []
        todo = [key for key, value in txn.values.items() if value is not None]
        while todo:
            key = todo.pop()
            node = graph.get(key)
            if node is None or node.desired is None:
                continue
            if node.invalid:
                problems.append(OpError(key, OpKind.CREATE, f"invalid: {node.invalid}", False))
            elif not node.exists or node.held:
                reason = unmet(graph, node) or "not applied"
                problems.append(OpError(key, OpKind.CREATE, f"pending: {reason}", False))
            todo.extend(graph.children(key))
        return problems

    def _base_desired(self) -> dict[Key, object]:
        return {
            key: node.desired
            for key, node in self._graph.nodes.items()
            if node.base is None and node.desired is not None
        }

    def _count(self, kind: TxnKind, plan: Plan) -> None:
        stats = self.stats
        stats.txns[kind.value] = stats.txns.get(kind.value, 0) + 1
        for op in plan.ops:
            if op.ran and not op.is_property:
                stats.ops[op.kind.value] = stats.ops.get(op.kind.value, 0) + 1
                if op.error is not None:
                    stats.op_failures += 1

    def _record(
        self,
        seq: int,
        kind: TxnKind,
        txn: Txn,
        started_at: float,
        t0: float,
        planned: tuple[OpRecord, ...],
        executed: tuple[OpRecord, ...],
        errors: list[OpError],
        *,
        dry_run: bool = False,
        reverted: bool = False,
    ) -> TxnRecord:
        record = TxnRecord(
            seq=seq,
            kind=kind,
            description=txn.description,
            started_at=started_at,
            duration=time.perf_counter() - t0,
            values=tuple(txn.values.items()),
            planned=planned,
            executed=executed,
            errors=tuple(errors),
            dry_run=dry_run,
            reverted=reverted,
        )
        if not dry_run:
            self.history.add_txn(record)
        return record


def refused_error(refused: Refused) -> OpError:
    """The error of an op left out because its key is frozen (see planner)."""
    verb = "deleted or re-created" if refused.op is OpKind.DELETE else "updated"
    cause = f"not {verb}: {refused.reason} (left as found)"
    return OpError(refused.key, refused.op, cause, retriable=False)


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
        started=op.started,
        duration=op.duration,
        error=op.error,
        skipped=op.skipped,
    )
