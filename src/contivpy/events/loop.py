"""The node agent's one serial event loop.

In: events pushed by producers (the etcd watcher, the CNI server, timers, the VPP connection)
and follow-ups that controllers return while an event is processed. Out: one scheduler
transaction per event, built by the controllers in a fixed order (reverse for removals);
the result handed back to a waiting producer; an event record in the history (and, given
an ``EventObserver``, the event's type, processing time and failure told to it); a healing
resync scheduled after a failure.

Ordering: events are processed one at a time in push order, except that follow-ups (pushed
from inside the loop) go before anything queued, and CNI ADDs of different pods queued back to
back are processed as a group whose transactions share one scheduler batch (each is still
handled, recorded and reverted on its own). Until the first DBResync is processed every other
event waits, so the first processed event (#0) is always a DBResync. Both queues are bounded;
a push that does not fit raises EventQueueFullError and is counted; a producer that can wait
(the etcd watcher) waits for room instead (``wait_for_room``), leaving the last places to
those that cannot. Processing itself (the
controllers, the transaction, the outcome) is in processing.py.

The dataplane: the agent reports a lost VPP connection (``dataplane_lost``) and its return
(``dataplane_back``, which queues a DownstreamResync). In between, and until a resync that
began after VPP's return has been processed, queued events are held (follow-ups excepted):
a VPP that restarted has lost its base configuration, and an event applied before the resync
rebuilds it would fail against it (a CNI ADD would meet NO_SUCH_FIB). While VPP is back only
resyncs pass; the held events then follow, in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from contivpy.errors import ContivpyError, RetriableError
from contivpy.events.history import EventHistory
from contivpy.events.processing import (
    EventObserver,
    EventProcessor,
    EventResult,
    LoopStats,
    Queued,
    inside_loop,
)
from contivpy.events.types import (
    AddPod,
    Controller,
    DBResync,
    DownstreamResync,
    Event,
    HealingResync,
    Method,
    TxnPolicy,
)
from contivpy.scheduler import Scheduler

log = structlog.get_logger(__name__)


class EventQueueFullError(RetriableError):
    """The event queue is full; the event was not accepted."""


class EventLoopStoppedError(RetriableError):
    """The loop is not running."""


def _groupable(queued: Queued) -> bool:
    return isinstance(queued.event, AddPod) and queued.follow_up_to is None


def _pod_of(queued: Queued) -> tuple[str, str]:
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
        controllers: Sequence[Controller[Any]],
        scheduler: Scheduler,
        *,
        settings: LoopSettings | None = None,
        history: EventHistory | None = None,
        clock: Callable[[], float] = time.time,
        observer: EventObserver | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.settings = settings or LoopSettings()
        self.history = history if history is not None else EventHistory(clock=clock)
        self.stats = LoopStats()
        self._clock = clock
        self._processor = EventProcessor(
            controllers,
            scheduler,
            self.history,
            self.stats,
            clock,
            self._after,
            self.push,
            observer,
        )
        self._queue: deque[Queued] = deque()
        self._follow_ups: deque[Queued] = deque()
        self._delayed: list[Queued] = []  # waiting for the first DBResync
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._room = asyncio.Event()  # set whenever the consumer takes an event off _queue
        self._task: asyncio.Task[None] | None = None
        self._synced = False  # the first DBResync has been processed (not merely begun)
        self._synced_event = asyncio.Event()
        self._healing: asyncio.TimerHandle | None = None
        self._healing_delay = self.settings.healing_delay
        # The dataplane: connections lost so far, how many of them had been lost when VPP
        # was last back, and the events held until a resync after its return is done.
        self._losses = 0
        self._back_after = 0
        self._stale = False
        self._held: deque[Queued] = deque()
        # What is being processed and since when (monotonic): liveness (/healthz, systemd's
        # watchdog) tells a stuck loop by its age.
        self._busy_with: tuple[str, float] | None = None

    @property
    def kube_state(self) -> dict[str, dict[str, object]]:
        """The reflected Kubernetes state as the events so far left it."""
        return self._processor.kube_state

    @property
    def controllers(self) -> list[Controller[Any]]:
        """The controllers, in call order."""
        return self._processor.controllers

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
        for queued in (*self._follow_ups, *self._queue, *self._delayed, *self._held):
            _finish(queued, error=EventLoopStoppedError("event loop stopped"))
        self._follow_ups.clear()
        self._queue.clear()
        self._delayed.clear()
        self._held.clear()
        self._room.set()  # a producer waiting for room finds the loop stopped

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
    def busy_with(self) -> tuple[str, float] | None:
        """The event being processed and since when (``time.monotonic()``); None when idle."""
        return self._busy_with

    @property
    def queue_depth(self) -> int:
        """Events waiting (queued, follow-ups, those held for the first resync and those held
        for the dataplane's resync)."""
        return len(self._queue) + len(self._follow_ups) + len(self._delayed) + len(self._held)

    # --- the dataplane -------------------------------------------------------------------

    def dataplane_lost(self) -> None:
        """VPP's connection is lost: hold events until VPP is back and resynced."""
        self._losses += 1
        self._stale = True

    def dataplane_back(self, reason: str) -> None:
        """VPP is connected again (perhaps restarted, its state lost): queue the downstream
        resync that rebuilds it; the events held since it was lost are processed after it."""
        self._back_after = self._losses
        self.push(DownstreamResync(reason=reason))

    @property
    def waiting_for_dataplane(self) -> bool:
        """True while events are held for VPP: it is away, or back and not yet resynced."""
        return self._stale

    def _held_back(self, queued: Queued) -> bool:
        """Whether ``queued`` must wait for the dataplane (see the module docstring)."""
        if not self._stale or not self.started:
            return False  # before the first resync the first-resync gate decides alone
        back = self._back_after == self._losses
        return not back or queued.event.method is Method.UPDATE

    # --- producers -----------------------------------------------------------------------

    def push(self, event: Event) -> None:
        """Queue an event without waiting for its result."""
        self._push(event, None)

    async def wait_for_room(self, headroom: int) -> None:
        """Return once more than ``headroom`` places of the queue are free. A producer that
        can wait (the etcd watcher) waits so rather than overflow the queue, and leaves the
        last places to those that cannot (CNI requests, timers)."""
        while self._task is not None and self.settings.queue_size - len(self._queue) <= headroom:
            self._room.clear()
            await self._room.wait()

    async def push_and_wait(self, event: Event) -> EventResult:
        """Queue an event and wait until it is processed (CNI requests do this)."""
        if inside_loop.get():
            # A controller waiting for an event that can only run after it: a deadlock.
            raise RuntimeError(f"blocking push of {event.name} from inside the event loop")
        future: asyncio.Future[EventResult] = asyncio.get_running_loop().create_future()
        self._push(event, future)
        return await future

    def _push(self, event: Event, future: asyncio.Future[EventResult] | None) -> None:
        if self._task is None:
            raise EventLoopStoppedError("event loop is not running")
        inside = inside_loop.get()
        target = self._follow_ups if inside else self._queue
        if len(target) >= self.settings.queue_size:
            self.stats.overflows += 1
            raise EventQueueFullError(
                f"event queue full ({self.settings.queue_size}); {event.name} refused"
            )
        target.append(Queued(event, future, self._processor.seq if inside else None))
        self._idle.clear()
        self.stats.queue_depth = self.queue_depth
        self._wake.set()

    # --- consumer ------------------------------------------------------------------------

    def _next(self) -> Queued | None:
        while True:
            if self._follow_ups:
                return self._follow_ups.popleft()
            if not self._queue:
                return None
            queued = self._queue.popleft()
            self._room.set()
            if not self.started and not isinstance(queued.event, DBResync):
                self._delayed.append(queued)  # waits for the first DBResync
            elif self._held_back(queued):
                self._held.append(queued)  # waits for VPP's return and its resync
            else:
                return queued

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
            # A resync that begins after VPP's last return and sees no new loss rebuilds it.
            rebuilds = queued.event.method is not Method.UPDATE and self._back_after == self._losses
            losses = self._losses
            group = self._group(queued)
            self.stats.queue_depth = self.queue_depth
            self._busy_with = (queued.event.name, time.monotonic())
            try:
                results = await self._processor.process_group(group)
            except asyncio.CancelledError:
                for member in group:
                    _finish(member, error=EventLoopStoppedError("event loop stopped"))
                raise
            except Exception as error:  # a bug in the loop itself must not stop it
                log.exception("event processing failed", event_name=queued.event.name)
                seq = self._processor.seq
                results = [EventResult(seq, f"internal error: {error!r}") for _ in group]
            finally:
                self._busy_with = None
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
            if rebuilds and self._stale and self._losses == losses:
                self._stale = False
                # What waited for VPP goes next, in arrival order, ahead of newer events.
                self._queue.extendleft(reversed(self._held))
                self._held.clear()

    def _group(self, first: Queued) -> list[Queued]:
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


def _finish(queued: Queued, *, error: Exception) -> None:
    future = queued.future
    if future is not None and not future.done():
        future.set_exception(error)
