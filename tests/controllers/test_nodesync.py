"""NodeSync on its own against the session's real etcd: two nodes claiming node IDs at the
same moment never get the same one, and a restarted node finds its own ID again."""

from __future__ import annotations

import asyncio
from typing import Any

from contivpy.controllers.nodesync import NodeSync
from contivpy.events.types import KubeStateChange, NodeUpdate
from contivpy.models.k8s_codec import VppNode, decode, encode, key_of
from contivpy.store import ListResult, Store
from controllers.parts import START


class ListTogether:
    """A store whose listings return only once ``parties`` of them were made: every node
    decides on a free ID from the same view, before any of them claimed one (the race)."""

    def __init__(self, store: Store, parties: int) -> None:
        self._store = store
        self._barrier = asyncio.Barrier(parties)

    async def list(self, prefix: str, **options: Any) -> ListResult:
        listing = await self._store.list(prefix, **options)
        await self._barrier.wait()
        return listing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def records(store: Store, prefix: str) -> dict[int, str]:
    """Node ID -> node name, as etcd holds them."""
    listing = await store.list(prefix + "allocatedIDs/")
    held = {}
    for item in listing.items:
        decoded = decode(item.key[len(prefix) :], item.value)
        assert decoded is not None
        assert isinstance(decoded.model, VppNode)
        held[decoded.model.id] = decoded.model.name
    return held


async def test_two_nodes_racing_for_the_first_free_id_get_different_ones(
    store: Store, key_prefix: str
) -> None:
    racing = ListTogether(store, parties=2)
    n1 = NodeSync("n1", racing, key_prefix=key_prefix)  # type: ignore[arg-type]
    n2 = NodeSync("n2", racing, key_prefix=key_prefix)  # type: ignore[arg-type]
    await asyncio.gather(n1.resync(START, {}, 1), n2.resync(START, {}, 1))
    assert {n1.node_id, n2.node_id} == {1, 2}
    assert await records(store, key_prefix) == {n1.node_id: "n1", n2.node_id: "n2"}


async def test_an_id_taken_but_not_yet_reflected_is_not_claimed_again(
    store: Store, key_prefix: str
) -> None:
    taken = VppNode(id=1, name="n9")
    await store.put(key_prefix + key_of(taken), encode(taken))
    n1 = NodeSync("n1", store, key_prefix=key_prefix)
    await n1.resync(START, {}, 1)  # the reflected state does not show n9's record yet
    assert n1.node_id == 2
    assert await records(store, key_prefix) == {1: "n9", 2: "n1"}


async def test_a_restarted_node_finds_its_id_and_learns_of_the_other_node(
    store: Store, key_prefix: str
) -> None:
    first, second = (
        NodeSync("n1", store, key_prefix=key_prefix),
        NodeSync("n2", store, key_prefix=key_prefix),
    )
    await first.resync(START, {}, 1)
    await second.resync(START, {}, 1)
    assert (first.node_id, second.node_id) == (1, 2)
    # n1 restarts before its own record is reflected to it: it takes it from etcd by name.
    restarted = NodeSync("n1", store, key_prefix=key_prefix)
    await restarted.resync(START, {}, 1)
    assert restarted.node_id == 1
    # n2's record arrives: a NodeUpdate follow-up tells the other controllers.
    record = VppNode(id=2, name="n2")
    result = await restarted.update(KubeStateChange("vppnode", key_of(record), None, record, 5))
    [follow_up] = result.follow_ups
    assert isinstance(follow_up, NodeUpdate)
    assert (follow_up.node, follow_up.prev, follow_up.new and follow_up.new.id) == ("n2", None, 2)
    assert [n.name for n in restarted.others()] == ["n2"]
    assert await records(store, key_prefix) == {1: "n1", 2: "n2"}
