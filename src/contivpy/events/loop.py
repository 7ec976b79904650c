"""The node agent's one serial event loop.

In: events pushed by producers (the etcd watcher, the CNI server, timers, the VPP connection)
and follow-ups pushed by controllers while an event is processed. Out: one scheduler
transaction per event, built by the controllers in a fixed order (reverse for removals);
the result handed back to a waiting producer; an event record in the history; a healing
resync scheduled after a failure.

Ordering: events are processed one at a time in push order, except that follow-ups (pushed
from inside the loop) go before anything queued. Until the first DBResync is processed every
other event waits, so the first processed event (#0) is always a DBResync. Both queues are
bounded; a push that does not fit raises EventQueueFullError and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from contivpy.controllers.base import Controller, EventTxn
from contivpy.errors import ContivpyError, RetriableError
from contivpy.events.history import EventHistory, EventRecord
from contivpy.events.pod_events import AddPod
from contivpy.events.types import (
    DBResync,
    Event,
    HealingResync,
    KubeStateChange,
    Method,
    RejectedObject,
    TxnPolicy,
    resync_method,
)
from contivpy.scheduler import Scheduler, Txn, TxnResult

log = structlog.get_logger(__name__)

_inside_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_loop", default=False)


class EventQueueFullError(RetriableError):
    """The event queue is full; the event was not accepted."""


class EventLoopStoppedError(RetriableError):
    """The loop is not running."""


@dataclass(frozen=True, slots=True)
class EventResult:
    """What a producer waiting on an event gets back."""

    seq: int
    error: str = ""
    txn: TxnResult | None = None

    @property
    def ok(self) -> bool:
        """True when every controller and the transaction succeeded."""
        return not self.error


@dataclass(slots=True)
class LoopStats:
    """Counters since start."""

    processed: int = 0
    failed: int = 0
    overflows: int = 0
    healings_scheduled: int = 0
    queue_depth: int = 0
    resyncs: int = 0
    last_resync_at: float = 0.0
    last_resync_kind: str = ""
    degraded: str = ""  # set when a healing resync itself failed


@dataclass(slots=True)
class _Queued:
    event: Event
    future: asyncio.Future[EventResult] | None
    follow_up_to: int | None = None


@dataclass(slots=True)
class _Work:
    """One event being processed: its transaction and what its controllers did."""

    queued: _Queued
    event: Event
    seq: int
    started_at: float
    t0: float
    method: Method = Method.UPDATE
    handlers: list[Controller] = field(default_factory=list)
    txn: EventTxn = field(default_factory=lambda: EventTxn(lambda key: None, resync=False))
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: list[Controller] = field(default_factory=list)

    @property
    def revert(self) -> bool:
        return self.event.policy is TxnPolicy.REVERT_ON_FAILURE


def _groupable(queued: _Queued) -> bool:
    return isinstance(queued.event, AddPod) and queued.follow_up_to is None


def _pod_of(queued: _Queued) -> tuple[str, str]:
    event = queued.event
    assert isinstance(event, AddPod)
    return event.request.pod.namespace, event.request.pod.name


@dataclass
class LoopSettings:
    """Tunables of the loop (Contiv's defaults)."""

    queue_size: int = 1000
    group_limit: int = 32  # CNI ADDs whose transactions may share one scheduler batch
    healing_delay: float = 5.0  # after a failed event
    max_healing_delay: float = 300.0  # back-off cap while healing keeps failing


class EventLoop:
    """See the module docstring."""

    def __init__(
        self,
        controllers: Sequence[Controller],
        scheduler: Scheduler,
        *,
        settings: LoopSettings | None = None,
        history: EventHistory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.controllers = list(controllers)
        self.scheduler = scheduler
        self.settings = settings or LoopSettings()
        self.history = history if history is not None else EventHistory(clock=clock)
        self.stats = LoopStats()
        self._clock = clock
        self._queue: deque[_Queued] = deque()
        self._follow_ups: deque[_Queued] = deque()
        self._delayed: list[_Queued] = []  # waiting for the first DBResync
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seq = -1
        self._resync_count = 0
        self._synced = False  # the first DBResync has been processed (not merely begun)
        self._synced_event = asyncio.Event()
        self._healing: asyncio.TimerHandle | None = None
        self._healing_delay = self.settings.healing_delay
        self.kube_state: dict[str, dict[str, object]] = {}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the consumer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._consume(), name="event-loop")

    async def stop(self) -> None:
        """Stop; queued events fail with EventLoopStoppedError."""
        if self._healing is not None:
            self._healing.cancel()
            self._healing = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for queued in (*self._follow_ups, *self._queue, *self._delayed):
            _finish(queued, error=EventLoopStoppedError("event loop stopped"))
        self._follow_ups.clear()
        self._queue.clear()
        self._delayed.clear()

    @property
    def started(self) -> bool:
        """True once the first DBResync has been processed."""
        return self._synced

    async def wait_started(self) -> None:
        """Return once the first DBResync has been processed."""
        await self._synced_event.wait()

    async def wait_idle(self) -> None:
        """Return once the loop has nothing it can process (the queues are drained)."""
        await self._idle.wait()

    @property
    def queue_depth(self) -> int:
        """Events waiting (queued, follow-ups and those held for the first resync)."""
        return len(self._queue) + len(self._follow_ups) + len(self._delayed)

    # --- producers -----------------------------------------------------------------------

    def push(self, event: Event) -> None:
        """Queue an event without waiting for its result."""
        self._push(event, None)

    async def push_and_wait(self, event: Event) -> EventResult:
        """Queue an event and wait until it is processed (CNI requests do this)."""
        if _inside_loop.get():
            # A controller waiting for an event that can only run after it: a deadlock.
            raise RuntimeError(f"blocking push of {event.name} from inside the event loop")
        future: asyncio.Future[EventResult] = asyncio.get_running_loop().create_future()
        self._push(event, future)
        return await future

    def _push(self, event: Event, future: asyncio.Future[EventResult] | None) -> None:
        if self._task is None:
            raise EventLoopStoppedError("event loop is not running")
        inside = _inside_loop.get()
        target = self._follow_ups if inside else self._queue
        if len(target) >= self.settings.queue_size:
            self.stats.overflows += 1
            raise EventQueueFullError(
                f"event queue full ({self.settings.queue_size}); {event.name} refused"
            )
        target.append(_Queued(event, future, self._seq if inside else None))
        self._idle.clear()
        self.stats.queue_depth = self.queue_depth
        self._wake.set()

    # --- consumer ------------------------------------------------------------------------

    def _next(self) -> _Queued | None:
        while True:
            if self._follow_ups:
                return self._follow_ups.popleft()
            if not self._queue:
                return None
            queued = self._queue.popleft()
            if self.started or isinstance(queued.event, DBResync):
                return queued
            self._delayed.append(queued)  # waits for the first DBResync

    async def _consume(self) -> None:
        while True:
            queued = self._next()
            if queued is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            self._idle.clear()
            first_resync = not self.started and isinstance(queued.event, DBResync)
            group = self._group(queued)
            self.stats.queue_depth = self.queue_depth
            try:
                results = await self._process_group(group)
            except asyncio.CancelledError:
                for member in group:
                    _finish(member, error=EventLoopStoppedError("event loop stopped"))
                raise
            except Exception as error:  # a bug in the loop itself must not stop it
                log.exception("event processing failed", event_name=queued.event.name)
                results = [EventResult(self._seq, f"internal error: {error!r}") for _ in group]
            for member, result in zip(group, results, strict=True):
                if member.future is not None and not member.future.done():
                    member.future.set_result(result)
            if first_resync:
                self._synced = True
                self._synced_event.set()
                # Replay what arrived before the first resync, in arrival order, ahead of
                # anything queued since (new arrivals no longer wait: started is True).
                self._queue.extendleft(reversed(self._delayed))
                self._delayed.clear()

    def _group(self, first: _Queued) -> list[_Queued]:
        """``first`` and the events queued right behind it that can share one scheduler
        batch: CNI ADDs of other pods. Each is still handled, recorded and reverted on its
        own; only their transactions are executed together, so their VPP calls overlap."""
        if not _groupable(first) or not self.started:
            return [first]
        group = [first]
        pods = {_pod_of(first)}
        while self._queue and len(group) < self.settings.group_limit:
            candidate = self._queue[0]
            if not _groupable(candidate) or _pod_of(candidate) in pods:
                break
            group.append(self._queue.popleft())
            pods.add(_pod_of(candidate))
        return group

    async def _process_group(self, group: list[_Queued]) -> list[EventResult]:
        works = [await self._prepare(member) for member in group]
        self._persist()
        if len(works) == 1:
            work = works[0]
            result = await self._finish_work(work, *await self._commit_work(work))
            self._persist()
            return [result]
        # Submitted together (no await in between): the scheduler batches them.
        futures = [self._submit(work) for work in works]
        outcomes = await asyncio.gather(*(self._await_commit(f) for f in futures))
        results = [
            await self._finish_work(work, result, error)
            for work, (result, error) in zip(works, outcomes, strict=True)
        ]
        self._persist()  # what reverts changed
        return results

    def _persist(self) -> None:
        for controller in self.controllers:
            try:
                controller.persist()
            except Exception:
                # The agent keeps running from memory; the next flush tries again.
                log.exception("controller state not saved", controller=controller.name)

    async def _prepare(self, queued: _Queued) -> _Work:
        """Fold the event into the loop's caches and run its controllers into a txn."""
        event = queued.event
        self._seq += 1
        work = _Work(queued, event, self._seq, self._clock(), time.perf_counter())
        work.method = resync_method(event)
        if isinstance(event, DBResync):
            self.kube_state = {k: dict(v) for k, v in event.state.items()}
        elif isinstance(event, KubeStateChange):
            objects = self.kube_state.setdefault(event.resource, {})
            if event.new is None:
                objects.pop(event.key, None)
            else:
                objects[event.key] = event.new
        if work.method is not Method.UPDATE:
            self._resync_count += 1
        work.handlers = self._handlers(event, work.method)
        full = work.method is Method.FULL_RESYNC
        work.txn = EventTxn(self.scheduler.desired_value, resync=full)
        token = _inside_loop.set(True)
        try:
            for controller in work.handlers:
                try:
                    if full:
                        await controller.resync(
                            event, self.kube_state, work.txn, self._resync_count
                        )
                    else:
                        change = await controller.update(event, work.txn)
                        if change:
                            work.changes.append(f"{controller.name}: {change}")
                    work.done.append(controller)
                except Exception as error:
                    log.exception(
                        "controller failed", controller=controller.name, event_name=event.name
                    )
                    work.errors.append(f"{controller.name}: {type(error).__name__}: {error}")
                    if work.revert:
                        break
        finally:
            _inside_loop.reset(token)
        if isinstance(event, RejectedObject):
            work.errors.append(event.error)
        return work

    async def _commit_work(self, work: _Work) -> tuple[TxnResult | None, str]:
        if work.errors and work.revert:
            return None, ""  # a controller failed: nothing to commit, everything to revert
        return await self._commit(work.event, work.method, work.txn, revert=work.revert)

    def _submit(self, work: _Work) -> asyncio.Future[TxnResult] | None:
        if (work.errors and work.revert) or not work.txn.values:
            return None
        description = f"{work.event.name}: {work.event.describe()}"
        try:
            return self.scheduler.submit(Txn(work.txn.values, description, revert=work.revert))
        except Exception as error:  # a refused transaction (queue full, stopped)
            work.errors.append(f"transaction not accepted: {error}")
            return None

    async def _await_commit(
        self, future: asyncio.Future[TxnResult] | None
    ) -> tuple[TxnResult | None, str]:
        if future is None:
            return None, ""
        result = await future
        if result.ok:
            return result, ""
        failed = "; ".join(str(e) for e in result.record.errors)
        return result, f"transaction {result.seq} failed: {failed}"

    async def _finish_work(
        self, work: _Work, txn_result: TxnResult | None, txn_error: str
    ) -> EventResult:
        """Revert the controllers of a failed all-or-nothing event, record the event,
        schedule healing; the result for a waiting producer."""
        if txn_error:
            work.errors.append(txn_error)
        if work.errors and work.revert:
            await self._revert(work.event, work.done)
        failure = "; ".join(work.errors)
        event = work.event
        self._record(
            work.seq,
            work.queued,
            event,
            work.handlers,
            work.changes,
            txn_result,
            work.started_at,
            work.t0,
            failure,
        )
        if work.method is not Method.UPDATE:
            self.stats.last_resync_at = work.started_at
            self.stats.last_resync_kind = work.method.value
            self.stats.resyncs += 1
        self._after(event, failure)
        return EventResult(work.seq, failure, txn_result)

    def _handlers(self, event: Event, method: Method) -> list[Controller]:
        if method is Method.DOWNSTREAM_RESYNC or isinstance(event, RejectedObject):
            return []
        ordered = reversed(self.controllers) if event.reverse else iter(self.controllers)
        return [c for c in ordered if c.handles(event)]

    async def _commit(
        self, event: Event, method: Method, txn: EventTxn, *, revert: bool
    ) -> tuple[TxnResult | None, str]:
        description = f"{event.name}: {event.describe()}"
        try:
            if method is Method.DOWNSTREAM_RESYNC:
                result = await self.scheduler.resync_downstream(description)
            elif method is Method.FULL_RESYNC:
                # Always committed: an empty resync must remove stale configuration.
                result = await self.scheduler.commit(Txn(txn.values, description, full=True))
            elif txn.values:
                result = await self.scheduler.commit(Txn(txn.values, description, revert=revert))
            else:
                return None, ""
        except Exception as error:  # a refused transaction (queue full, stopped)
            return None, f"transaction not accepted: {error}"
        if result.ok:
            return result, ""
        failed = "; ".join(str(e) for e in result.record.errors)
        return result, f"transaction {result.seq} failed: {failed}"

    async def _revert(self, event: Event, done: Sequence[Controller]) -> None:
        for controller in reversed(done):
            try:
                await controller.revert(event)
            except Exception:
                log.exception("controller revert failed", controller=controller.name)

    def _record(
        self,
        seq: int,
        queued: _Queued,
        event: Event,
        handlers: Sequence[Controller],
        changes: Sequence[str],
        txn_result: TxnResult | None,
        started_at: float,
        t0: float,
        error: str,
    ) -> None:
        description = event.describe()
        if queued.follow_up_to is not None:
            description += f" (follow-up to #{queued.follow_up_to})"
        self.history.add(
            EventRecord(
                seq=seq,
                name=event.name,
                description=description,
                handlers=tuple(c.name for c in handlers),
                changes=tuple(changes),
                txn_seq=txn_result.seq if txn_result is not None else None,
                started_at=started_at,
                duration=time.perf_counter() - t0,
                error=error,
                blocking=queued.future is not None,
            )
        )
        self.stats.processed += 1
        if error:
            self.stats.failed += 1
            log.warning("event failed", seq=seq, event_name=event.name, error=error)
        else:
            log.debug("event processed", seq=seq, event_name=event.name)

    def _after(self, event: Event, error: str) -> None:
        if not error:
            if isinstance(event, HealingResync):
                self._healing_delay = self.settings.healing_delay
                self.stats.degraded = ""
            return
        if event.policy is not TxnPolicy.BEST_EFFORT:
            return  # reverted (the caller retries) or errors deliberately ignored
        if isinstance(event, HealingResync) and event.after_error:
            # Healing did not heal. Contiv restarts the agent here; we keep serving (other
            # state stays intact), report it, and keep trying with a growing delay.
            self.stats.degraded = f"healing resync failed: {error}"
            self._healing_delay = min(self._healing_delay * 2, self.settings.max_healing_delay)
        self._schedule_healing(error)

    def _schedule_healing(self, error: str) -> None:
        if self._healing is not None or self._task is None:
            return  # only one healing pending at a time
        self.stats.healings_scheduled += 1

        def fire() -> None:
            self._healing = None
            try:
                self.push(HealingResync(after_error=True, error=error))
            except ContivpyError:
                log.warning("healing resync could not be queued", error=error)

        self._healing = asyncio.get_running_loop().call_later(self._healing_delay, fire)


def _finish(queued: _Queued, *, error: Exception) -> None:
    future = queued.future
    if future is not None and not future.done():
        future.set_exception(error)
