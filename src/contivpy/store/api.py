"""What every key-value store offers contivpy: the types and the ``Store`` protocol.

In: nothing (pure definitions). Out: the vocabulary of ``contivpy.store`` — values read with the
store revision they were read at, a small typed transaction, typed watch events, leases — and
the ``Store`` and ``WatchStream`` protocols that ``contivpy.store.etcd`` implements.

Keys are ``str`` (UTF-8 on the wire) relative to the store's configured prefix; values are
``bytes`` (codecs live in ``contivpy.models``). A *revision* is etcd's global, monotonically
increasing change counter: every read says at which revision it was made, every write says
which revision it created, and a watch can start at any revision not yet compacted — so
"list at R, then watch from R + 1" sees every change exactly once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, TypeAlias


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One stored key with its value and history counters."""

    key: str
    value: bytes
    mod_revision: int  # revision of the last change of this key
    create_revision: int  # revision that created it (since its last deletion)
    version: int  # number of changes since creation (1 = just created)
    lease_id: int = 0  # lease the key is attached to; 0 = none


@dataclass(frozen=True, slots=True)
class GetResult:
    """A single-key read: the item (None when absent) and the store revision of the read."""

    revision: int
    item: KeyValue | None


@dataclass(frozen=True, slots=True)
class ListResult:
    """A prefix read, one consistent snapshot: every item as of ``revision``, sorted by key."""

    revision: int
    items: tuple[KeyValue, ...]


@dataclass(frozen=True, slots=True)
class PutResult:
    """The revision the put created."""

    revision: int


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """The revision after the delete and how many keys it removed (0: nothing was there, and
    the revision is then the current one, not a new one)."""

    revision: int
    deleted: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A granted lease: keys put with it are deleted when it expires or is revoked."""

    id: int
    ttl: int  # seconds granted by the server (it may raise a too small request)


# --- transactions ---------------------------------------------------------------------------


class CompareOp(enum.Enum):
    """How a compare's target relates to the given operand."""

    EQUAL = "=="
    NOT_EQUAL = "!="
    LESS = "<"
    GREATER = ">"


@dataclass(frozen=True, slots=True)
class ValueCompare:
    """The key's value compared with ``value``. An absent key never compares true."""

    key: str
    value: bytes
    op: CompareOp = CompareOp.EQUAL


@dataclass(frozen=True, slots=True)
class ModRevisionCompare:
    """The key's mod_revision compared with ``mod_revision``; an absent key has 0."""

    key: str
    mod_revision: int
    op: CompareOp = CompareOp.EQUAL


@dataclass(frozen=True, slots=True)
class ExistsCompare:
    """True when the key exists (``exists=True``) or is absent (``exists=False``)."""

    key: str
    exists: bool = True


Compare: TypeAlias = ValueCompare | ModRevisionCompare | ExistsCompare


@dataclass(frozen=True, slots=True)
class PutOp:
    """Set ``key`` to ``value``, attached to ``lease`` when given."""

    key: str
    value: bytes
    lease: Lease | None = None


@dataclass(frozen=True, slots=True)
class DeleteOp:
    """Delete ``key``, or every key starting with it when ``prefix``."""

    key: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class GetOp:
    """Read ``key`` inside the transaction (atomically with the compares)."""

    key: str


TxnOp: TypeAlias = PutOp | DeleteOp | GetOp


@dataclass(frozen=True, slots=True)
class Txn:
    """If every compare holds, run ``success``, else run ``failure``; all at one revision.

    An empty ``compare`` always succeeds. The class methods build the common shapes.
    """

    compare: tuple[Compare, ...] = ()
    success: tuple[TxnOp, ...] = ()
    failure: tuple[TxnOp, ...] = ()

    @classmethod
    def put_if_absent(cls, key: str, value: bytes, *, lease: Lease | None = None) -> Txn:
        """Create ``key`` unless it exists; on failure ``reads[0]`` is the current holder."""
        return cls(
            compare=(ExistsCompare(key, exists=False),),
            success=(PutOp(key, value, lease),),
            failure=(GetOp(key),),
        )

    @classmethod
    def compare_and_swap(
        cls, key: str, value: bytes, *, mod_revision: int, lease: Lease | None = None
    ) -> Txn:
        """Write ``key`` only if it was not changed since ``mod_revision`` (0: only if absent);
        on failure ``reads[0]`` is what is there now."""
        return cls(
            compare=(ModRevisionCompare(key, mod_revision),),
            success=(PutOp(key, value, lease),),
            failure=(GetOp(key),),
        )

    @classmethod
    def delete_if_unchanged(cls, key: str, *, mod_revision: int) -> Txn:
        """Delete ``key`` only if it was not changed since ``mod_revision``."""
        return cls(
            compare=(ModRevisionCompare(key, mod_revision),),
            success=(DeleteOp(key),),
            failure=(GetOp(key),),
        )


