"""The scheduler: a serial queue of transactions over the dependency graph.

In: transactions (puts/deletes, full or downstream resyncs, retries, dry runs) from callers
and from its own retry timers. Out: southbound operations through the descriptors, in
dependency order; per-key status (queryable and watchable); history; stats.

This module is the facade and the queue: one consumer task takes requests in order, groups
plain transactions queued together on disjoint keys into one batch (their southbound calls
overlap), and hands the batch (often of one) to the TxnProcessor (processing.py). Retries
come back as transactions on the same queue, from timers; nothing calls back up the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from contivpy.scheduler.api import (
    Descriptor,
    Key,
    KeyRevision,
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
from contivpy.scheduler.planner import Planner
from contivpy.scheduler.processing import TxnProcessor
from contivpy.scheduler.refresh import Refresher
from contivpy.scheduler.registry import Registry
from contivpy.scheduler.requests import Request, SchedulerStats, batchable, fail
from contivpy.scheduler.status_watch import StatusSubscription, StatusWatchers

log = structlog.get_logger(__name__)


class RetryTimerHandle(Protocol):
    """What arming a retry timer gives back: the means to cancel it (on stop)."""

    def cancel(self) -> None: ...


# Arms a retry: (delay in seconds, callback) -> handle. The event loop's call_later by
# default; a test passes its own to see the delays chosen and fire retries without waiting.
RetryTimer = Callable[[float, Callable[[], None]], RetryTimerHandle]


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
        retry_timer: RetryTimer | None = None,
    ) -> None:
        self.registry = Registry()
        self.graph = Graph()
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._desired = DesiredState(self.graph, self.registry)
        self._executor = Executor(self.graph, concurrency, self.retry)
        self.history = History(history, clock)
        self._watchers = StatusWatchers()
        self._settler = Settler(self.graph, self.history, self._watchers, self.retry, clock)
        self._queue: asyncio.Queue[Request] = asyncio.Queue(queue_size)
        self._next: deque[Request] = deque()  # taken off the queue but not yet batched
        self.batch_limit = batch_limit
        self._consumer: asyncio.Task[None] | None = None
        self._retry_timer = retry_timer
        self._timers: set[RetryTimerHandle] = set()
        self.stats = SchedulerStats()
        self._processor = TxnProcessor(
            graph=self.graph,
            desired=self._desired,
            planner=Planner(self.graph),
            executor=self._executor,
            refresher=Refresher(self.graph, self.registry),
            settler=self._settler,
            history=self.history,
            watchers=self._watchers,
            stats=self.stats,
            retry=self.retry,
            clock=clock,
            schedule_retries=self._schedule_retries,
        )

    # --- set-up --------------------------------------------------------------------------

    @property
    def awaiting_first_full(self) -> bool:
        """True until the first full resync: values found southbound that are ours but not
        desired are kept until then."""
        return self._processor.awaiting_first_full

    @property
    def last_resync(self) -> TxnRecord | None:
        """The newest executed resync's record."""
        return self._processor.last_resync

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
            fail(self._next.popleft(), SchedulerStoppedError("scheduler stopped"))
        while not self._queue.empty():
            fail(self._queue.get_nowait(), SchedulerStoppedError("scheduler stopped"))

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
        self._put(Request(kind, txn, future, dry_run, current=current))
        return future

    def _put(self, request: Request) -> None:
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
                records = await self._processor.process_batch(batch)
            except asyncio.CancelledError:
                for queued in batch:
                    fail(queued, SchedulerStoppedError("scheduler stopped"))
                raise
            except Exception as error:  # a scheduler bug must not kill the queue
                log.exception("transaction processing failed", kind=request.kind.value)
                for queued in batch:
                    fail(queued, error)
                continue
            for queued, record in zip(batch, records, strict=True):
                done = queued.future
                if done is not None and not done.done():
                    done.set_result(TxnResult(record.seq, record))

    def _batch(self, first: Request) -> list[Request]:
        """``first`` and the plain transactions queued right behind it that touch none of
        the same keys: planned and executed together, so their southbound calls overlap."""
        if not batchable(first):
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
            if not batchable(candidate) or not keys.isdisjoint(candidate.txn.values):
                break
            self._next.popleft()
            batch.append(candidate)
            keys.update(candidate.txn.values)
        return batch

    # --- processing ----------------------------------------------------------------------

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
                self._put(Request(TxnKind.RETRY, txn, None, retry_keys=keys))
            except TxnQueueFullError:
                # Counted by _put; try again after the same delay rather than lose it.
                self._arm_retry(loop, delay, keys)

        arm = self._retry_timer or loop.call_later
        handle = arm(delay, fire)
        self._timers.add(handle)

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
