"""Reads and writes with revisions, prefixes and namespacing, against a real etcd."""

from __future__ import annotations

import dataclasses

import pytest

from contivpy.store.errors import CompactedError, StoreClosedError, StoreRequestError
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


async def test_put_then_get_returns_value_and_revisions(store: EtcdStore) -> None:
    put = await store.put("pods/a", b"1")

    got = await store.get("pods/a")

    assert got.item is not None
    assert got.item.key == "pods/a"
    assert got.item.value == b"1"
    assert got.item.mod_revision == got.item.create_revision == put.revision
    assert got.item.version == 1
    assert got.revision >= put.revision


async def test_update_bumps_mod_revision_and_version_not_create_revision(store: EtcdStore) -> None:
    first = await store.put("k", b"1")
    second = await store.put("k", b"2")

    item = (await store.get("k")).item

    assert second.revision > first.revision
    assert item is not None
    assert (item.value, item.mod_revision, item.create_revision, item.version) == (
        b"2",
        second.revision,
        first.revision,
        2,
    )


async def test_get_absent_key_gives_none_with_current_revision(store: EtcdStore) -> None:
    put = await store.put("other", b"x")

    got = await store.get("missing")

    assert got.item is None
    assert got.revision >= put.revision


async def test_list_returns_prefix_sorted_with_snapshot_revision(store: EtcdStore) -> None:
    revisions = {
        key: (await store.put(key, key.encode())).revision for key in ("a/2", "a/1", "b/1")
    }

    listed = await store.list("a/")

    assert [i.key for i in listed.items] == ["a/1", "a/2"]
    assert [i.mod_revision for i in listed.items] == [revisions["a/1"], revisions["a/2"]]
    assert listed.revision == revisions["b/1"]  # the store revision, not the newest item's


async def test_list_reads_every_page_at_one_revision(store_settings: StoreSettings) -> None:
    paged = dataclasses.replace(store_settings, list_page_size=2)
    async with EtcdStore(paged) as store:
        for i in range(7):
            await store.put(f"p/{i}", b"v")

        listed = await store.list("p/")

    assert [i.key for i in listed.items] == [f"p/{i}" for i in range(7)]


async def test_list_at_an_old_revision_shows_the_past(store: EtcdStore) -> None:
    before = await store.put("x/1", b"old")
    await store.put("x/1", b"new")
    await store.put("x/2", b"later")

    past = await store.list("x/", revision=before.revision)

    assert [(i.key, i.value) for i in past.items] == [("x/1", b"old")]
    assert past.revision == before.revision


async def test_list_at_a_future_revision_is_a_request_error(store: EtcdStore) -> None:
    now = await store.revision()

    with pytest.raises(StoreRequestError):
        await store.list("", revision=now + 1000)


async def test_delete_and_delete_prefix_report_counts(store: EtcdStore) -> None:
    for key in ("d/1", "d/2", "d/3", "e/1"):
        await store.put(key, b"v")

    one = await store.delete("d/1")
    none = await store.delete("d/1")
    rest = await store.delete_prefix("d/")

    assert (one.deleted, none.deleted, rest.deleted) == (1, 0, 2)
    assert rest.revision > one.revision
    assert [i.key for i in (await store.list("")).items] == ["e/1"]


async def test_prefix_namespaces_keys_between_stores(store_settings: StoreSettings) -> None:
    other = dataclasses.replace(store_settings, prefix=store_settings.prefix + "other/")
    async with EtcdStore(store_settings) as outer, EtcdStore(other) as inner:
        await inner.put("k", b"inner")
        await outer.put("k", b"outer")

        assert [(i.key, i.value) for i in (await inner.list("")).items] == [("k", b"inner")]
        assert [i.key for i in (await outer.list("")).items] == ["k", "other/k"]


async def test_keys_round_trip_non_ascii(store: EtcdStore) -> None:
    await store.put("pod/žluťoučký/namespace/kůň", b"v")

    listed = await store.list("pod/")

    assert [i.key for i in listed.items] == ["pod/žluťoučký/namespace/kůň"]


async def test_closed_store_refuses_calls(store_settings: StoreSettings) -> None:
    store = EtcdStore(store_settings)
    with pytest.raises(StoreClosedError, match="not connected"):
        await store.get("k")
    await store.connect()
    await store.close()
    await store.close()  # idempotent

    with pytest.raises(StoreClosedError):
        await store.put("k", b"v")
    with pytest.raises(StoreClosedError):
        await store.connect()


def test_compacted_error_carries_revision() -> None:
    error = CompactedError(42)

    assert error.compacted_revision == 42
    assert "42" in str(error)
