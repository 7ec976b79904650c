"""The leader's stats record in etcd, and etcd data-loss detection through it.

In: the store, the stats, the view (to ask for a resync), the fence, the ``status/gauges`` key
and an interval. Out: ``status/gauges`` rewritten (fenced) whenever the counters changed, and
a full mark-and-sweep requested when etcd lost data.

Detection, as Contiv-VPP's KSR did it: every interval read the revision of ``status/gauges``.
This writer remembers the revision its last write created; a lower one — or the key gone —
means etcd went back in time (restored from a backup, or the tree was wiped), so everything
reflected may be missing: every kind is resynced. Counters are written only when they
changed (Contiv rewrote them every second), which keeps etcd's history quiet while nothing
happens and still leaves a key whose revision can be checked.
"""

from __future__ import annotations

import asyncio

import structlog

from contivpy.reflector.errors import LeadershipLostError
from contivpy.reflector.stats import ReflectorStats
from contivpy.reflector.view import ReflectedView
from contivpy.store import Compare, PutOp, Store, StoreError, Txn

log = structlog.get_logger(__name__)


class StatusPublisher:
    """Publishes the counters and watches for etcd data loss (see the module doc)."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        stats: ReflectorStats,
        *,
        key: str,
        fence: Compare,
        interval: float,
    ) -> None:
        self._store = store
        self._view = view
        self._stats = stats
        self._key = key
        self._fence = fence
        self._interval = interval
        self._revision = 0  # what our last write created (0: nothing written yet)
        self._published: bytes | None = None
        self.data_losses = 0

    async def run(self) -> None:
        """Check and publish every interval until cancelled; raises ``LeadershipLostError``."""
        while True:
            try:
                await self.check_once()
            except StoreError as error:
                log.warning("status check failed", error=str(error))
            await asyncio.sleep(self._interval)

    async def check_once(self) -> None:
        current = await self._store.get(self._key)
        revision = current.item.mod_revision if current.item is not None else 0
        if self._revision and revision < self._revision:
            self.data_losses += 1
            self._stats.data_loss()
            log.warning(
                "etcd data loss detected; resyncing everything",
                key=self._key,
                expected_revision=self._revision,
                found_revision=revision,
            )
            self._view.request_resync()
            self._published = None
        elif revision > self._revision:
            self._revision = revision  # a former leader's late write: fine, track it
        payload = self._stats.gauges_json()
        if payload == self._published and current.item is not None:
            return
        result = await self._store.txn(
            Txn(compare=(self._fence,), success=(PutOp(self._key, payload),))
        )
        if not result.succeeded:
            raise LeadershipLostError("status write refused: the leader key is not ours")
        self._revision = result.revision
        self._published = payload
