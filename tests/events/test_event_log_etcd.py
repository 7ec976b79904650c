"""etcd as the event log, end to end: the stand-in -> the real reflector -> etcd -> DbWatcher ->
EventLoop -> a test controller that mirrors namespaces into scheduler values.

What must hold: every change is folded exactly once and in revision order, even when etcd
dies mid-stream; a compaction that overtakes a lagging agent forces a relist that ends right;
an agent restarted at any point ends with the same desired state; an undecodable stored
object is recorded as a RejectedObject and the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from contivpy.controllers.base import ControllerBase
from contivpy.events.dbwatch import DbWatcher
from contivpy.events.loop import EventLoop, LoopSettings
from contivpy.events.types import (
    Config,
    DBResync,
    Event,
    KubeState,
    KubeStateChange,
    UpdateResult,
)
from contivpy.models.k8s_codec import Namespace, decode, encode, key_of, resource_of
from contivpy.reflector import ReflectorSettings
from contivpy.scheduler import RetryPolicy, Scheduler
from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn
from contivpy.store import Store, WatchEvent
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from doubles.southbound import BaseDescriptor, Item, Southbound, base_key
from reflector.harness import KSR, eventually, running


def namespace_item(model: Namespace) -> Item:
    return Item("ns", props=tuple(f"{k}={v}" for k, v in sorted(model.labels.items())))


class NamespaceMirror(ControllerBase):
    """Desired state = one value per reflected namespace; records what it was given."""

    name = "ns-mirror"

    def __init__(self) -> None:
        self.changes: list[tuple[int, str]] = []  # (revision, key) of every KubeStateChange
        self.resyncs: list[int] = []

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        assert isinstance(event, DBResync)
        self.resyncs.append(event.revision)
        config: Config = {}
        for model in state.get("namespace", {}).values():
            assert isinstance(model, Namespace)
            config[base_key(model.name)] = namespace_item(model)
        return config

    async def update(self, event: Event) -> UpdateResult[None]:
        if not isinstance(event, KubeStateChange):
            return UpdateResult()
        self.changes.append((event.revision, event.key))
        if event.resource != "namespace":
            return UpdateResult()
        model = event.new if event.new is not None else event.prev
        assert isinstance(model, Namespace)
        value = None if event.new is None else namespace_item(model)
        return UpdateResult(f"namespace {model.name}", {base_key(model.name): value})


@dataclass
class Agent:
    loop: EventLoop
    scheduler: Scheduler
    southbound: Southbound
    mirror: NamespaceMirror
    watcher: DbWatcher
    task: asyncio.Task[None] = field(repr=False)


@contextlib.asynccontextmanager
async def agent(
    store: Any, mirror: NamespaceMirror | None = None, queue_size: int = 1000
) -> AsyncIterator[Agent]:
    """A node agent reduced to the event path, reading the reflector's tree from ``store``."""
    southbound = Southbound()
    scheduler = Scheduler(retry=RetryPolicy(max_attempts=0))
    scheduler.register(BaseDescriptor(southbound))
    await scheduler.start()
    mirror = mirror or NamespaceMirror()
    settings = LoopSettings(healing_delay=0.05, queue_size=queue_size)
    loop = EventLoop([mirror], scheduler, settings=settings)
    loop.start()
    watcher = DbWatcher(store, KSR, decode, loop, retry_delay=0.05)
    task = asyncio.create_task(watcher.run(), name="dbwatcher")
    try:
        yield Agent(loop, scheduler, southbound, mirror, watcher, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await loop.stop()
        await scheduler.stop()


def wanted(kube: KubeApiStandIn) -> dict[str, Item]:
    """The desired state the stand-in's namespaces call for."""
    return {
        base_key(obj["metadata"]["name"]): namespace_item(
            Namespace(name=obj["metadata"]["name"], labels=obj["metadata"].get("labels", {}))
        )
        for obj in kube.list("v1", "Namespace")
    }


async def folded(node: Agent, kube: KubeApiStandIn, within: float = 10.0) -> dict[str, Any]:
    """Wait until the agent's southbound holds exactly what the stand-in calls for."""

    async def check() -> dict[str, Any] | None:
        state = node.southbound.state()
        return state if node.loop.started and state == wanted(kube) else None

    return await eventually(check, within)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


async def churn(kube: KubeApiStandIn, count: int, pause: float = 0.01, seed: int = 1) -> None:
    """Creates, relabels and deletes namespaces, one change every ``pause`` seconds."""
    rng = random.Random(seed)
    alive: list[str] = []
    for step in range(count):
        roll = rng.random()
        if alive and roll < 0.25:
            kube.delete("v1", "Namespace", alive.pop(rng.randrange(len(alive))))
        elif alive and roll < 0.55:
            kube.apply(namespace(rng.choice(alive), step=str(step)))
        else:
            name = f"ns-{step}"
            kube.apply(namespace(name, step=str(step)))
            alive.append(name)
        await asyncio.sleep(pause)


async def history(store: Store, after: int) -> list[tuple[int, str]]:
    """(revision, key) of every change of a reflected object in etcd after ``after``."""
    end = KSR + "zz-end-of-history"  # no resource: marks where reading may stop
    await store.put(end, b"")
    seen: list[tuple[int, str]] = []
    async with store.watch(KSR, start_revision=after + 1) as events:
        async for event in events:
            if event.key == end:
                return seen
            key = event.key[len(KSR) :]
            if resource_of(key) is not None:
                seen.append((event.mod_revision, key))
    raise AssertionError("the watch ended before the end of history")


@pytest.fixture
async def kube() -> AsyncIterator[KubeApiStandIn]:
    async with KubeApiStandIn(settings=ApiServerSettings(bookmark_interval=0.2)) as standin:
        yield standin


@pytest.fixture
def private_settings(private_etcd: EmbeddedEtcd) -> StoreSettings:
    return StoreSettings(endpoints=(private_etcd.endpoint,), prefix="/log/")


def reflector_settings(
    kube: KubeApiStandIn, tmp_path: Path, store: StoreSettings, identity: str = "r"
) -> ReflectorSettings:
    return ReflectorSettings(
        kubeconfig=kube.write_kubeconfig(tmp_path / "kubeconfig"),
        store=store,
        identity=identity,
        kinds=("namespace", "node", "pod"),
        election_ttl=5,
        status_interval=0.1,
        retry_max=0.3,
        missing_kind_retry=0.3,
    )


async def test_etcd_killed_mid_stream_every_change_is_folded_once_in_order(
    kube: KubeApiStandIn,
    private_etcd: EmbeddedEtcd,
    private_settings: StoreSettings,
    tmp_path: Path,
) -> None:
    settings = reflector_settings(kube, tmp_path, private_settings)
    async with (
        EtcdStore(private_settings) as store,
        running(settings),
        agent(store) as node,
    ):
        await folded(node, kube)
        changes = asyncio.create_task(churn(kube, 80))
        await asyncio.sleep(0.25)
        await private_etcd.kill()
        await asyncio.sleep(0.5)
        await private_etcd.start()
        await changes
        # A last change, written after all others: once it is folded, so are they.
        kube.apply(namespace("zz-last"))
        await folded(node, kube, within=15)
        await node.loop.wait_idle()
    assert node.watcher.resyncs == 1  # the watch resumed: no relist was needed
    (start,) = node.mirror.resyncs
    folded_changes = node.mirror.changes
    assert len(folded_changes) > 40
    revisions = [revision for revision, _ in folded_changes]
    assert revisions == sorted(revisions)  # in revision order
    assert len(set(folded_changes)) == len(folded_changes)  # none twice
    async with EtcdStore(private_settings) as reader:
        # None lost, and within one revision (a transaction) in etcd's order too.
        assert folded_changes == await history(reader, start)
    assert not [r for r in node.loop.history.records() if r.error]


class HeldWatches:
    """A store whose watches can be held — the agent falls behind: events arriving meanwhile
    are not delivered — and then resume over a new connection from the first revision they
    did not deliver, as after a reconnect. Hold only while the watch is idle."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._released = asyncio.Event()
        self._released.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def watch(self, prefix: str, *, start_revision: int | None = None) -> HeldWatch:
        return HeldWatch(self._store, self._released, prefix, start_revision)


class HeldWatch:
    def __init__(
        self, store: Store, released: asyncio.Event, prefix: str, start: int | None
    ) -> None:
        self._store, self._released, self._prefix = store, released, prefix
        self._inner = store.watch(prefix, start_revision=start)
        self._reconnects = 0

    @property
    def resumes(self) -> int:
        return self._reconnects + self._inner.resumes

    def __aiter__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __anext__(self) -> WatchEvent:
        while True:
            event = await self._inner.__anext__()
            if self._released.is_set():
                return event
            # Arrived while held: not delivered. The connection is lost meanwhile; once
            # released, reconnect from this event's revision (it may be compacted by then).
            await self._released.wait()
            await self._inner.aclose()
            self._reconnects += 1 + self._inner.resumes
            self._inner = self._store.watch(self._prefix, start_revision=event.mod_revision)
            await self._inner.__aenter__()


async def test_compaction_overtaking_a_lagging_agent_forces_a_relist(
    kube: KubeApiStandIn, private_settings: StoreSettings, tmp_path: Path
) -> None:
    settings = reflector_settings(kube, tmp_path, private_settings)
    async with EtcdStore(private_settings) as store, running(settings):
        held = HeldWatches(store)
        async with agent(held) as node:
            await folded(node, kube)
            held.hold()
            kube.apply(namespace("while-behind", a="1"))
            kube.apply(namespace("while-behind", a="2"))
            kube.apply(namespace("another"))
            kube.delete("v1", "Namespace", "kube-public")

            async def written() -> bool:
                names = {i.key for i in (await store.list(KSR + "k8s/namespace/")).items}
                return KSR + "k8s/namespace/another" in names and not any(
                    n.endswith("/kube-public") for n in names
                )

            await eventually(written)
            await store.put("outside-the-tree", b"")  # so the compaction covers every change
            await store.compact(await store.revision())
            held.release()
            await folded(node, kube)
            await node.loop.wait_idle()  # the record is written just after the commit
            assert node.watcher.resyncs == 2
            resyncs = [r for r in node.loop.history.records() if r.name == "DBResync"]
            assert [r.description.endswith("(relist)") for r in resyncs] == [False, True]


async def test_an_agent_restarted_at_any_point_folds_to_the_same_state(
    kube: KubeApiStandIn, private_settings: StoreSettings, tmp_path: Path
) -> None:
    settings = reflector_settings(kube, tmp_path, private_settings)
    rng = random.Random(7)
    async with EtcdStore(private_settings) as store, running(settings), agent(store) as steady:
        changes = asyncio.create_task(churn(kube, 60, seed=3))
        restarts = 0
        while not changes.done():
            async with agent(store):
                await asyncio.sleep(rng.uniform(0.0, 0.25))  # stopped at any point
                restarts += 1
        async with agent(store) as last:
            await changes
            final = await folded(last, kube)
        assert await folded(steady, kube) == final
        assert restarts >= 2


async def test_malformed_stored_objects_are_rejected_and_the_stream_goes_on(
    kube: KubeApiStandIn, store_settings: StoreSettings, tmp_path: Path
) -> None:
    settings = reflector_settings(kube, tmp_path, store_settings)
    async with EtcdStore(store_settings) as store, running(settings), agent(store) as node:
        await folded(node, kube)
        await store.put(KSR + "k8s/namespace/broken", b"{not json")
        await store.put(
            KSR + "k8s/pod/web/namespace/default",
            json.dumps({"name": "web", "namespace": "default", "ip_address": 5}).encode(),
        )
        kube.apply(namespace("after-the-bad-ones"))
        await folded(node, kube)
        await node.loop.wait_idle()
        rejected = [r for r in node.loop.history.records() if r.name == "RejectedObject"]
        assert len(rejected) == 2
        assert "k8s/namespace/broken" in rejected[0].description
        assert "namespace broken: not valid JSON" in rejected[0].error
        assert "pod default/web: field 'ip_address': expected a string, got 5" in rejected[1].error
        assert node.watcher.resyncs == 1


class GatedMirror(NamespaceMirror):
    """A mirror whose updates wait at a gate: the agent falls behind a burst of changes."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def update(self, event: Event) -> UpdateResult[None]:
        await self.gate.wait()
        return await super().update(event)


async def test_a_burst_of_changes_is_held_back_not_overflowed_and_room_is_left_for_others(
    private_settings: StoreSettings,
) -> None:
    """Many more changes than the queue holds while the agent is busy: the watcher waits for
    room (no overflow, no relist), another producer still finds a place, and every change is
    folded once, in revision order."""
    mirror = GatedMirror()
    async with EtcdStore(private_settings) as store, agent(store, mirror, queue_size=20) as node:
        loop, watcher = node.loop, node.watcher
        await loop.wait_started()
        names = [f"burst-{i:03d}" for i in range(200)]
        for name in names:
            model = Namespace(name=name)
            await store.put(KSR + key_of(model), encode(model))

        async def backed_up() -> bool:
            return loop.queue_depth >= 18  # all but the headroom of 2

        await eventually(backed_up)
        loop.push(DBResync({}, 0, "a producer that cannot wait"))  # finds its place
        mirror.gate.set()

        async def all_folded() -> bool:
            return len(mirror.changes) >= len(names)

        await eventually(all_folded, 20.0)
        await loop.wait_idle()
        assert watcher.resyncs == 1
        assert loop.stats.overflows == 0
        revisions = [revision for revision, _ in mirror.changes]
        assert revisions == sorted(revisions)
        assert [key for _, key in mirror.changes] == [key_of(Namespace(name=n)) for n in names]
