"""The reflector's side of the ``eventlog`` benchmark: initial sync, then change latency.

In: the stand-in in its process (``KubeProcess``, populated), ``ReflectorSettings`` pointing
at it and at an empty etcd, a bench ``Store`` connection of its own to that etcd, the pods,
and the steady phase's ``LatencyPlan``. Out: ``ReflectorRun`` — seconds from the reflector's
start until etcd holds every pod key, and per-change latencies of the steady phase with the
pace actually driven — with failed checks recorded in ``Problems``. The reflector runs in
this process (with the bench watch on its loop) and is stopped gracefully on return.

- **Initial sync.** A bench watch on ``<prefix>k8s/pod/`` is opened before the clock starts
  (etcd is empty). The clock runs from just before the reflector connects (etcd and the
  Kubernetes client) until that watch has seen a put of every pod key. Then etcd's pod prefix
  is listed: it must hold exactly the stand-in's pods, and a sample's bytes must equal the
  codec's.
- **Latency.** With the reflector still running, the stand-in's process makes ``rate`` label
  patches per second to distinct pods through its Python API, paced on an absolute schedule
  (a late patch does not push back the next one's due time). Each patch carries its sequence
  number in a label; a change's clock starts when its patch returned there (the change is in
  the stand-in's store and queued on its watches) and stops when the bench watch here is
  handed the etcd put carrying that number — both ``time.monotonic()``, CLOCK_MONOTONIC, one
  clock for every process of the machine. The first ``warm_up`` changes are driven but not
  counted; afterwards a sample of the changed pods must hold the codec's bytes in etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from contivpy.bench.eventlog_cluster import PodPlacement
from contivpy.bench.eventlog_kube import SEQUENCE_LABEL, KubeProcess
from contivpy.bench.verify import Problems
from contivpy.models.k8s_codec import key_for
from contivpy.reflector import Reflector, ReflectorSettings
from contivpy.reflector.watching import KubeApi
from contivpy.store import EventType, Store
from contivpy.store.etcd import EtcdStore

_SAMPLE = 100  # pods whose stored bytes are compared with the codec's after each phase
_INITIAL_TIMEOUT = 120.0
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class LatencyPlan:
    """The steady phase: how fast, how long, how much of it is warm-up."""

    rate: float  # changes per second
    seconds: float  # how long the counted changes last (rate * seconds of them)
    warm_up: int = 50
    settle_timeout: float = 10.0  # how long the last changes may take to reach etcd

    @property
    def counted(self) -> int:
        return round(self.rate * self.seconds)


@dataclass(frozen=True, slots=True)
class ReflectorRun:
    """What the reflector phases measured."""

    initial_seconds: float
    latencies_ms: list[float]  # one per counted change that reached etcd
    driven: int  # counted changes made
    driven_seconds: float  # from the first counted change's patch to the last one's
    late: int  # counted changes patched more than one period after their due time

    @property
    def rate(self) -> float:
        """Counted changes per second actually driven."""
        return (self.driven - 1) / self.driven_seconds if self.driven_seconds > 0 else 0.0

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the latencies (ms); NaN when there are none."""
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class _PodWatch:
    """What the bench watch saw: pod keys put, and when each numbered change arrived."""

    keys: set[str] = field(default_factory=set)
    tracking: bool = False  # read the sequence label of every put (the latency phase)
    arrived: dict[int, float] = field(default_factory=dict)  # sequence -> when etcd delivered
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_put(self, key: str, value: bytes) -> None:
        now = time.monotonic()
        self.keys.add(key)
        if self.tracking:
            text = (json.loads(value).get("labels") or {}).get(SEQUENCE_LABEL)
            if text is not None:
                self.arrived.setdefault(int(text), now)
        self.changed.set()

    async def until(self, condition: Callable[[], bool], within: float) -> bool:
        """Wait until ``condition()`` holds; False when ``within`` seconds passed first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while not condition():
                    self.changed.clear()
                    await self.changed.wait()
        return condition()


async def _follow(store: Store, prefix: str, seen: _PodWatch, opened: asyncio.Event) -> None:
    try:
        revision = (await store.list(prefix)).revision
        async with store.watch(prefix, start_revision=revision + 1) as events:
            opened.set()
            async for event in events:
                if event.type is EventType.PUT:
                    seen.on_put(event.key[len(prefix) :], event.value)
    finally:
        opened.set()  # also when opening failed: the waiter then finds the task's error


@contextlib.asynccontextmanager
async def _watching(store: Store, prefix: str) -> AsyncIterator[_PodWatch]:
    seen = _PodWatch()
    opened = asyncio.Event()
    task = asyncio.create_task(_follow(store, prefix, seen, opened), name="bench-pod-watch")
    try:
        await opened.wait()
        if task.done():
            task.result()  # the watch could not be opened: raise why
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _reflector(settings: ReflectorSettings) -> AsyncIterator[Reflector]:
    """A reflector running in a task until the block ends, then stopped gracefully."""
    async with EtcdStore(settings.store) as store, KubeApi.connect(settings.kubeconfig) as api:
        reflector = Reflector(settings, store, api)
        stop = asyncio.Event()
        task = asyncio.create_task(reflector.run(stop), name="bench-reflector")
        try:
            yield reflector
        finally:
            stop.set()
            # Past the timeout wait_for cancels it: a crash, harmless at the end of a bench.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, _STOP_TIMEOUT)


def _pod_key(pod: PodPlacement) -> str:
    return key_for("pod", pod.name, pod.namespace)


def _sample(pods: Sequence[PodPlacement], count: int = _SAMPLE) -> list[PodPlacement]:
    step = max(1, len(pods) // count)
    return list(pods[::step][:count])


async def _check_stored(
    label: str,
    store: Store,
    prefix: str,
    kube: KubeProcess,
    pods: Sequence[PodPlacement],
    problems: Problems,
) -> None:
    """A sample of ``pods``: their bytes in etcd must be what the codec makes of the
    stand-in's objects now."""
    expected = await kube.expected(_sample(pods))
    wrong = []
    for key, value in sorted(expected.items()):
        stored = (await store.get(prefix + key)).item
        if stored is None or stored.value != value:
            wrong.append(key)
    if wrong:
        problems.add(
            f"{label}: {len(wrong)} of {len(expected)} sampled pods differ in etcd from the "
            f"codec's bytes, e.g. {wrong[0]}"
        )


