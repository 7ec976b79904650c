"""The leader's etcd writer: converges etcd to the informers' view.

In: the ``ReflectedView`` (objects per kind and what changed), a store, the election fence, and
the key layout (reflector prefix, agent prefix). Out: puts and deletes under
``<prefix>k8s/<kind>/``, each batch one transaction guarded by the fence (only the leader's
writes land), node-deletion side effects, and counters.

- **Mark-and-sweep** of a kind (at the start of every leadership term, after every relist of
  the kind, after a failed write, and when etcd data loss is detected): list the kind's etcd
  prefix, put every view object whose stored bytes differ or are missing, delete every stored
  key the view lacks. Unchanged objects are not rewritten (bytes compared), so a restarted
  reflector leaves their mod_revisions alone.
- **Single keys** changed since the last pass are written when their bytes differ from what
  this writer knows etcd holds (known from the last listing and its own writes).
- A failed write (etcd unreachable, ...) is counted, and after a backoff (``retry_initial``
  doubling to ``retry_max``) the writer resyncs every kind: it cannot know what landed.
- **Node deleted** (live or swept): the ``allocatedIDs/<id>`` record with that node's name is
  deleted (its ID is free again) and so is the node's ``<agent_prefix><node>/`` tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import structlog

from contivpy.backoff import Backoff
from contivpy.models.decoded import DecodeError
from contivpy.models.k8s_codec import ALLOCATED_IDS_PREFIX, VppNode, decode, parse_key, resource
from contivpy.reflector.errors import LeadershipLostError
from contivpy.reflector.stats import ReflectorStats
from contivpy.reflector.view import ReflectedView, Work
from contivpy.store import Compare, DeleteOp, PutOp, Store, StoreError, Txn, TxnOp

log = structlog.get_logger(__name__)

TXN_OPS = 64  # per transaction: well under etcd's default --max-txn-ops of 128


class EtcdMirror:
    """Writes the view into etcd while this instance leads (see the module doc)."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        stats: ReflectorStats,
        *,
        prefix: str,
        agent_prefix: str,
        fence: Compare,
        retry: Backoff,
    ) -> None:
        self._store = store
        self._view = view
        self._stats = stats
        self._prefix = prefix
        self._agent_prefix = agent_prefix
        self._fence = fence
        self._retry = retry
        self._known: dict[str, dict[str, bytes]] = {}  # kind -> key -> bytes etcd holds
        self.synced = asyncio.Event()  # set once every kind was resynced in this term
        self.passes = 0  # completed write passes

    async def run(self) -> None:
        """Write until cancelled; raises ``LeadershipLostError`` when a fenced write fails."""
        await self._view.wait_all_listed()  # never sweep etcd against a half-listed view
        self._view.request_resync()
        delays = self._retry.delays()
        while True:
            await self._view.wait_work()
            work = self._view.take_work()
            try:
                await self._apply(work)
            except StoreError as error:
                delay = next(delays)
                for kind in work.resync | set(work.dirty):
                    self._stats.record_error(kind, f"etcd write failed: {error}")
                log.warning("etcd write failed; resyncing", error=str(error), retry_in=delay)
                self._view.request_resync()
                self.synced.clear()
                await asyncio.sleep(delay)
                continue
            delays = self._retry.delays()
            self.passes += 1
            if work.resync >= set(self._view.kinds):
                self.synced.set()

    async def _apply(self, work: Work) -> None:
        for kind in sorted(work.resync):
            await self._mark_and_sweep(kind)
        for kind, keys in sorted(work.dirty.items()):
            await self._write_keys(kind, keys)

    async def _mark_and_sweep(self, kind: str) -> None:
        desired = self._view.objects(kind)  # snapshot: later changes come as dirty keys
        listing = await self._store.list(self._prefix + resource(kind).key_prefix)
        stored = {item.key[len(self._prefix) :]: item.value for item in listing.items}
        puts = [(key, value) for key, value in sorted(desired.items()) if stored.get(key) != value]
        deletes = sorted(stored.keys() - desired.keys())
        await self._commit(
            [PutOp(self._prefix + key, value) for key, value in puts]
            + [DeleteOp(self._prefix + key) for key in deletes]
        )
        self._known[kind] = desired
        adds = sum(1 for key, _ in puts if key not in stored)
        self._stats.count(kind, "resyncs")
        self._stats.count(kind, "adds", adds)
        self._stats.count(kind, "updates", len(puts) - adds)
        self._stats.count(kind, "deletes", len(deletes))
        if puts or deletes:
            log.info("resynced", kind=kind, puts=len(puts), deletes=len(deletes), kept=len(desired))
        if kind == "node":
            await self._nodes_deleted(deletes)

    async def _write_keys(self, kind: str, keys: Iterable[str]) -> None:
        known = self._known.setdefault(kind, {})
        changes: list[tuple[str, bytes | None]] = []
        for key in sorted(keys):
            value = self._view.get(kind, key)
            if value != known.get(key):
                changes.append((key, value))
        if not changes:
            return
        await self._commit(
            [
                DeleteOp(self._prefix + key) if value is None else PutOp(self._prefix + key, value)
                for key, value in changes
            ]
        )
        deleted: list[str] = []
        for key, value in changes:
            if value is None:
                known.pop(key, None)
                deleted.append(key)
                self._stats.count(kind, "deletes")
            else:
                self._stats.count(kind, "updates" if key in known else "adds")
                known[key] = value
        if kind == "node":
            await self._nodes_deleted(deleted)

    async def _nodes_deleted(self, keys: Sequence[str]) -> None:
        names = {parsed.name for key in keys if (parsed := parse_key(key)) is not None}
        if not names:
            return
        ops: list[TxnOp] = []
        listing = await self._store.list(self._prefix + ALLOCATED_IDS_PREFIX)
        for item in listing.items:
            try:
                decoded = decode(item.key[len(self._prefix) :], item.value)
            except DecodeError:
                continue  # not a record we can read; nodesync reports it
            model = decoded.model if decoded is not None else None
            if isinstance(model, VppNode) and model.name in names:
                ops.append(DeleteOp(item.key))
        for name in sorted(names):
            node_prefix = f"{self._agent_prefix}{name}/"
            if self._prefix.startswith(node_prefix):  # a node named like the reflector's tree
                log.warning("node config not deleted: its prefix holds ours", node=name)
                continue
            ops.append(DeleteOp(node_prefix, prefix=True))
        await self._commit(ops)
        log.info("nodes deleted: IDs freed, node config removed", nodes=sorted(names))

    async def _commit(self, ops: Sequence[TxnOp]) -> None:
        for start in range(0, len(ops), TXN_OPS):
            chunk = tuple(ops[start : start + TXN_OPS])
            result = await self._store.txn(Txn(compare=(self._fence,), success=chunk))
            if not result.succeeded:
                raise LeadershipLostError("the leader key no longer holds our identity")
