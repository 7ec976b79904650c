"""Processing one event: the controllers, the transaction, the outcome.

In: a queued event (and, for a group of CNI ADDs, several). Out: the loop's Kubernetes cache
updated, the controllers run in their fixed order (reverse for removals) and their results
merged into one EventTxn (their follow-up events pushed as they come), the transaction
committed to the scheduler (or submitted with others, so they share a batch), the controllers
reverted with their undo tokens when an all-or-nothing event failed, their state persisted,
an EventRecord in the history, and for a waiting producer an EventResult (with a CNI event's
pod result, or the CniError a controller raised), and an optional ``EventObserver`` told of
each event's type, processing time and failure. Healing after failures is the loop's (it
owns the timers).

A full resync runs every controller (``handles`` is asked for updates only) and is applied
only when every one of them built its part and none refuses the result (resync_guard.py); the
line a controller's ``ResyncResult`` says is in the resync's record, as an update's is.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from contivpy.cni.types import CniError, CniResult
from contivpy.events.history import EventHistory, EventRecord
from contivpy.events.resync_guard import resync_refusal
from contivpy.events.types import (
    Config,
    Controller,
    DBResync,
    Event,
    EventTxn,
    KubeStateChange,
    Method,
    RejectedObject,
    ResyncResult,
    TxnPolicy,
    UpdateResult,
    method_of,
)
from contivpy.scheduler import Scheduler, Txn, TxnResult

log = structlog.get_logger(__name__)

#: set while controllers run: a push then is a follow-up (goes before queued events)
inside_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_loop", default=False)


@dataclass(frozen=True, slots=True)
class EventResult:
    """What a producer waiting on an event gets back: for a CNI ADD, the pod's CNI result
    when it succeeded, and the CniError a controller raised when one did."""

    seq: int
    error: str = ""
    txn: TxnResult | None = None
    pod: CniResult | None = None
    cni_error: CniError | None = None

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


class EventObserver(Protocol):
    """Told of each processed event (the agent's metrics listen). Must not raise, nor block."""

    def event_processed(self, name: str, seconds: float, failed: bool) -> None:
        """An event of type ``name`` took ``seconds`` from the start of its processing to
        its record; ``failed``: a controller or its transaction failed."""
        ...


@dataclass(slots=True)
class Queued:
    event: Event
    future: asyncio.Future[EventResult] | None
    follow_up_to: int | None = None


@dataclass(slots=True)
class Work:
    """One event being processed: its transaction and what its controllers did."""

    queued: Queued
    event: Event
    seq: int
    started_at: float
    t0: float
    method: Method = Method.UPDATE
    handlers: list[Controller[Any]] = field(default_factory=list)
    txn: EventTxn = field(default_factory=lambda: EventTxn(lambda key: None, resync=False))
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # the controllers that ran without failing, each with its undo token
    done: list[tuple[Controller[Any], object]] = field(default_factory=list)
    pod: CniResult | None = None
    cni_error: CniError | None = None

    @property
    def revert(self) -> bool:
        return self.event.policy is TxnPolicy.REVERT_ON_FAILURE


class EventProcessor:
    """Runs events through the controllers and the scheduler (see the module docstring)."""

    def __init__(
        self,
        controllers: Sequence[Controller[Any]],
        scheduler: Scheduler,
        history: EventHistory,
        stats: LoopStats,
        clock: Callable[[], float],
        after: Callable[[Event, str], None],
        follow_up: Callable[[Event], None],
        observer: EventObserver | None = None,
    ) -> None:
        self.controllers = list(controllers)
        self.observer = observer
        self.scheduler = scheduler
        self.history = history
        self.stats = stats
        self._clock = clock
        self._after = after  # the loop's healing decision, told of every event's outcome
        self._follow_up = follow_up  # queues a controller's follow-up ahead of queued events
        self._seq = -1
        self._resync_count = 0
        self.kube_state: dict[str, dict[str, object]] = {}

    @property
    def seq(self) -> int:
        """The last event's sequence number."""
        return self._seq

    async def process_group(self, group: list[Queued]) -> list[EventResult]:
        """Process events; a group of several shares one scheduler batch."""
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

    async def _prepare(self, queued: Queued) -> Work:
        """Fold the event into the loop's caches and run its controllers into a txn."""
        event = queued.event
        self._seq += 1
        work = Work(queued, event, self._seq, self._clock(), time.perf_counter())
        work.method = method_of(event)
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
        token = inside_loop.set(True)
        try:
            for controller in work.handlers:
                try:
                    if full:
                        built = await controller.resync(event, self.kube_state, self._resync_count)
                        self._take_resync(work, controller, built)
                    else:
                        self._take(work, controller, await controller.update(event))
                except Exception as error:
                    log.exception(
                        "controller failed", controller=controller.name, event_name=event.name
                    )
                    work.errors.append(f"{controller.name}: {type(error).__name__}: {error}")
                    if isinstance(error, CniError) and work.cni_error is None:
                        work.cni_error = error
                    if work.revert:
                        break
        finally:
            inside_loop.reset(token)
        if isinstance(event, RejectedObject):
            work.errors.append(event.error)
        return work

    def _take_resync(
        self, work: Work, controller: Controller[Any], built: Config | ResyncResult
    ) -> None:
        """Fold one controller's part of a full resync into the event's work."""
        if isinstance(built, ResyncResult):
            work.txn.merge(built.config)
            if built.change:
                work.changes.append(f"{controller.name}: {built.change}")
        else:
            work.txn.merge(built)
        work.done.append((controller, None))

    def _take(self, work: Work, controller: Controller[Any], result: UpdateResult[Any]) -> None:
        """Fold one controller's result into the event's work."""
        work.txn.merge(result.changes)
        if result.change:
            work.changes.append(f"{controller.name}: {result.change}")
        if result.pod is not None:
            work.pod = result.pod
        for follow_up in result.follow_ups:
            self._follow_up(follow_up)
        work.done.append((controller, result.undo))

    async def _commit_work(self, work: Work) -> tuple[TxnResult | None, str]:
        if work.errors and work.revert:
            return None, ""  # a controller failed: nothing to commit, everything to revert
        if work.method is Method.FULL_RESYNC:
            refusal = resync_refusal(work.handlers, work.txn, work.errors)
            if refusal:
                log.error("full resync refused", event_name=work.event.name, reason=refusal)
                work.errors.clear()  # the refusal names them
                return None, refusal
        return await self._commit(work.event, work.method, work.txn, revert=work.revert)

    def _submit(self, work: Work) -> asyncio.Future[TxnResult] | None:
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
        self, work: Work, txn_result: TxnResult | None, txn_error: str
    ) -> EventResult:
        """Revert the controllers of a failed all-or-nothing event, record the event,
        schedule healing; the result for a waiting producer."""
        if txn_error:
            work.errors.append(txn_error)
        if work.errors and work.revert:
            await self._revert(work.event, work.done)
            work.pod = None
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
        return EventResult(work.seq, failure, txn_result, work.pod, work.cni_error)

    def _handlers(self, event: Event, method: Method) -> list[Controller[Any]]:
        if method is Method.DOWNSTREAM_RESYNC or isinstance(event, RejectedObject):
            return []
        if method is Method.FULL_RESYNC:
            return list(self.controllers)  # every one: what one leaves out is deleted
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

    async def _revert(self, event: Event, done: Sequence[tuple[Controller[Any], object]]) -> None:
        for controller, undo in reversed(done):
            try:
                await controller.revert(event, undo)
            except Exception:
                log.exception("controller revert failed", controller=controller.name)

    def _record(
        self,
        seq: int,
        queued: Queued,
        event: Event,
        handlers: Sequence[Controller[Any]],
        changes: Sequence[str],
        txn_result: TxnResult | None,
        started_at: float,
        t0: float,
        error: str,
    ) -> None:
        description = event.describe()
        if queued.follow_up_to is not None:
            description += f" (follow-up to #{queued.follow_up_to})"
        duration = time.perf_counter() - t0
        self.history.add(
            EventRecord(
                seq=seq,
                name=event.name,
                description=description,
                handlers=tuple(c.name for c in handlers),
                changes=tuple(changes),
                txn_seq=txn_result.seq if txn_result is not None else None,
                started_at=started_at,
                duration=duration,
                error=error,
                blocking=queued.future is not None,
            )
        )
        if self.observer is not None:
            self.observer.event_processed(event.name, duration, bool(error))
        self.stats.processed += 1
        if error:
            self.stats.failed += 1
            log.warning("event failed", seq=seq, event_name=event.name, error=error)
        else:
            log.debug("event processed", seq=seq, event_name=event.name)
