"""The informers' view: change tracking for the etcd writer, and running tasks together."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.reflector.tasks import first_completed
from contivpy.reflector.view import ReflectedView


async def test_changes_coalesce_and_equal_bytes_are_no_change() -> None:
    view = ReflectedView(["pod", "node"])
    assert view.put("pod", "k1", b"a")
    assert view.put("pod", "k1", b"b")
    assert not view.put("pod", "k1", b"b")
    assert view.remove("pod", "k2") is False
    work = view.take_work()
    assert work.dirty == {"pod": {"k1"}}
    assert not work.resync
    assert not view.take_work()  # taken: nothing left
    assert view.get("pod", "k1") == b"b"
    assert view.count("pod") == 1


async def test_a_relist_asks_for_a_resync_that_covers_its_dirty_keys() -> None:
    view = ReflectedView(["pod", "node"])
    view.put("pod", "k1", b"a")
    view.put("node", "n1", b"x")
    view.replace("pod", {"k2": b"c"})
    assert not view.all_listed
    view.replace("node", {"n1": b"x"})
    assert view.all_listed
    work = view.take_work()
    assert work.resync == {"pod", "node"}
    assert work.dirty == {}
    assert view.objects("pod") == {"k2": b"c"}


async def test_work_wakes_the_writer() -> None:
    view = ReflectedView(["pod"])
    waiter = asyncio.create_task(view.wait_work())
    await asyncio.sleep(0)
    assert not waiter.done()
    view.request_resync()
    await asyncio.wait_for(waiter, 1)


async def test_first_completed_cancels_the_rest_and_raises_the_first_error() -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        await asyncio.sleep(0.01)
        raise LookupError("first")

    with pytest.raises(LookupError, match="first"):
        await first_completed(forever(), fails())
    assert cancelled.is_set()
    await first_completed(forever(), asyncio.sleep(0))  # a normal end returns


async def test_a_readers_feed_of_one_kind() -> None:
    view = ReflectedView(["pod", "node"])
    view.put("pod", "k0", b"a")
    feed = view.changes("pod")
    assert feed.take() == (True, set())  # a new feed: the whole kind
    view.put("pod", "k1", b"a")
    view.put("pod", "k1", b"b")
    view.remove("pod", "k0")
    view.put("node", "n1", b"x")  # another kind
    assert feed.take() == (False, {"k0", "k1"})
    assert feed.take() == (False, set())
    view.put("pod", "k2", b"c")
    view.replace("pod", {"k3": b"d"})  # a relist: the reader starts from the kind again
    assert feed.take() == (True, set())
