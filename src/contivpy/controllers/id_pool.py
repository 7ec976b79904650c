"""Cluster-wide integer pools (Contiv-VPP's IDAllocator), atomic per label.

In: a store, the reflector's key prefix, a pool's name and range, this node's name, and
labels to resolve (a custom network's name, ``sfc-<chain>-<index>`` for an SFC hop). Out: one
integer per label, the same on every node, never the same for two labels of one pool; and
the records that make it so, in etcd under the reflector's prefix:

- ``<prefix>idalloc/<pool>/label/<label>`` -> JSON ``{"id": N, "owner": "<node>"}``
- ``<prefix>idalloc/<pool>/id/<N>`` -> the label (UTF-8)

Unlike Contiv, which rewrites one pool-wide JSON document with compare-and-swap (every
allocation in the cluster conflicts with every other), a label is claimed with ONE
transaction that writes both keys only while both are absent. When it fails, the label key
read in the same transaction decides: present, its id is the answer (another node was
first); absent, the id is someone else's, and the next free id is tried (after one listing of
the pool's ``id/`` keys, so ids taken meanwhile are skipped). Attempts are bounded.

Ids are the smallest free ones as far as this node knows; two nodes agree because both read
the one record, not because both compute the same minimum. A release deletes both keys in
one transaction, and only while the label key is still the very record this node learnt
(compared by mod revision, so a label released and claimed again, even with the same id, is
never released on the strength of the old record).

The reflector never touches these keys: its mark-and-sweep lists and deletes only
``<prefix>k8s/<kind>/`` keys, and the node agent's watcher skips keys of no known resource.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import structlog

from contivpy.errors import PermanentError, RetriableError
from contivpy.store import (
    DeleteOp,
    ExistsCompare,
    GetOp,
    KeyValue,
    ModRevisionCompare,
    PutOp,
    Store,
    Txn,
)

log = structlog.get_logger(__name__)

ID_ALLOC_PREFIX = "idalloc/"
MAX_ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class PoolRange:
    """A pool's name and its inclusive id range."""

    name: str
    first: int
    last: int


# 5000 leaves room for VNIs configured by hand; VRFs 0 and 1 are the main and pod VRFs.
VNI_POOL = PoolRange("vni", 5000, 2**24 - 1)
VRF_POOL = PoolRange("vrf", 10, 2**32 - 1)


class IdPoolContendedError(RetriableError):
    """No id was claimed for a label within the attempts allowed (other nodes kept winning)."""


class IdPoolExhaustedError(PermanentError):
    """Every id of a pool is taken."""


class IdRecordError(PermanentError):
    """A pool record in etcd is not what this module writes (edited by hand, or corrupt)."""


@dataclass(frozen=True, slots=True)
class _Known:
    """An id this node learnt, and the mod revision of the label record it learnt it from."""

    id: int
    mod_revision: int