async def measure(
    kube: KubeProcess,
    settings: ReflectorSettings,
    bench_store: Store,
    pods: Sequence[PodPlacement],
    plan: LatencyPlan,
    problems: Problems,
) -> ReflectorRun:
    """Initial sync, then the steady phase (see the module doc)."""
    prefix = settings.prefix + "k8s/pod/"
    expected = {_pod_key(pod)[len("k8s/pod/") :] for pod in pods}
    total = plan.warm_up + plan.counted
    if total > len(pods):
        raise ValueError(f"{total} changes need as many pods; the cluster has {len(pods)}")
    async with _watching(bench_store, prefix) as seen:
        started = time.monotonic()
        async with _reflector(settings):
            # A count, not a set comparison, on every wake-up: the check runs on the measured
            # loop. Which keys they are is checked once the clock has stopped.
            synced = await seen.until(lambda: len(seen.keys) >= len(expected), _INITIAL_TIMEOUT)
            initial = time.monotonic() - started
            if not synced:
                problems.add(
                    f"initial sync: {len(expected) - len(seen.keys)} of {len(expected)} pods "
                    f"not in etcd after {_INITIAL_TIMEOUT:g} s"
                )
            listing = await bench_store.list(prefix)
            stored = {item.key[len(prefix) :] for item in listing.items}
            if stored != expected:
                problems.add(
                    f"initial sync: etcd holds {len(stored)} pod keys, {len(stored - expected)} "
                    f"unexpected and {len(expected - stored)} missing"
                )
            await _check_stored("initial sync", bench_store, settings.prefix, kube, pods, problems)
            seen.tracking = True
            drive = await kube.drive(plan.rate, total)
            counted = range(plan.warm_up, total)
            await seen.until(lambda: all(s in seen.arrived for s in counted), plan.settle_timeout)
            await _check_stored(
                "steady phase", bench_store, settings.prefix, kube, pods[:total], problems
            )
    latencies = [
        (seen.arrived[seq] - drive.sent[seq]) * 1000.0 for seq in counted if seq in seen.arrived
    ]
    if len(latencies) < len(counted):
        problems.add(
            f"steady phase: {len(counted) - len(latencies)} of {len(counted)} changes "
            f"did not reach etcd within {plan.settle_timeout:g} s"
        )
    return ReflectorRun(
        initial_seconds=initial,
        latencies_ms=latencies,
        driven=len(counted),
        driven_seconds=drive.sent[total - 1] - drive.sent[plan.warm_up],
        late=sum(1 for seq in drive.late if seq >= plan.warm_up),
    )
