"""Leases: expiry deletes keys (seen as DELETE events), keep-alive holds them, revoke."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.store.api import EventType, Lease, Txn
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.errors import LeaseNotFoundError
from contivpy.store.etcd import EtcdStore
from contivpy.store.leases import LeaseKeepAlive, held_lease
from contivpy.store.settings import StoreSettings

# The test etcd's raft tuning lets etcd grant 1 s leases (its minimum is 1.5 election timeouts).
TTL = 1


async def test_lease_expiry_deletes_key_and_shows_as_delete_event(store: EtcdStore) -> None:
    lease = await store.grant_lease(TTL)
    put = await store.put("node/1", b"alive", lease=lease)
    assert (await store.get("node/1")).item.lease_id == lease.id  # type: ignore[union-attr]

    async with store.watch("node/", start_revision=put.revision + 1) as events:
        async with asyncio.timeout(TTL + 4):
            event = await anext(events)

    assert (event.type, event.key, event.prev_value) == (EventType.DELETE, "node/1", b"alive")
    assert (await store.get("node/1")).item is None
    with pytest.raises(LeaseNotFoundError):
        await store.refresh_lease(lease)


async def test_keep_alive_holds_lease_past_its_ttl_then_expires_when_stopped(
    store: EtcdStore,
) -> None:
    lease = await store.grant_lease(TTL)
    assert lease.ttl == TTL
    await store.put("held", b"v", lease=lease)

    async with LeaseKeepAlive(store, lease) as keeper:
        await asyncio.sleep(TTL * 2.5)
        assert (await store.get("held")).item is not None
        assert not keeper.lost

    async with store.watch("held") as events, asyncio.timeout(TTL + 4):
        event = await anext(events)
    assert (event.type, event.key) == (EventType.DELETE, "held")


async def test_keep_alive_reports_a_lost_lease(store: EtcdStore) -> None:
    lease = await store.grant_lease(TTL)

    async with LeaseKeepAlive(store, lease, interval=0.1) as keeper:
        await store.revoke_lease(lease)
        async with asyncio.timeout(3):
            await keeper.wait_lost()

    assert keeper.lost


async def test_held_lease_revokes_on_exit(store: EtcdStore) -> None:
    async with held_lease(store, ttl=30) as keeper:
        await store.put("registration", b"me", lease=keeper.lease)
        assert (await store.get("registration")).item is not None

    assert (await store.get("registration")).item is None  # at once, not 30 s later
    with pytest.raises(LeaseNotFoundError):
        await store.refresh_lease(keeper.lease)


async def test_put_with_unknown_lease_is_lease_not_found(store: EtcdStore) -> None:
    with pytest.raises(LeaseNotFoundError):
        await store.put("k", b"v", lease=Lease(id=123456789, ttl=5))
    with pytest.raises(LeaseNotFoundError):
        await store.revoke_lease(Lease(id=123456789, ttl=5))
    with pytest.raises(LeaseNotFoundError):
        await store.txn(Txn.put_if_absent("k", b"v", lease=Lease(id=123456789, ttl=5)))


async def test_kept_lease_survives_an_etcd_restart(private_etcd: EmbeddedEtcd) -> None:
    settings = StoreSettings(endpoints=(private_etcd.endpoint,))
    async with EtcdStore(settings) as store, held_lease(store, ttl=TTL) as keeper:
        await store.put("registration", b"me", lease=keeper.lease)

        await private_etcd.kill()
        await asyncio.sleep(0.5)
        await private_etcd.start()
        await asyncio.sleep(TTL * 2)

        assert not keeper.lost
        assert (await store.get("registration")).item is not None