class IdPool:
    """One pool (see the module docstring); one instance per pool per node."""

    def __init__(
        self, store: Store, *, key_prefix: str, pool: str, first: int, last: int, owner: str
    ) -> None:
        if not pool or "/" in pool:
            raise ValueError(f"id pool name {pool!r}: must be non-empty and contain no '/'")
        if not 0 <= first <= last:
            raise ValueError(f"id pool {pool}: range {first}..{last} is empty or negative")
        self._store = store
        self.pool = pool
        self.first = first
        self.last = last
        self._owner = owner
        self._root = f"{key_prefix}{ID_ALLOC_PREFIX}{pool}/"
        self._known: dict[str, _Known] = {}
        self._taken: set[int] = set()  # ids known to be held (possibly stale: only skipped)
        # One operation per label at a time in this process: concurrent callers asking for
        # one label share the first one's answer instead of racing each other in etcd.
        self._locks: dict[str, asyncio.Lock] = {}

    def known(self, label: str) -> int | None:
        """The id this node learnt for ``label`` (no I/O); None when not learnt."""
        found = self._known.get(label)
        return found.id if found is not None else None

    def forget(self) -> None:
        """Drop everything learnt (after a resync, etcd is read again)."""
        self._known.clear()
        self._taken.clear()

    async def get_or_allocate(self, label: str) -> int:
        """The label's id: the one etcd records, or a free one claimed for it now.

        Raises ``ValueError`` for a malformed label, ``IdPoolExhaustedError`` when no id is
        free, ``IdPoolContendedError`` when every attempt lost a race, ``IdRecordError`` when
        the label's record is unreadable, and the store's errors when etcd is unavailable.
        """
        self._check_label(label)
        async with self._lock(label):
            found = self._known.get(label)
            if found is None:
                found = await self._claim(label)
                self._known[label] = found
                self._taken.add(found.id)
            return found.id

    async def release(self, label: str) -> None:
        """Free the label's id, deleting both keys in one transaction, but only while the
        label's record is still the one this node learnt; a no-op for a label this node
        never learnt (it cannot tell an old record from a new one), or whose record is gone
        or was replaced. The label is forgotten either way."""
        self._check_label(label)
        async with self._lock(label):
            found = self._known.pop(label, None)
            if found is None:
                return
            label_key = self._label_key(label)
            result = await self._store.txn(
                Txn(
                    compare=(ModRevisionCompare(label_key, found.mod_revision),),
                    success=(DeleteOp(label_key), DeleteOp(self._id_key(found.id))),
                )
            )
            if result.succeeded:
                self._taken.discard(found.id)
                log.info("id released", pool=self.pool, label=label, id=found.id)
            else:
                log.info(
                    "id not released: the label's record changed since it was read",
                    pool=self.pool,
                    label=label,
                    id=found.id,
                )

    async def _claim(self, label: str) -> _Known:
        label_key = self._label_key(label)
        listed = False
        for _ in range(MAX_ATTEMPTS):
            candidate = self._first_free()
            if candidate is None and not listed:
                await self._list_taken()  # what is known may be stale: ids may be free again
                listed = True
                candidate = self._first_free()
            if candidate is None:
                raise IdPoolExhaustedError(
                    f"id pool {self.pool}: every id of {self.first}..{self.last} is taken"
                    f" (label {label!r} gets none)"
                )
            id_key = self._id_key(candidate)
            record = json.dumps({"id": candidate, "owner": self._owner})
            result = await self._store.txn(
                Txn(
                    compare=(
                        ExistsCompare(label_key, exists=False),
                        ExistsCompare(id_key, exists=False),
                    ),
                    success=(PutOp(label_key, record.encode()), PutOp(id_key, label.encode())),
                    failure=(GetOp(label_key),),
                )
            )
            if result.succeeded:
                log.info("id allocated", pool=self.pool, label=label, id=candidate)
                return _Known(candidate, result.revision)
            held = result.reads[0]
            if held is not None:  # another node (or an earlier run of this one) was first
                return _Known(self._id_of(label, held), held.mod_revision)
            self._taken.add(candidate)  # the id is another label's
            if not listed:
                await self._list_taken()
                listed = True
        raise IdPoolContendedError(
            f"id pool {self.pool}: no id claimed for label {label!r} after {MAX_ATTEMPTS}"
            " attempts (other nodes kept taking the candidates)"
        )

    async def _list_taken(self) -> None:
        """Replace what is known taken by the pool's ``id/`` keys as etcd holds them now."""
        listing = await self._store.list(self._root + "id/")
        taken = set()
        for item in listing.items:
            tail = item.key.rsplit("/", 1)[-1]
            if tail.isdigit():
                taken.add(int(tail))
        # Ids this node claimed while the listing was under way are held too.
        self._taken = taken | {known.id for known in self._known.values()}

    def _first_free(self) -> int | None:
        candidate = self.first
        while candidate in self._taken:  # at most len(taken) steps, however wide the range
            candidate += 1
        return candidate if candidate <= self.last else None

    def _id_of(self, label: str, held: KeyValue) -> int:
        """The id in a label's record, checked against the pool's range."""
        try:
            data = json.loads(held.value)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        value = data.get("id") if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < self.first:
            value = None  # a bool is an int to Python, not an id
        if value is None or value > self.last:
            raise IdRecordError(
                f"id pool {self.pool}: label {label!r}: record {held.key} field 'id' is not an"
                f" integer in {self.first}..{self.last} (holds {held.value[:80]!r})"
            )
        return value

    def _check_label(self, label: str) -> None:
        if not label or "/" in label:
            raise ValueError(
                f"id pool {self.pool}: label {label!r} must be non-empty and contain no '/'"
            )

    def _lock(self, label: str) -> asyncio.Lock:
        return self._locks.setdefault(label, asyncio.Lock())

    def _label_key(self, label: str) -> str:
        return f"{self._root}label/{label}"

    def _id_key(self, value: int) -> str:
        return f"{self._root}id/{value}"


def pool_of(store: Store, pool: PoolRange, *, key_prefix: str, owner: str) -> IdPool:
    """An ``IdPool`` over one of the ranges above."""
    return IdPool(
        store, key_prefix=key_prefix, pool=pool.name, first=pool.first, last=pool.last, owner=owner
    )


def vni_pool(store: Store, *, key_prefix: str, owner: str) -> IdPool:
    """The ``vni`` pool: VXLAN VNIs of SFC hops and custom networks."""
    return pool_of(store, VNI_POOL, key_prefix=key_prefix, owner=owner)


def vrf_pool(store: Store, *, key_prefix: str, owner: str) -> IdPool:
    """The ``vrf`` pool: VRF tables of L3 custom networks."""
    return pool_of(store, VRF_POOL, key_prefix=key_prefix, owner=owner)
