"""A watch that must see a sequence of writes exactly once and in order while etcd is hurt.

In: a store to write with, a store to watch with, how many keys, and the chaos to run
mid-stream (it gets the ``SequenceWatch`` to wait until so many events were seen). Out: the
events seen, and the event after the sequence (a sentinel written last) with its write, to
assert nothing more was pending. Both the single-member restart test and the cluster failover
test use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from contivpy.store.api import PutResult, Txn, WatchEvent
from contivpy.store.errors import StoreUnavailableError
from contivpy.store.etcd import EtcdStore


def sequence_key(i: int) -> str:
    return f"seq/{i:04d}"


async def write_sequence(store: EtcdStore, total: int) -> None:
    """Create seq/0000 ... in order, each exactly once even across failures: a write that
    failed in flight may have been applied, so it is repeated as put-if-absent."""
    for i in range(total):
        while True:
            try:
                await store.txn(Txn.put_if_absent(sequence_key(i), str(i).encode()))
                break
            except StoreUnavailableError:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.005)  # pace the writer so the chaos lands mid-stream


@dataclass
class SequenceWatch:
    """What the watch has seen so far."""

    seen: list[WatchEvent] = field(default_factory=list)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)
    start: int = 0  # the revision the watch started from

    async def wait_seen(self, count: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.seen) >= count)


@dataclass
class SequenceSeen:
    """The events of the sequence, the revision the watch started at, and the sentinel."""

    events: list[WatchEvent]
    start: int
    sentinel: PutResult
    after: WatchEvent


async def watch_sequence(
    writer: EtcdStore,
    watcher: EtcdStore,
    total: int,
    chaos: Callable[[SequenceWatch], Awaitable[None]],
    within: float,
) -> SequenceSeen:
    """Write the sequence, run ``chaos`` meanwhile, and watch it all arrive."""
    state = SequenceWatch(start=await watcher.revision() + 1)
    async with watcher.watch("seq/", start_revision=state.start) as events:
        writing = asyncio.create_task(write_sequence(writer, total))
        hurting = asyncio.create_task(chaos(state))
        async with asyncio.timeout(within):
            async for event in events:
                async with state.progress:
                    state.seen.append(event)
                    state.progress.notify_all()
                if len(state.seen) == total:
                    break
            await writing
            await hurting
            # Nothing more is pending: the next event is a fresh one, not a repeat.
            sentinel = await writer.put("seq/zz-sentinel", b"end")
            after = await anext(events)
    return SequenceSeen(state.seen, state.start, sentinel, after)
