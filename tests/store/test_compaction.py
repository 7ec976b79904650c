"""Compaction: watching or listing from a compacted revision says so, so the caller relists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from contivpy.errors import PermanentError
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.errors import CompactedError
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


@pytest.fixture
async def own_store(private_etcd: EmbeddedEtcd) -> AsyncIterator[EtcdStore]:
    """Compaction is global to an etcd, so these tests use one of their own."""
    async with EtcdStore(StoreSettings(endpoints=(private_etcd.endpoint,))) as store:
        yield store


async def test_watch_from_compacted_revision_raises_with_the_revision(own_store: EtcdStore) -> None:
    first = await own_store.put("k", b"1")
    await own_store.put("k", b"2")
    latest = await own_store.put("k", b"3")
    await own_store.compact(latest.revision)

    with pytest.raises(CompactedError) as raised:
        async with asyncio.timeout(5), own_store.watch("", start_revision=first.revision) as w:
            await anext(w)

    assert raised.value.compacted_revision == latest.revision
    assert isinstance(raised.value, PermanentError)  # repeating the same watch cannot help
    assert raised.value.__cause__ is not None


async def test_relist_after_compaction_then_watch_continues(own_store: EtcdStore) -> None:
    old = await own_store.put("k", b"1")
    await own_store.put("k", b"2")
    await own_store.compact((await own_store.put("k", b"3")).revision)
    with pytest.raises(CompactedError):
        async with asyncio.timeout(5), own_store.watch("", start_revision=old.revision) as w:
            await anext(w)

    snapshot = await own_store.list("")
    async with own_store.watch("", start_revision=snapshot.revision + 1) as events:
        put = await own_store.put("k", b"4")
        async with asyncio.timeout(5):
            event = await anext(events)

    assert [(i.key, i.value) for i in snapshot.items] == [("k", b"3")]
    assert (event.value, event.mod_revision) == (b"4", put.revision)


async def test_list_at_compacted_revision_raises(own_store: EtcdStore) -> None:
    old = await own_store.put("k", b"1")
    await own_store.compact((await own_store.put("k", b"2")).revision)

    with pytest.raises(CompactedError) as raised:
        await own_store.list("", revision=old.revision)

    assert raised.value.compacted_revision is None  # etcd does not say for ranges


async def test_compaction_below_a_live_watch_does_not_disturb_it(own_store: EtcdStore) -> None:
    async with own_store.watch("") as events:
        first = await own_store.put("k", b"1")
        async with asyncio.timeout(5):
            assert (await anext(events)).mod_revision == first.revision
        await own_store.compact(first.revision)
        second = await own_store.put("k", b"2")
        async with asyncio.timeout(5):
            event = await anext(events)

    assert (event.mod_revision, event.prev_value) == (second.revision, b"1")
