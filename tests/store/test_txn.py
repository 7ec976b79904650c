"""Transactions: compares on value, mod_revision and existence; concurrent allocators."""

from __future__ import annotations

import asyncio

from contivpy.store.api import (
    CompareOp,
    DeleteOp,
    ExistsCompare,
    GetOp,
    ModRevisionCompare,
    PutOp,
    Txn,
    ValueCompare,
)
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


async def test_put_if_absent_creates_then_reports_the_holder(store: EtcdStore) -> None:
    won = await store.txn(Txn.put_if_absent("id/1", b"node-a"))
    lost = await store.txn(Txn.put_if_absent("id/1", b"node-b"))

    assert won.succeeded
    assert won.reads == ()
    assert not lost.succeeded
    assert lost.reads[0] is not None
    assert lost.reads[0].value == b"node-a"
    assert lost.reads[0].mod_revision == won.revision
    assert lost.revision == won.revision  # a failed compare writes nothing


async def test_compare_and_swap_on_mod_revision(store: EtcdStore) -> None:
    created = await store.put("pool", b"v1")

    swapped = await store.txn(Txn.compare_and_swap("pool", b"v2", mod_revision=created.revision))
    stale = await store.txn(Txn.compare_and_swap("pool", b"v3", mod_revision=created.revision))

    assert swapped.succeeded
    assert not stale.succeeded
    assert stale.reads[0] is not None
    assert stale.reads[0].value == b"v2"
    assert (await store.get("pool")).item is not None
    assert (await store.get("pool")).item.value == b"v2"  # type: ignore[union-attr]


async def test_compare_and_swap_with_zero_creates_only_when_absent(store: EtcdStore) -> None:
    first = await store.txn(Txn.compare_and_swap("new", b"a", mod_revision=0))
    second = await store.txn(Txn.compare_and_swap("new", b"b", mod_revision=0))

    assert (first.succeeded, second.succeeded) == (True, False)


async def test_delete_if_unchanged(store: EtcdStore) -> None:
    put = await store.put("lock", b"me")
    await store.put("lock", b"someone else")

    refused = await store.txn(Txn.delete_if_unchanged("lock", mod_revision=put.revision))
    current = refused.reads[0]
    assert current is not None
    allowed = await store.txn(Txn.delete_if_unchanged("lock", mod_revision=current.mod_revision))

    assert not refused.succeeded
    assert allowed.succeeded
    assert (await store.get("lock")).item is None


async def test_value_compare_operators_and_branches(store: EtcdStore) -> None:
    await store.put("v", b"m")

    def probe(op: CompareOp, operand: bytes) -> Txn:
        return Txn(compare=(ValueCompare("v", operand, op),), success=(GetOp("v"),))

    outcomes = [
        (await store.txn(probe(op, operand))).succeeded
        for op, operand in [
            (CompareOp.EQUAL, b"m"),
            (CompareOp.NOT_EQUAL, b"m"),
            (CompareOp.LESS, b"z"),
            (CompareOp.GREATER, b"z"),
        ]
    ]

    assert outcomes == [True, False, True, False]


async def test_exists_compare_and_multi_op_branches(store: EtcdStore) -> None:
    await store.put("a", b"1")
    txn = Txn(
        compare=(ExistsCompare("a"), ExistsCompare("b", exists=False)),
        success=(PutOp("b", b"2"), DeleteOp("a"), GetOp("b"), GetOp("a")),
        failure=(PutOp("failed", b"x"),),
    )

    result = await store.txn(txn)

    assert result.succeeded
    assert [kv.value if kv else None for kv in result.reads] == [b"2", None]
    listed = await store.list("")
    assert [(i.key, i.mod_revision) for i in listed.items] == [("b", result.revision)]


async def test_mod_revision_greater_and_delete_prefix_in_txn(store: EtcdStore) -> None:
    old = await store.put("t/old", b"1")
    await store.put("t/new", b"2")

    result = await store.txn(
        Txn(
            compare=(ModRevisionCompare("t/new", old.revision, CompareOp.GREATER),),
            success=(DeleteOp("t/", prefix=True),),
        )
    )

    assert result.succeeded
    assert (await store.list("t/")).items == ()


async def test_two_concurrent_allocators_exactly_one_wins(store_settings: StoreSettings) -> None:
    async with EtcdStore(store_settings) as first, EtcdStore(store_settings) as second:
        for round_number in range(20):
            key = f"allocatedIDs/{round_number}"
            results = await asyncio.gather(
                first.txn(Txn.put_if_absent(key, b"first")),
                second.txn(Txn.put_if_absent(key, b"second")),
            )

            winners = [r for r in results if r.succeeded]
            assert len(winners) == 1
            loser = next(r for r in results if not r.succeeded)
            holder = (await first.get(key)).item
            assert holder is not None
            assert loser.reads == (holder,)


async def test_many_allocators_get_distinct_ids(store_settings: StoreSettings) -> None:
    async def allocate(store: EtcdStore, name: bytes) -> int:
        candidate = 1
        while not (await store.txn(Txn.put_if_absent(f"ids/{candidate}", name))).succeeded:
            candidate += 1
        return candidate

    stores = [EtcdStore(store_settings) for _ in range(8)]
    for store in stores:
        await store.connect()
    try:
        ids = await asyncio.gather(
            *(allocate(s, f"node-{i}".encode()) for i, s in enumerate(stores))
        )
    finally:
        for store in stores:
            await store.close()

    assert sorted(ids) == list(range(1, 9))
