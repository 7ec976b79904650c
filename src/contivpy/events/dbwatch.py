"""From the store to events: list at a revision, then watch from the next one.

In: a Store, the reflector's key prefix, and a decoder of stored objects. Out: a DBResync
with the whole decoded state at revision R (always first), then one KubeStateChange per
change from R + 1 on, pushed onto the event loop, each exactly once and in revision order
(the store's watch resumes across etcd restarts on its own). When the watch's revision was
compacted, or the event queue overflowed (events would be lost), it relists and pushes a new
DBResync. A burst of changes (a reflector mirroring a large cluster at once) does not overflow
the queue: the watcher waits for room before each push, keeping a tenth of the queue for CNI
requests and timers, and etcd holds the rest of the stream meanwhile (a watcher that falls
so far behind that its revision is compacted relists, as above). An object that cannot be
decoded becomes a RejectedObject event (recorded, not applied) and the stream goes on.
``reconnects`` counts the connections to etcd made again (the store's watch resuming by
itself, and this watcher starting over after a store error).
"""

from __future__ import annotations

import asyncio

import structlog

from contivpy.errors import RetriableError
from contivpy.events.loop import EventLoop, EventQueueFullError
from contivpy.events.types import DBResync, KubeStateChange, RejectedObject
from contivpy.models.decoded import Decoded, DecodeError, Decoder
from contivpy.store import CompactedError, EventType, Store, StoreError, WatchStream

log = structlog.get_logger(__name__)


class DbWatcher:
    """Feeds one event loop from one store prefix."""

    def __init__(
        self,
        store: Store,
        prefix: str,
        decode: Decoder,
        loop: EventLoop,
        *,
        retry_delay: float = 1.0,
    ) -> None:
        self._store = store
        self._prefix = prefix
        self._decode = decode
        self._loop = loop
        self._retry_delay = retry_delay
        # the queue places left to producers that cannot wait (CNI requests, timers)
        self._headroom = max(1, loop.settings.queue_size // 10)
        self._models: dict[str, tuple[str, object]] = {}  # key -> (resource, model)
        self.resyncs = 0
        self.revision = 0  # the last revision folded into events
        # etcd reconnects: the store's watch resumes by itself (counted by it) and, when
        # the store itself failed, this watcher starts over after a pause
        self._reconnects = 0
        self._stream: WatchStream | None = None

    @property
    def reconnects(self) -> int:
        """How many times the connection to etcd was lost and made again."""
        stream = self._stream
        return self._reconnects + (stream.resumes if stream is not None else 0)

    async def run(self) -> None:
        """Relist and watch forever (until cancelled)."""
        while True:
            try:
                revision = await self._relist()
                await self._watch(revision + 1)
            except CompactedError as error:
                log.info("watch revision compacted; relisting", error=str(error))
            except EventQueueFullError:
                # Events would be lost: wait for the loop to drain, then start over.
                log.warning("event queue full; relisting once it drains")
                await self._loop.wait_idle()
            except (StoreError, RetriableError) as error:
                log.warning("store unavailable; retrying", error=str(error))
                self._reconnects += 1
                await asyncio.sleep(self._retry_delay)

    async def _relist(self) -> int:
        listing = await self._store.list(self._prefix)
        state: dict[str, dict[str, object]] = {}
        models: dict[str, tuple[str, object]] = {}
        for item in listing.items:
            key = item.key[len(self._prefix) :]
            decoded = self._safe_decode(key, item.value, item.mod_revision)
            if decoded is not None:
                state.setdefault(decoded.resource, {})[decoded.key] = decoded.model
                models[key] = (decoded.resource, decoded.model)
        self._models = models
        self.resyncs += 1
        reason = "start" if self.resyncs == 1 else "relist"
        self._loop.push(DBResync(state, listing.revision, reason))
        self.revision = listing.revision
        return listing.revision

    async def _watch(self, start: int) -> None:
        async with self._store.watch(self._prefix, start_revision=start) as events:
            self._stream = events
            try:
                await self._follow(events)
            finally:
                self._stream = None
                self._reconnects += events.resumes

    async def _follow(self, events: WatchStream) -> None:
        async for event in events:
            key = event.key[len(self._prefix) :]
            previous = self._models.get(key)
            if event.type is EventType.DELETE:
                if previous is None:
                    continue  # never seen (or rejected): nothing to remove
                del self._models[key]
                change = KubeStateChange(previous[0], key, previous[1], None, event.mod_revision)
            else:
                decoded = self._safe_decode(key, event.value, event.mod_revision)
                if decoded is None:
                    continue
                self._models[key] = (decoded.resource, decoded.model)
                prev = previous[1] if previous is not None else None
                change = KubeStateChange(
                    decoded.resource, decoded.key, prev, decoded.model, event.mod_revision
                )
            await self._loop.wait_for_room(self._headroom)
            self._loop.push(change)
            self.revision = event.mod_revision

    def _safe_decode(self, key: str, value: bytes, revision: int) -> Decoded | None:
        try:
            return self._decode(key, value)
        except Exception as error:
            reason = str(error) if isinstance(error, DecodeError) else repr(error)
            log.warning("rejected stored object", key=key, revision=revision, error=reason)
            self._loop.push(RejectedObject(key, reason, revision))
            return None
