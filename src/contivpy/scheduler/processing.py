"""Processing a batch of transactions against the graph: one path for every kind.

In: requests taken off the scheduler's queue, as a batch: several plain transactions queued
together on disjoint keys, or one transaction of any kind (a batch of one). Out: the graph
folded, refreshed, planned and executed through the descriptors, states settled, retries
handed to the scheduler, and one TxnRecord per transaction in the history.

The steps, each returning what it found: prepare each transaction (fold its changes into the
desired state, desired.py, giving the affected keys and the changes refused; refresh the
southbound when resyncing or retrying, refresh.py, giving what changed and what went
missing), plan (planner.py, one plan for the batch), execute (executor.py), revert an
all-or-nothing transaction that failed (its inverse plan through the same executor, then
the rollback: revert.py), settle states (outcome.py), record (history.py, records.py).
Whether values of ours found southbound but never desired are kept is decided here, per
plan: only until the first full resync. A dry run takes the same path up to the plan and
rolls the graph back. An op the planner refused because its key could not be read back
(``Plan.refused``) is an error of the transaction that would have made it.

Each op of a batch belongs to the transaction that first affected its key: its errors, its
records and its settlement go there. If an all-or-nothing transaction of a larger batch
fails, the whole batch is undone (recorded as one reverted attempt) and each transaction is
processed again on its own, so only the failing one ends reverted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TypeVar

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
from contivpy.scheduler.planner import Plan, PlannedOp, Planner, unmet
from contivpy.scheduler.records import executed_records, op_record, refused_error
from contivpy.scheduler.refresh import Refresher
from contivpy.scheduler.requests import Request, SchedulerStats
from contivpy.scheduler.revert import inverse_plan, undone
from contivpy.scheduler.status_watch import StatusWatchers

RetrySchedule = Callable[[Mapping[float, list[tuple[Key, int]]]], None]

T = TypeVar("T")


@dataclass(slots=True)
class Prepared:
    """What preparing one transaction gives the planner and its record."""

    affected: set[Key]  # keys the planner must re-evaluate
    errors: list[OpError]  # changes refused outright
    found: Collection[Key] = ()  # refreshed keys settled even if not planned
    missing: Sequence[Key] = ()  # configured keys a refresh did not find


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
        # Until the first full resync, values of ours found southbound and never desired are
        # kept (a refresh-only start): nothing is deleted on a guess.
        self.awaiting_first_full = True
        self.last_resync: TxnRecord | None = None  # the newest executed resync

    async def process_batch(self, batch: Sequence[Request]) -> list[TxnRecord]:
        """Process the batch (one transaction of any kind, or several plain ones, see
        ``requests.batchable``); returns each transaction's record, in order."""
        graph = self._graph
        first = batch[0]
        kind, dry_run = first.kind, first.dry_run  # only a batch of one can be anything else
        started_at = self._clock()
        t0 = time.perf_counter()
        revert = first.txn.revert  # some transaction is all-or-nothing
        if len(batch) > 1:
            revert = any(request.txn.revert for request in batch)
        journaled = dry_run or revert
        if journaled:
            graph.begin_journal()
        prepared: list[Prepared] = []
        errors: list[list[OpError]] = []  # per transaction
        for request in batch:
            if request.kind is TxnKind.NB_CHANGE:
                ready = self._fold(request.txn.values.items(), request.txn.retry)
            else:
                ready = await self._prepare(request)
            prepared.append(ready)
            errors.append(ready.errors)
        keep_undesired = self.awaiting_first_full and kind is not TxnKind.FULL_RESYNC
        if kind is TxnKind.FULL_RESYNC and not dry_run:
            self.awaiting_first_full = False
        owner: dict[Key, int] | None = None  # key -> index of its transaction; None: one
        affected: Iterable[Key] = prepared[0].affected
        if len(batch) > 1:
            owner = {}
            for index, ready in enumerate(prepared):
                for key in ready.affected:
                    owner.setdefault(key, index)
            affected = set(owner)
        plan = self._planner.plan(affected, keep_undesired=keep_undesired)
        planned = [op_record(op) for op in plan.ops]
        if not dry_run:
            for index, ready in enumerate(prepared):
                if ready.missing:
                    self._settler.mark_missing(ready.missing, self._seq + 1 + index)
        run = _Run(batch, started_at, t0, owner, plan, planned, errors, prepared[0].found)
        for refused in plan.refused:
            run.errors_of(refused.key).append(refused_error(refused))
        if dry_run:
            graph.rollback()
            return [self._record(self._seq + 1, first, run, planned, [], errors[0], dry_run=True)]
        completed = await self._executor.run(plan, stop_on_failure=revert)
        for op in plan.ops:
            if op.error is not None:
                run.errors_of(op.key).append(op.error)
        self._count(kind, plan)
        if revert:
            for request, mine in zip(batch, errors, strict=True):
                if request.txn.revert and not mine:
                    mine.extend(self._not_applied(request.txn))
            if any(r.txn.revert and e for r, e in zip(batch, errors, strict=True)):
                return await self._revert(run, completed)
        if journaled:
            graph.end_journal()
        records = self._settle_and_record(run)
        if kind not in (TxnKind.NB_CHANGE, TxnKind.RETRY):
            self.last_resync = records[0]
        return records

    async def _revert(self, run: _Run, completed: Sequence[PlannedOp]) -> list[TxnRecord]:
        """Undo what the batch did (its inverse plan, then the rollback). A batch of one
        ends reverted; a larger one is recorded as one reverted attempt, then each of its
        transactions runs again on its own."""
        inverse = inverse_plan(completed)
        await self._executor.run(inverse, t0=run.t0)
        undo = undone(self._graph, inverse)
        self._seq += 1
        ops = run.plan.ops
        self._settler.settle([*(op.key for op in ops), *run.found], self._seq, allow_retry=False)
        self.stats.status_drops = self._watchers.dropped
        executed = executed_records(ops) + undo.records
        batch = run.batch
        if len(batch) == 1:
            errors = [*run.errors[0], *undo.errors]
            planned = run.planned
            return [
                self._record(self._seq, batch[0], run, planned, executed, errors, reverted=True)
            ]
        description = f"batch of {len(batch)} transaction(s), undone: one failed"
        attempt = Request(TxnKind.NB_CHANGE, Txn({}, description), None)
        errors = list(chain.from_iterable(run.errors))
        # Not counted as a transaction: each of the batch's is, when it runs again on its own.
        self._record(
            self._seq, attempt, run, run.planned, executed, errors, reverted=True, counted=False
        )
        return [(await self.process_batch([request]))[0] for request in batch]

    def _settle_and_record(self, run: _Run) -> list[TxnRecord]:
        """Settle each transaction's keys under its own sequence number; its record."""
        parts = run.per_transaction(self._seq + 1)
        self._seq += len(parts)
        settle = self._settler.settle
        for part in parts:
            self._schedule_retries(settle(part.examined, part.seq))
        self.stats.status_drops = self._watchers.dropped
        records = []
        for part in parts:
            executed = executed_records(part.ops)
            records.append(
                self._record(part.seq, part.request, run, part.planned, executed, part.errors)
            )
        return records

    # --- preparing one transaction -------------------------------------------------------

    def _fold(
        self, changes: Iterable[tuple[Key, object | None]], retry: RetryPolicy | None
    ) -> Prepared:
        """Fold changes into the desired state; those refused outright are errors."""
        folded = self._desired.put(changes, retry or self._retry)
        rejected = folded.rejected
        if not rejected:
            return Prepared(folded.affected, [])
        errors = [OpError(r.key, OpKind.CREATE, r.reason, False) for r in rejected]
        return Prepared(folded.affected, errors)

    async def _prepare(self, request: Request) -> Prepared:
        """Prepare a resync, a retry or the refresh-only start (plain changes: ``_fold``)."""
        kind, txn = request.kind, request.txn
        if kind is TxnKind.RETRY:
            return await self._prepare_retry(request.retry_keys)
        if kind is TxnKind.REFRESH_START:
            refreshed = await self._refresher.refresh()
            return Prepared(set(), [], refreshed.changed, refreshed.missing)
        return await self._prepare_resync(kind, txn, current=request.current)

    async def _prepare_resync(self, kind: TxnKind, txn: Txn, *, current: bool) -> Prepared:
        graph = self._graph
        prepared = Prepared(set(), [])
        if kind is TxnKind.FULL_RESYNC:
            if current:
                txn = Txn(self._base_desired(), txn.description, full=True, retry=txn.retry)
            gone = [
                (key, None)
                for key, node in graph.nodes.items()
                if node.base is None and node.desired is not None and key not in txn.values
            ]
            prepared = self._fold(chain(gone, txn.values.items()), txn.retry)
        # After the new desired state is folded in, so retrieve can correlate with it (fill
        # in what the southbound cannot report, order lists the way they were asked for).
        prepared.missing = (await self._refresher.refresh()).missing
        for node in graph.nodes.values():
            if node.held or node.attempts:
                graph.touch(node)
                node.held = False
                node.attempts = 0
        prepared.affected = set(graph.nodes)
        return prepared

    async def _prepare_retry(self, retry_keys: Sequence[tuple[Key, int]]) -> Prepared:
        graph = self._graph
        due: list[Key] = []
        for key, rev in retry_keys:
            node = graph.get(key)
            if node is None or node.desired_rev != rev or not node.held:
                self.stats.retries_dropped += 1
                continue
            due.append(key)
        if not due:
            return Prepared(set(), [])
        # Re-read what is really there first: a failed call may have half-happened.
        names = set()
        for key in due:
            node = graph.nodes[key]
            root = node
            while root.base is not None and root.base in graph.nodes:
                root = graph.nodes[root.base]
            if root.descriptor is not None:
                names.add(root.descriptor.name)
        refreshed = await self._refresher.refresh(names)
        for key in due:
            node = graph.get(key)
            if node is not None:
                graph.touch(node)
                node.held = False
        return Prepared(set(due) | refreshed.changed, [], missing=refreshed.missing)

    # --- after execution -----------------------------------------------------------------

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
                    stats.ops_failed[op.kind.value] = stats.ops_failed.get(op.kind.value, 0) + 1

    def _record(
        self,
        seq: int,
        request: Request,
        run: _Run,
        planned: Sequence[OpRecord],
        executed: Sequence[OpRecord],
        errors: list[OpError],
        *,
        dry_run: bool = False,
        reverted: bool = False,
        counted: bool = True,
    ) -> TxnRecord:
        txn = request.txn
        record = TxnRecord(
            seq=seq,
            kind=request.kind,
            description=txn.description,
            started_at=run.started_at,
            duration=time.perf_counter() - run.t0,
            values=tuple(txn.values.items()),
            planned=tuple(planned),
            executed=tuple(executed),
            errors=tuple(errors),
            dry_run=dry_run,
            reverted=reverted,
        )
        if not dry_run:
            self.history.add_txn(record)
            if counted:
                outcome = (request.kind.value, "failed" if errors else "ok")
                outcomes = self.stats.outcomes
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return record


