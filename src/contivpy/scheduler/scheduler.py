"""The scheduler: a serial queue of transactions over the dependency graph.

In: transactions (puts/deletes, full or downstream resyncs, retries) from callers and from its
own retry timers. Out: southbound operations through the descriptors, in dependency order;
per-key status (queryable and watchable); history; stats.

One consumer task processes one transaction at a time: fold into desired state (desired.py),
refresh southbound when resyncing (refresh.py), plan (planner.py), execute (executor.py),
settle states and schedule retries (outcome.py), record (history.py). A dry run takes the
same path up to the plan and then rolls the graph back. Retries come back as transactions on
the same queue; nothing calls back up the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from contivpy.scheduler.api import (
    Descriptor,
    Key,
    KeyRevision,
    OpError,
    OpKind,
    OpRecord,
    Retrieved,
    RetryPolicy,
    Txn,
    TxnKind,
    TxnRecord,
    TxnResult,
    ValueState,
    ValueStatus,
)
from contivpy.scheduler.desired import DesiredState
from contivpy.scheduler.dot import to_dot
from contivpy.scheduler.errors import (
    SchedulerStoppedError,
    TxnOptionsError,
    TxnQueueFullError,
)
from contivpy.scheduler.executor import Executor
from contivpy.scheduler.graph import Graph
from contivpy.scheduler.history import History, HistoryLimits
from contivpy.scheduler.outcome import Settler
from contivpy.scheduler.planner import Plan, PlannedOp, Planner, unmet
from contivpy.scheduler.refresh import Refresher
from contivpy.scheduler.registry import Registry
from contivpy.scheduler.revert import revert_ops
from contivpy.scheduler.status_watch import StatusSubscription, StatusWatchers

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SchedulerStats:
    """Counters since start (exported as metrics by the agent)."""

    txns: dict[str, int] = field(default_factory=dict)  # by TxnKind value
    ops: dict[str, int] = field(default_factory=dict)  # by OpKind value, executed
    op_failures: int = 0
    retries_scheduled: int = 0
    retries_dropped: int = 0  # the key changed or recovered before the retry ran
    queue_overflows: int = 0
    status_drops: int = 0
    queue_depth: int = 0


@dataclass(slots=True)
class _Request:
    kind: TxnKind
    txn: Txn
    future: asyncio.Future[TxnResult] | None  # None: internal (a retry), nobody waits
    dry_run: bool = False
    retry_keys: tuple[tuple[Key, int], ...] = ()  # (key, desired_rev) for RETRY
    current: bool = False  # FULL_RESYNC of the desired state as it is when processed


class Scheduler:
    """Dependency-ordered key-value scheduler. See the module docstring."""

    def __init__(
        self,
        *,
        concurrency: int = 16,
        queue_size: int = 200,
        retry: RetryPolicy | None = None,
        history: HistoryLimits | None = None,
        clock: Callable[[], float] = time.time,
        batch_limit: int = 64,
    ) -> None:
        self.registry = Registry()
        self.graph = Graph()
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._desired = DesiredState(self.graph, self.registry)
        self._planner = Planner(self.graph)
        self._executor = Executor(self.graph, concurrency, self.retry)
        self._refresher = Refresher(self.graph, self.registry)
        self.history = History(history, clock)
        self._watchers = StatusWatchers()
        self._settler = Settler(self.graph, self.history, self._watchers, self.retry, clock)
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(queue_size)
        self._next: deque[_Request] = deque()  # taken off the queue but not yet batched
        self.batch_limit = batch_limit
        self._consumer: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._seq = 0
        self.stats = SchedulerStats()
        self.awaiting_first_full = True
        self.last_resync: TxnRecord | None = None  # the newest executed resync

    # --- set-up --------------------------------------------------------------------------

    def register(self, descriptor: Descriptor) -> None:
        """Add a descriptor (before start)."""
        self.registry.register(descriptor)

    @property
    def queue_capacity(self) -> int:
        """How many transactions may wait in the queue."""
        return self._queue.maxsize

    @property
    def concurrency(self) -> int:
        """Bound on concurrent southbound operations."""
        return self._executor.concurrency

    async def start(self, *, refresh: bool = True) -> TxnResult | None:
        """Start processing. With ``refresh`` (the default), first record what exists
        southbound (a refresh-only start: nothing is created or deleted); until the first
        full resync, values found southbound that are ours but not desired are kept."""
        if self._consumer is None:
            self._planner.keep_undesired = True
            self._consumer = asyncio.create_task(self._consume(), name="scheduler")
        if refresh:
            return await self._submit(TxnKind.REFRESH_START, Txn({}, "refresh-only start"))
        return None

    async def stop(self) -> None:
        """Stop processing; queued transactions fail with SchedulerStoppedError."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        while self._next:
            _fail(self._next.popleft(), SchedulerStoppedError("scheduler stopped"))
        while not self._queue.empty():
            _fail(self._queue.get_nowait(), SchedulerStoppedError("scheduler stopped"))

    # --- transactions --------------------------------------------------------------------

    def submit(self, txn: Txn) -> asyncio.Future[TxnResult]:
        """Queue a transaction without waiting; raises TxnQueueFullError when full."""
        kind = TxnKind.FULL_RESYNC if txn.full else TxnKind.NB_CHANGE
        if txn.revert and txn.full:
            raise TxnOptionsError("revert-on-failure cannot be combined with a full resync")
        return self._enqueue(kind, txn)

    async def commit(self, txn: Txn) -> TxnResult:
        """Queue a transaction and wait for its result."""
        return await self.submit(txn)

    async def resync_full(self, values: Mapping[Key, object], description: str = "") -> TxnResult:
        """Replace the desired state, refresh southbound, apply the minimal difference."""
        return await self.commit(Txn(dict(values), description or "full resync", full=True))

    async def resync_full_current(self, description: str = "") -> TxnResult:
        """A full resync of the desired state as it is when the scheduler reaches it (so
        transactions queued before it are kept): refresh southbound, apply the difference."""
        txn = Txn({}, description or "full resync", full=True)
        return await self._enqueue(TxnKind.FULL_RESYNC, txn, current=True)

    async def resync_downstream(self, description: str = "") -> TxnResult:
        """Refresh southbound and re-apply the kept desired state (failed values included)."""
        return await self._submit(TxnKind.DOWNSTREAM_RESYNC, Txn({}, description or "downstream"))

    async def dry_run(self, txn: Txn) -> TxnRecord:
        """Plan a transaction (or a full resync) without executing it."""
        kind = TxnKind.FULL_RESYNC if txn.full else TxnKind.NB_CHANGE
        return (await self._submit(kind, txn, dry_run=True)).record

    async def dry_run_full_current(self) -> TxnRecord:
        """What a full resync of the current desired state would do now."""
        txn = Txn({}, "full resync (dry run)", full=True)
        future = self._enqueue(TxnKind.FULL_RESYNC, txn, dry_run=True, current=True)
        return (await future).record

    async def dry_run_downstream(self) -> TxnRecord:
        """What a downstream resync would do now."""
        txn = Txn({}, "downstream (dry run)")
        return (await self._submit(TxnKind.DOWNSTREAM_RESYNC, txn, dry_run=True)).record

    async def _submit(self, kind: TxnKind, txn: Txn, *, dry_run: bool = False) -> TxnResult:
        return await self._enqueue(kind, txn, dry_run=dry_run)

    def _enqueue(
        self, kind: TxnKind, txn: Txn, *, dry_run: bool = False, current: bool = False
    ) -> asyncio.Future[TxnResult]:
        future: asyncio.Future[TxnResult] = asyncio.get_running_loop().create_future()
        self._put(_Request(kind, txn, future, dry_run, current=current))
        return future

    def _put(self, request: _Request) -> None:
        if self._consumer is None:
            raise SchedulerStoppedError("scheduler is not running")
        txn = request.txn
        try:
            self._queue.put_nowait(request)
        except asyncio.QueueFull:
            self.stats.queue_overflows += 1
            raise TxnQueueFullError(
                f"transaction queue full ({self._queue.maxsize}); {txn.description!r} refused"
            ) from None
        self.stats.queue_depth = self._queue.qsize()

    async def _consume(self) -> None:
        while True:
            request = self._next.popleft() if self._next else await self._queue.get()
            self.stats.queue_depth = self._queue.qsize() + len(self._next)
            future = request.future
            if future is not None and future.done():  # the caller gave up waiting
                continue
            batch = self._batch(request)
            try:
                if len(batch) > 1:
                    records = await self._process_batch(batch)
                else:
                    records = [await self._process(request)]
            except asyncio.CancelledError:
                for queued in batch:
                    _fail(queued, SchedulerStoppedError("scheduler stopped"))
                raise
            except Exception as error:  # a scheduler bug must not kill the queue
                log.exception("transaction processing failed", seq=self._seq)
                for queued in batch:
                    _fail(queued, error)
                continue
            for queued, record in zip(batch, records, strict=True):
                done = queued.future
                if done is not None and not done.done():
                    done.set_result(TxnResult(record.seq, record))

    def _batch(self, first: _Request) -> list[_Request]:
        """``first`` and the plain transactions queued right behind it that touch none of
        the same keys: planned and executed together, so their southbound calls overlap."""
        if not _batchable(first):
            return [first]
        batch = [first]
        keys = set(first.txn.values)
        while len(batch) < self.batch_limit:
            if not self._next:
                try:
                    self._next.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            candidate = self._next[0]
            if not _batchable(candidate) or not keys.isdisjoint(candidate.txn.values):
                break
            self._next.popleft()
            batch.append(candidate)
            keys.update(candidate.txn.values)
        return batch

    # --- processing ----------------------------------------------------------------------

    async def _process(self, request: _Request) -> TxnRecord:
        # A dry run shows the number the transaction would get but does not use it up, so
        # sequence numbers in the history have no gaps.
        seq = self._seq + 1
        if not request.dry_run:
            self._seq = seq
        kind, txn = request.kind, request.txn
        started_at = self._clock()
        t0 = time.perf_counter()
        journaled = request.dry_run or txn.revert
        graph = self.graph
        if journaled:
            graph.begin_journal()
        keep_undesired = self._planner.keep_undesired
        awaiting_first_full = self.awaiting_first_full
        self._desired.rejected.clear()
        affected: set[Key] = set()
        found: set[Key] = set()  # refreshed keys to settle even when nothing is planned
        if kind is TxnKind.NB_CHANGE:
            policy = txn.retry or self.retry
            for key, value in txn.values.items():
                self._desired.put(key, value, policy, affected)
        elif kind is TxnKind.RETRY:
            affected = await self._prepare_retry(request.retry_keys)
        elif kind is TxnKind.REFRESH_START:
            found = await self._refresher.refresh()
        else:
            affected = await self._prepare_resync(kind, txn, current=request.current)
        plan = self._planner.plan(affected)
        planned = tuple(_op_record(op) for op in plan.ops)
        if self._refresher.missing and not request.dry_run:
            self._settler.mark_missing(self._refresher.missing, seq)
            self._refresher.missing = []
        errors = [OpError(k, OpKind.CREATE, c, False) for k, c in self._desired.rejected]
        if request.dry_run:
            graph.rollback()
            self._planner.keep_undesired = keep_undesired
            self.awaiting_first_full = awaiting_first_full
            return self._record(seq, kind, txn, started_at, t0, planned, (), errors, dry_run=True)
        completed = await self._executor.run(plan, stop_on_failure=txn.revert)
        executed = [
            _op_record(op)
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

    async def _process_batch(self, batch: list[_Request]) -> list[TxnRecord]:
        """Several plain transactions as one plan and one execution. If an all-or-nothing
        one among them fails, the whole batch is undone and each transaction is processed
        again on its own (so only the failing one ends reverted)."""
        graph = self.graph
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
            policy = request.txn.retry or self.retry
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
        for index, request in enumerate(batch):
            if request.txn.revert and not errors[index]:
                errors[index].extend(self._not_applied(request.txn))
        if any(request.txn.revert and errors[i] for i, request in enumerate(batch)):
            undo = await revert_ops(graph, completed, time.perf_counter() - t0)
            self._count(TxnKind.NB_CHANGE, plan)
            self._seq += 1
            attempt = Txn({}, f"batch of {len(batch)} transaction(s), undone: one failed")
            executed = [_op_record(op) for op in plan.ops if op.ran] + undo.records
            self._record(
                self._seq,
                TxnKind.NB_CHANGE,
                attempt,
                started_at,
                t0,
                tuple(_op_record(op) for op in plan.ops),
                tuple(executed),
                [e for group in errors for e in group],
                reverted=True,
            )
            self._settler.settle([op.key for op in plan.ops], self._seq, allow_retry=False)
            return [await self._process(request) for request in batch]
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
                _op_record(op)
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
                    tuple(_op_record(op) for op in mine),
                    tuple(executed),
                    errors[index],
                )
            )
        return records

    async def _prepare_resync(self, kind: TxnKind, txn: Txn, *, current: bool) -> set[Key]:
        graph = self.graph
        if kind is TxnKind.FULL_RESYNC and current:
            txn = Txn(self._base_desired(), txn.description, full=True, retry=txn.retry)
        if kind is TxnKind.FULL_RESYNC:
            self._planner.keep_undesired = False
            self.awaiting_first_full = False
            policy = txn.retry or self.retry
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
        graph = self.graph
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
        graph = self.graph
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
            for key, node in self.graph.nodes.items()
            if node.base is None and node.desired is not None
        }

    def _schedule_retries(self, retries: Mapping[float, list[tuple[Key, int]]]) -> None:
        if not retries or self._consumer is None:
            return
        loop = asyncio.get_running_loop()
        for delay, keys in retries.items():
            self.stats.retries_scheduled += len(keys)
            self._arm_retry(loop, delay, tuple(keys))

    def _arm_retry(
        self, loop: asyncio.AbstractEventLoop, delay: float, keys: tuple[tuple[Key, int], ...]
    ) -> None:
        def fire() -> None:
            self._timers.discard(handle)
            if self._consumer is None:
                return
            txn = Txn({}, f"retry of {len(keys)} value(s)")
            try:
                self._put(_Request(TxnKind.RETRY, txn, None, retry_keys=keys))
            except TxnQueueFullError:
                # Counted by _put; try again after the same delay rather than lose it.
                self._arm_retry(loop, delay, keys)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

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

    # --- queries -------------------------------------------------------------------------

    def status(self, key: Key) -> ValueStatus:
        """The current status of one key (NONEXISTENT when unknown)."""
        node = self.graph.get(key)
        if node is None:
            return ValueStatus(key, ValueState.NONEXISTENT)
        return self._settler.status(node)

    def statuses(self, prefix: str = "") -> list[ValueStatus]:
        """Status of every known key under prefix, sorted by key."""
        return [
            self._settler.status(self.graph.nodes[k]) for k in self.graph.keys_with_prefix(prefix)
        ]

    def watch_status(self, prefix: str = "", maxsize: int = 1000) -> StatusSubscription:
        """Subscribe to status changes of keys under prefix."""
        return self._watchers.subscribe(prefix, maxsize)

    def desired(self, prefix: str = "") -> dict[Key, object]:
        """The desired state (base and derived values) under prefix."""
        nodes = self.graph.nodes
        return {
            k: nodes[k].desired
            for k in self.graph.keys_with_prefix(prefix)
            if nodes[k].desired is not None
        }

    def desired_value(self, key: Key) -> object | None:
        """The desired value of one key, or None."""
        node = self.graph.get(key)
        return node.desired if node is not None else None

    def applied(self, prefix: str = "") -> dict[Key, object]:
        """What the scheduler believes exists southbound under prefix."""
        nodes = self.graph.nodes
        return {k: nodes[k].applied for k in self.graph.keys_with_prefix(prefix) if nodes[k].exists}

    async def southbound(self, prefix: str = "") -> dict[Key, Retrieved]:
        """What the descriptors find southbound now under prefix (reads only), with the
        origin each descriptor reports (ours or not) and its metadata."""
        found: dict[Key, Retrieved] = {}
        for descriptor in self.registry.retrieve_order():
            if not descriptor.supports_retrieve:
                continue
            if not (
                descriptor.key_prefix.startswith(prefix) or prefix.startswith(descriptor.key_prefix)
            ):
                continue
            for item in await descriptor.retrieve({}):
                if item.key.startswith(prefix):
                    found[item.key] = item
        return found

    def metadata(self, key: Key) -> Any:
        """Metadata of an existing value (MetadataView for descriptors)."""
        node = self.graph.get(key)
        return node.metadata if node is not None and node.exists else None

    def keys_with_prefix(self, prefix: str) -> list[Key]:
        """Existing keys under prefix (MetadataView for descriptors)."""
        nodes = self.graph.nodes
        return [k for k in self.graph.keys_with_prefix(prefix) if nodes[k].exists]

    def timeline(self, key: Key) -> list[KeyRevision]:
        """Recorded revisions of one key."""
        return self.history.timeline(key)

    def txn_history(
        self, *, seq: int | None = None, since: float | None = None, until: float | None = None
    ) -> list[TxnRecord]:
        """Recorded transactions."""
        return self.history.txns(seq=seq, since=since, until=until)

    def dot(self, prefix: str = "") -> str:
        """The graph as Graphviz DOT."""
        return to_dot(self.graph, prefix)


def _batchable(request: _Request) -> bool:
    return request.kind is TxnKind.NB_CHANGE and not request.dry_run and not request.txn.full


def _fail(request: _Request, error: BaseException) -> None:
    future = request.future
    if future is not None and not future.done():
        future.set_exception(error)


def _op_record(op: PlannedOp) -> OpRecord:
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
