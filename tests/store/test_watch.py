"""Watching a prefix: replay from a revision, then live events; closing."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.store.api import EventType, PutOp, Txn, WatchEvent, WatchStream
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


async def take(stream: WatchStream, count: int, within: float = 5.0) -> list[WatchEvent]:
    """The next ``count`` events (fails the test if they do not come in time)."""
    async with asyncio.timeout(within):
        return [await anext(stream) for _ in range(count)]


def summary(events: list[WatchEvent]) -> list[tuple[str, str, bytes, bytes | None]]:
    return [(e.type.value, e.key, e.value, e.prev_value) for e in events]


async def test_watch_from_revision_replays_history_then_streams_live(store: EtcdStore) -> None:
    first = await store.put("pod/a", b"1")
    await store.put("pod/a", b"2")
    await store.put("node/x", b"not watched")
    await store.delete("pod/a")

    async with store.watch("pod/", start_revision=first.revision) as events:
        replayed = await take(events, 3)
        live_put = await store.put("pod/b", b"3")
        live = await take(events, 1)

    assert summary(replayed) == [
        ("put", "pod/a", b"1", None),
        ("put", "pod/a", b"2", b"1"),
        ("delete", "pod/a", b"", b"2"),
    ]
    assert summary(live) == [("put", "pod/b", b"3", None)]
    assert live[0].mod_revision == live_put.revision
    revisions = [e.mod_revision for e in replayed + live]
    assert revisions == sorted(revisions)


async def test_watch_without_start_sees_only_changes_after_opening(store: EtcdStore) -> None:
    await store.put("k/before", b"old")

    async with store.watch("k/") as events:
        opened_at = events.next_revision
        put = await store.put("k/after", b"new")
        seen = await take(events, 1)

    assert opened_at is not None
    assert opened_at <= put.revision
    assert [(e.key, e.mod_revision) for e in seen] == [("k/after", put.revision)]
    assert events.next_revision == put.revision + 1


async def test_one_transaction_gives_events_with_one_revision(store: EtcdStore) -> None:
    async with store.watch("") as events:
        result = await store.txn(Txn(success=(PutOp("x", b"1"), PutOp("y", b"2"))))
        seen = await take(events, 2)

    assert [(e.key, e.mod_revision) for e in seen] == [
        ("x", result.revision),
        ("y", result.revision),
    ]


async def test_list_then_watch_from_list_revision_plus_one_misses_nothing(
    store: EtcdStore,
) -> None:
    await store.put("r/1", b"a")
    snapshot = await store.list("r/")
    later = await store.put("r/2", b"b")

    async with store.watch("r/", start_revision=snapshot.revision + 1) as events:
        seen = await take(events, 1)

    assert [(e.key, e.mod_revision) for e in seen] == [("r/2", later.revision)]


async def test_closing_the_watch_ends_iteration(store: EtcdStore) -> None:
    events = store.watch("c/")
    await events.__aenter__()
    reader = asyncio.create_task(anext(events, None))
    await asyncio.sleep(0.05)

    await events.aclose()

    assert await asyncio.wait_for(reader, 2) is None
    assert await anext(events, None) is None


async def test_closing_the_store_ends_open_watches(store_settings: StoreSettings) -> None:
    store = EtcdStore(store_settings)
    await store.connect()
    events = store.watch("s/")
    await events.__aenter__()
    reader = asyncio.create_task(anext(events, None))
    await asyncio.sleep(0.05)

    await store.close()

    assert await asyncio.wait_for(reader, 2) is None


async def test_watch_iterates_without_context_manager(store: EtcdStore) -> None:
    put = await store.put("plain/k", b"v")
    events = store.watch("plain/", start_revision=put.revision)
    try:
        async with asyncio.timeout(5):
            first = await anext(events)  # the first read opens the stream
    finally:
        await events.aclose()

    assert (first.key, first.mod_revision) == ("plain/k", put.revision)


async def test_a_cancelled_reader_loses_no_event(store: EtcdStore) -> None:
    async with store.watch("q/") as events:
        reader = asyncio.create_task(anext(events))
        await asyncio.sleep(0.05)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        put = await store.put("q/1", b"v")

        seen = await take(events, 1)

    assert [(e.key, e.mod_revision, e.type) for e in seen] == [("q/1", put.revision, EventType.PUT)]
