"""IdPool against the session's real etcd: every node gets the same id for a label, two labels
never share one, even when nodes race; releases never free a record a node did not learn;
and the reflector's resync and the agent's watcher leave the pool's keys alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contivpy.backoff import Backoff
from contivpy.controllers.id_pool import (
    IdPool,
    IdPoolContendedError,
    IdPoolExhaustedError,
    IdRecordError,
    vni_pool,
    vrf_pool,
)
from contivpy.errors import PermanentError, RetriableError
from contivpy.events.dbwatch import DbWatcher
from contivpy.events.loop import LoopSettings
from contivpy.events.types import DBResync, Event, KubeStateChange
from contivpy.models.k8s_codec import Namespace, Node, decode, encode, key_of
from contivpy.reflector.kinds import KINDS
from contivpy.reflector.mirror import EtcdMirror
from contivpy.reflector.stats import ReflectorStats
from contivpy.reflector.view import ReflectedView
from contivpy.store import ExistsCompare, Store, Txn, TxnResult
from reflector.harness import eventually

KSR = "/vnf-agent/contiv-ksr/"  # the reflector's prefix, inside the test's own store namespace


def pool(store: Store, owner: str, *, first: int = 5000, last: int = 2**24 - 1) -> IdPool:
    return IdPool(store, key_prefix=KSR, pool="vni", first=first, last=last, owner=owner)


async def held(
    store: Store, name: str = "vni"
) -> tuple[dict[str, tuple[int, str]], dict[int, str]]:
    """What etcd holds for a pool: label -> (id, owner), and id -> label."""
    root = f"{KSR}idalloc/{name}/"
    listing = await store.list(root)
    labels: dict[str, tuple[int, str]] = {}
    ids: dict[int, str] = {}
    for item in listing.items:
        kind, _, tail = item.key[len(root) :].partition("/")
        if kind == "label":
            record = json.loads(item.value)
            labels[tail] = (record["id"], record["owner"])
        else:
            assert kind == "id", item.key
            ids[int(tail)] = item.value.decode()
    return labels, ids


async def test_two_nodes_get_one_id_for_one_label(store: Store) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    assert await n1.get_or_allocate("net1") == 5000
    assert await n2.get_or_allocate("net1") == 5000
    assert n2.known("net1") == 5000
    assert await held(store) == ({"net1": (5000, "n1")}, {5000: "net1"})


async def test_two_labels_never_share_an_id(store: Store) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    assert await n1.get_or_allocate("net1") == 5000
    # n2 knows nothing taken: its first candidate (5000) loses, it lists and takes the next.
    assert await n2.get_or_allocate("net2") == 5001
    assert await held(store) == (
        {"net1": (5000, "n1"), "net2": (5001, "n2")},
        {5000: "net1", 5001: "net2"},
    )


async def test_a_node_seeing_a_lower_free_id_still_gets_the_recorded_one(store: Store) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    await n1.get_or_allocate("net1")
    assert await n1.get_or_allocate("net2") == 5001
    await n1.release("net1")  # 5000 is free again: n2's first candidate for net2
    assert await n2.get_or_allocate("net2") == 5001
    assert await held(store) == ({"net2": (5001, "n1")}, {5001: "net2"})


async def test_pools_are_separate_and_start_at_their_ranges(store: Store) -> None:
    vni = vni_pool(store, key_prefix=KSR, owner="n1")
    vrf = vrf_pool(store, key_prefix=KSR, owner="n1")
    assert await vni.get_or_allocate("net1") == 5000
    assert await vrf.get_or_allocate("net1") == 10
    assert await held(store, "vni") == ({"net1": (5000, "n1")}, {5000: "net1"})
    assert await held(store, "vrf") == ({"net1": (10, "n1")}, {10: "net1"})


async def test_racing_nodes_agree_on_a_bijection(store: Store) -> None:
    nodes = [pool(store, f"n{i}") for i in range(4)]
    labels = [f"sfc-chain-{i}" for i in range(8)]
    calls = [(nodes[(i + i // 8) % 4], labels[i % 8]) for i in range(20)]
    answers = await asyncio.gather(*(node.get_or_allocate(label) for node, label in calls))
    by_label: dict[str, set[int]] = {}
    for (_, label), answer in zip(calls, answers, strict=True):
        by_label.setdefault(label, set()).add(answer)
    assert all(len(ids) == 1 for ids in by_label.values()), by_label
    chosen = {label: ids.pop() for label, ids in by_label.items()}
    assert len(set(chosen.values())) == 8  # no two labels share an id
    in_etcd, ids = await held(store)
    assert {label: record[0] for label, record in in_etcd.items()} == chosen
    assert ids == {value: label for label, value in chosen.items()}
    for node, label in calls:
        assert node.known(label) == chosen[label]


async def test_release_frees_the_id_for_a_new_allocation(store: Store) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    await n1.get_or_allocate("net1")
    await n1.get_or_allocate("net2")
    await n1.release("net1")
    assert n1.known("net1") is None
    assert await held(store) == ({"net2": (5001, "n1")}, {5001: "net2"})
    assert await n2.get_or_allocate("net3") == 5000  # the freed id is free for anyone
    assert await n1.get_or_allocate("net1") == 5002
    assert await held(store) == (
        {"net1": (5002, "n1"), "net2": (5001, "n1"), "net3": (5000, "n2")},
        {5000: "net3", 5001: "net2", 5002: "net1"},
    )


async def test_release_of_a_label_not_in_etcd_does_nothing(store: Store) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    await n1.get_or_allocate("net1")
    await n2.get_or_allocate("net1")
    await n1.release("net1")
    await n2.release("net1")  # already gone
    await n2.release("never-seen")
    assert await held(store) == ({}, {})


async def test_release_with_a_stale_record_deletes_nothing_even_for_the_same_id(
    store: Store,
) -> None:
    n1, n2 = pool(store, "n1"), pool(store, "n2")
    await n1.get_or_allocate("net1")
    assert await n2.get_or_allocate("net1") == 5000
    await n1.release("net1")
    assert await n1.get_or_allocate("net1") == 5000  # the label claimed again: a new record
    await n2.release("net1")  # n2 learnt the old record: it must not free the new one
    assert n2.known("net1") is None
    assert await held(store) == ({"net1": (5000, "n1")}, {5000: "net1"})


async def test_release_with_a_stale_id_leaves_both_labels_alone(store: Store) -> None:
    n1, n2, n3 = pool(store, "n1"), pool(store, "n2"), pool(store, "n3")
    await n1.get_or_allocate("net1")
    assert await n2.get_or_allocate("net1") == 5000
    await n1.release("net1")
    assert await n3.get_or_allocate("net9") == 5000  # the id n2 still knows, now net9's
    assert await n1.get_or_allocate("net1") == 5001
    await n2.release("net1")
    assert await held(store) == (
        {"net1": (5001, "n1"), "net9": (5000, "n3")},
        {5000: "net9", 5001: "net1"},
    )


async def test_an_exhausted_pool_is_a_permanent_error_naming_the_pool(store: Store) -> None:
    n1, n2 = pool(store, "n1", first=1, last=2), pool(store, "n2", first=1, last=2)
    assert await n1.get_or_allocate("a") == 1
    assert await n1.get_or_allocate("b") == 2
    for node in (n1, n2):  # n1 knows both ids taken; n2 finds out
        with pytest.raises(IdPoolExhaustedError, match="vni") as raised:
            await node.get_or_allocate("c")
        assert isinstance(raised.value, PermanentError)
    assert await held(store) == ({"a": (1, "n1"), "b": (2, "n1")}, {1: "a", 2: "b"})
    await n1.release("a")
    assert await n2.get_or_allocate("c") == 1  # n2's knowledge was stale: it lists again
    assert await held(store) == ({"b": (2, "n1"), "c": (1, "n2")}, {1: "c", 2: "b"})


@pytest.mark.parametrize("label", ["", "net/1", "/"])
async def test_a_bad_label_is_a_value_error_naming_it(store: Store, label: str) -> None:
    n1 = pool(store, "n1")
    with pytest.raises(ValueError, match=repr(label)):
        await n1.get_or_allocate(label)
    with pytest.raises(ValueError, match=repr(label)):
        await n1.release(label)
    assert await held(store) == ({}, {})


class RivalWinsEveryRace:
    """A store where, just before each of our claims, another node claims the same id for
    another label: every attempt loses."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.rivals = 0

    async def txn(self, txn: Txn) -> TxnResult:
        for compare in txn.compare:
            if isinstance(compare, ExistsCompare) and "/id/" in compare.key:
                self.rivals += 1
                await self._store.put(compare.key, f"rival-{self.rivals}".encode())
        return await self._store.txn(txn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_losing_every_race_is_a_retriable_error_naming_pool_and_label(
    store: Store,
) -> None:
    rival = RivalWinsEveryRace(store)
    n1 = pool(rival, "n1")
    with pytest.raises(IdPoolContendedError, match=r"vni.*'net1'") as raised:
        await n1.get_or_allocate("net1")
    assert isinstance(raised.value, RetriableError)
    assert rival.rivals == 10
    labels, ids = await held(store)
    assert labels == {}
    assert set(ids.values()) == {f"rival-{i}" for i in range(1, 11)}


@pytest.mark.parametrize(
    "record", [b'{"id": "five"}', b"not json", b'{"owner": "n9"}', b'{"id": true}', b'{"id": 1}']
)
async def test_an_unreadable_record_is_a_permanent_error_naming_the_key(
    store: Store, record: bytes
) -> None:
    await store.put(f"{KSR}idalloc/vni/label/net1", record)
    with pytest.raises(IdRecordError, match="idalloc/vni/label/net1"):
        await pool(store, "n1").get_or_allocate("net1")


# --- the keys are left alone by the reflector and by the agent's watcher -----------------------


async def test_the_reflectors_mark_and_sweep_keeps_the_pool_keys(store: Store) -> None:
    await pool(store, "n1").get_or_allocate("net1")
    await vrf_pool(store, key_prefix=KSR, owner="n1").get_or_allocate("net1")
    before = await store.list(f"{KSR}idalloc/")
    # Objects the cluster no longer has: the sweep deletes them (the node's, with its tree).
    gone: list[Namespace | Node] = [Namespace(name="old"), Node(name="n1")]
    for model in gone:
        await store.put(KSR + key_of(model), encode(model))
    kinds = [kind.resource for kind in KINDS]
    view = ReflectedView(kinds)
    for kind in kinds:
        view.replace(kind, {})  # listed: the cluster is empty
    mirror = EtcdMirror(
        store,
        view,
        ReflectorStats(kinds),
        prefix=KSR,
        agent_prefix="/vnf-agent/",
        fence=ExistsCompare(KSR + "no-such-key", exists=False),
        retry=Backoff(),
    )
    task = asyncio.create_task(mirror.run())
    try:
        await asyncio.wait_for(mirror.synced.wait(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert (await store.list(f"{KSR}k8s/")).items == ()  # the sweep did run
    after = await store.list(f"{KSR}idalloc/")
    assert after.items == before.items  # untouched: same values and revisions


class Recorder:
    """Stands in for the agent's event loop: keeps what the watcher pushes."""

    settings = LoopSettings()

    def __init__(self) -> None:
        self.events: list[Event] = []

    def push(self, event: Event) -> None:
        self.events.append(event)

    async def wait_for_room(self, headroom: int) -> None:
        return None  # a list always has room

    async def wait_idle(self) -> None:
        return None


@contextlib.asynccontextmanager
async def watching(store: Store) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    watcher = DbWatcher(store, KSR, decode, recorder, retry_delay=0.05)  # type: ignore[arg-type]
    task = asyncio.create_task(watcher.run())
    try:
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_agents_watcher_skips_the_pool_keys(store: Store) -> None:
    n1 = pool(store, "n1")
    await n1.get_or_allocate("net1")
    await store.put(KSR + key_of(Namespace(name="ns1")), encode(Namespace(name="ns1")))
    async with watching(store) as recorder:
        await eventually(lambda: _async(bool(recorder.events)))
        await n1.get_or_allocate("net2")
        await n1.release("net1")
        await store.put(KSR + key_of(Namespace(name="ns2")), encode(Namespace(name="ns2")))
        await eventually(lambda: _async(len(recorder.events) >= 2))
    resync, change = recorder.events  # nothing else: no event or rejection for the pool keys
    assert isinstance(resync, DBResync)
    assert resync.state == {"namespace": {key_of(Namespace(name="ns1")): Namespace(name="ns1")}}
    assert isinstance(change, KubeStateChange)
    assert change.key == key_of(Namespace(name="ns2"))


async def _async(value: bool) -> bool:
    return value
