"""etcd killed and restarted under an open watch: every event arrives exactly once, in order."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.store.api import EventType
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.errors import StoreClosedError, StoreUnavailableError
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from store.sequence import SequenceWatch, sequence_key, watch_sequence

TOTAL = 150


async def test_watch_sees_every_event_once_in_order_across_etcd_restarts(
    private_etcd: EmbeddedEtcd,
) -> None:
    settings = StoreSettings(endpoints=(private_etcd.endpoint,), prefix="/restart/")

    async def chaos(watch: SequenceWatch) -> None:
        # A crash (SIGKILL) and a clean stop (SIGTERM), each mid-stream, each with etcd down
        # long enough for the watch to fail to reopen a few times.
        for take_down, after_events in ((private_etcd.kill, 40), (private_etcd.stop, 90)):
            await watch.wait_seen(after_events)
            await take_down()
            await asyncio.sleep(0.4)
            await private_etcd.start()

    async with EtcdStore(settings) as writer_store, EtcdStore(settings) as watch_store:
        got = await watch_sequence(writer_store, watch_store, TOTAL, chaos, within=30)

    seen = got.events
    assert [e.key for e in seen] == [sequence_key(i) for i in range(TOTAL)]
    assert all(e.type is EventType.PUT and e.prev_value is None for e in seen)
    revisions = [e.mod_revision for e in seen]
    assert revisions == sorted(set(revisions))
    assert revisions[0] >= got.start
    assert (got.after.key, got.after.mod_revision) == ("seq/zz-sentinel", got.sentinel.revision)


async def test_requests_wait_for_etcd_to_come_back(private_etcd: EmbeddedEtcd) -> None:
    settings = StoreSettings(endpoints=(private_etcd.endpoint,), prefix="/wait/")
    async with EtcdStore(settings) as store:
        await store.put("k", b"before")
        await private_etcd.kill()

        read = asyncio.create_task(store.get("k"))
        await asyncio.sleep(0.3)
        assert not read.done()  # waiting for the reconnect, not failed
        await private_etcd.start()

        got = await asyncio.wait_for(read, 5)
        assert got.item is not None
        assert got.item.value == b"before"
        await store.put("k", b"after")
        assert (await store.get("k")).item.value == b"after"  # type: ignore[union-attr]


async def test_requests_fail_as_unavailable_after_request_timeout(
    private_etcd: EmbeddedEtcd,
) -> None:
    settings = StoreSettings(
        endpoints=(private_etcd.endpoint,), prefix="/down/", request_timeout=0.5
    )
    async with EtcdStore(settings) as store:
        await private_etcd.kill()

        async with asyncio.timeout(5):
            with pytest.raises(StoreUnavailableError) as put_failed:
                await store.put("k", b"v")
            with pytest.raises(StoreUnavailableError):
                await store.get("k")

    assert put_failed.value.__cause__ is not None  # the gRPC error, chained


async def test_closing_the_store_fails_waiting_requests_as_closed(
    private_etcd: EmbeddedEtcd,
) -> None:
    store = EtcdStore(StoreSettings(endpoints=(private_etcd.endpoint,)))
    await store.connect()
    await private_etcd.kill()
    read = asyncio.create_task(store.get("k"))
    await asyncio.sleep(0.2)

    await store.close()

    with pytest.raises(StoreClosedError):
        await read
    assert not read.cancelled()  # the caller's task was not cancelled, the store was closed