@dataclass(frozen=True, slots=True)
class TxnResult:
    """Which branch ran, the revision after it, and one entry per ``GetOp`` of that branch
    (in order; None where the key was absent)."""

    succeeded: bool  # True: the compares held and ``success`` ran; False: ``failure`` ran
    revision: int
    reads: tuple[KeyValue | None, ...] = ()


# --- watch ----------------------------------------------------------------------------------


class EventType(enum.Enum):
    """What happened to a key."""

    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change of one key, in revision order.

    Several events may share a ``mod_revision`` (one transaction changed several keys).
    ``prev_value`` is the value before the change, when etcd still had it (None for a
    creation, or when the previous revision is already compacted).
    """

    type: EventType
    key: str
    value: bytes  # the new value; empty for DELETE
    mod_revision: int  # the revision of this change
    prev_value: bytes | None = None


class WatchStream(Protocol):
    """An open watch: an async iterator of events that resumes by itself after disconnects.

    Use as ``async with store.watch(prefix, start_revision=r) as events: async for e in events``.
    Iteration raises ``CompactedError`` when the next revision it needs was compacted, and
    ends when the stream or the store is closed.
    """

    @property
    def next_revision(self) -> int | None:
        """The first revision not yet delivered (where a resume starts); None before opening
        when no start revision was given."""
        ...

    @property
    def resumes(self) -> int:
        """How many times the stream was reopened after it was lost (etcd reconnects)."""
        ...

    def __aiter__(self) -> Self: ...

    async def __anext__(self) -> WatchEvent: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# --- the store ------------------------------------------------------------------------------


class Store(Protocol):
    """A revisioned key-value store with transactions, watches and leases (etcd v3 semantics).

    Errors are the ``contivpy.store.errors`` tree; ``StoreUnavailableError`` is retriable.
    Reads retry by themselves while etcd reconnects; writes are attempted once.
    """

    @property
    def endpoint_in_use(self) -> str:
        """``host:port`` of the etcd endpoint requests go to now (with several endpoints it
        changes when the store fails over); the first configured one before connecting."""
        ...

    async def get(self, key: str) -> GetResult:
        """Read one key."""
        ...

    async def list(self, prefix: str, *, revision: int | None = None) -> ListResult:
        """Read every key starting with ``prefix`` as one snapshot (now, or at ``revision``)."""
        ...

    async def put(self, key: str, value: bytes, *, lease: Lease | None = None) -> PutResult:
        """Write one key, attached to ``lease`` when given."""
        ...

    async def delete(self, key: str) -> DeleteResult:
        """Delete one key (no error when it is absent)."""
        ...

    async def delete_prefix(self, prefix: str) -> DeleteResult:
        """Delete every key starting with ``prefix``."""
        ...

    async def txn(self, txn: Txn) -> TxnResult:
        """Run a transaction atomically."""
        ...

    def watch(self, prefix: str, *, start_revision: int | None = None) -> WatchStream:
        """Watch every key starting with ``prefix``, from ``start_revision`` (inclusive) or,
        when None, from the first revision after the watch is opened."""
        ...

    async def grant_lease(self, ttl: int) -> Lease:
        """Grant a lease of ``ttl`` seconds (keep it alive with ``contivpy.store.leases``)."""
        ...

    async def refresh_lease(self, lease: Lease) -> int:
        """Reset the lease's countdown; returns the seconds left. ``LeaseNotFoundError`` when
        it already expired."""
        ...

    async def revoke_lease(self, lease: Lease) -> None:
        """Revoke the lease now, deleting its keys."""
        ...

    async def close(self) -> None:
        """Release connections; open watches end."""
        ...