def _itself(key: Key) -> Key:
    return key


def _key_of(op: PlannedOp | OpRecord) -> Key:
    return op.key


@dataclass(slots=True)
class _Part:
    """One transaction's share of a batch."""

    seq: int
    request: Request
    examined: Sequence[Key]  # keys to settle
    ops: Sequence[PlannedOp]
    planned: Sequence[OpRecord]
    errors: list[OpError]


class _Run:
    """One planned batch on its way through execution, revert, settling and records."""

    __slots__ = ("batch", "errors", "found", "owner", "plan", "planned", "started_at", "t0")

    def __init__(
        self,
        batch: Sequence[Request],
        started_at: float,
        t0: float,
        owner: dict[Key, int] | None,
        plan: Plan,
        planned: list[OpRecord],
        errors: list[list[OpError]],
        found: Collection[Key],
    ) -> None:
        self.batch = batch
        self.started_at = started_at  # wall clock
        self.t0 = t0  # time.perf_counter() at the start
        self.owner = owner  # key -> index of its transaction in the batch; None: just one
        self.plan = plan
        self.planned = planned  # the plan's ops as planned (before execution)
        self.errors = errors  # per transaction
        self.found = found  # refreshed keys settled even when nothing is planned

    def errors_of(self, key: Key) -> list[OpError]:
        """The errors of the transaction ``key`` belongs to (the first, when unclaimed)."""
        owner = self.owner
        return self.errors[0 if owner is None else owner.get(key, 0)]

    def per_transaction(self, first_seq: int) -> list[_Part]:
        """Each transaction's share (keys, ops, records, errors), numbered from
        ``first_seq``: a key belongs to the transaction that first affected it."""
        plan = self.plan
        examined = [*plan.examined, *self.found] if self.found else plan.examined
        if self.owner is None:  # a batch of one: everything is its own
            request = self.batch[0]
            return [_Part(first_seq, request, examined, plan.ops, self.planned, self.errors[0])]
        return [
            _Part(first_seq + index, *part)
            for index, part in enumerate(
                zip(
                    self.batch,
                    self._split(examined, _itself),
                    self._split(plan.ops, _key_of),
                    self._split(self.planned, _key_of),
                    self.errors,
                    strict=True,
                )
            )
        ]

    def _split(self, items: Sequence[T], key_of: Callable[[T], Key]) -> list[Sequence[T]]:
        """``items`` grouped by the transaction their key belongs to, order kept."""
        owner = self.owner
        assert owner is not None
        groups: list[list[T]] = [[] for _ in self.batch]
        for item in items:
            groups[owner.get(key_of(item), 0)].append(item)
        return list(groups)
