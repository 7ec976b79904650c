"""The scheduler's public types: what descriptors implement and what callers send and get back.

In: nothing (pure type definitions). Out: the vocabulary every other scheduler module and every
descriptor uses. The core knows nothing of VPP: a value is any immutable object, a key any
string; descriptors give them meaning.

Vocabulary
----------
- *desired* (northbound, NB): what the controllers asked for, key -> value.
- *southbound* (SB): what really exists (VPP, Linux), read back by descriptors' ``retrieve``.
- *base value*: a value put by a transaction; *derived value*: one a base value implies
  (an interface's address, a bridge domain's member); it exists only while its base does.
- *property*: a derived value with no descriptor; it exists (no southbound call) as soon as its
  dependencies are met, and serves as a dependency target.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from contivpy.backoff import Backoff

Key: TypeAlias = str


class ValueState(enum.Enum):
    """Where one key stands. Shown in status, history and the graph."""

    NONEXISTENT = "nonexistent"  # neither desired nor found
    CONFIGURED = "configured"  # desired and applied southbound
    PENDING = "pending"  # desired, waiting for a dependency (details name it)
    INVALID = "invalid"  # desired, rejected by validation (details name the field)
    FAILED = "failed"  # the last operation failed and will not be retried
    RETRYING = "retrying"  # the last operation failed; a retry is scheduled
    OBTAINED = "obtained"  # found southbound, not ours: never created, changed or deleted
    DISCOVERED = "discovered"  # found southbound, ours, not (yet) claimed by desired state
    MISSING = "missing"  # was configured, not found on the last refresh (being repaired)
    UNREADABLE = "unreadable"  # found southbound but not understood: left exactly as found


class Origin(enum.Enum):
    """Who owns a southbound object: us (NB) or someone else (SB)."""

    NB = "nb"
    SB = "sb"


class OpKind(enum.Enum):
    """A southbound operation."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class TxnKind(enum.Enum):
    """What started a transaction."""

    NB_CHANGE = "nb-change"  # puts/deletes from a caller
    FULL_RESYNC = "full-resync"  # desired state replaced, southbound refreshed
    DOWNSTREAM_RESYNC = "downstream-resync"  # southbound refreshed, desired state kept
    REFRESH_START = "refresh-start"  # record southbound at start, change nothing
    RETRY = "retry"  # re-attempt of failed operations


@dataclass(frozen=True, slots=True)
class Dependency:
    """One condition a value needs before it can be created.

    Either ``key`` (that exact key must exist) or ``any_of`` (at least one existing key starts
    with one of the prefixes and, when given, satisfies ``selector``). Dependencies of a value
    are AND-ed. ``label`` names the condition in pending reasons.
    """

    label: str
    key: Key | None = None
    any_of: tuple[str, ...] = ()
    selector: Callable[[Key], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if (self.key is None) == (not self.any_of):
            raise ValueError(f"dependency {self.label!r}: give exactly one of key or any_of")

    def matches(self, key: Key) -> bool:
        """True when ``key`` can satisfy this dependency."""
        if self.key is not None:
            return key == self.key
        if not any(key.startswith(p) for p in self.any_of):
            return False
        return self.selector is None or self.selector(key)

    def describe(self) -> str:
        """Human text: the label and what it waits for."""
        target = self.key if self.key is not None else "any of " + ", ".join(self.any_of) + "*"
        return f"{self.label} ({target})"


@dataclass(frozen=True, slots=True)
class KV:
    """A key with its value. Derived values without a descriptor (properties) may carry
    their own dependencies here, since no descriptor can compute them."""

    key: Key
    value: object
    dependencies: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One object a descriptor found southbound.

    ``origin`` says whether it is ours (NB: created by contivpy, recognised by e.g. a tag) or
    not (SB: never touched). ``metadata`` is what dependents need (e.g. an index).
    ``unreadable`` (non-empty: why) says the descriptor could not read the object back
    completely (a field it does not recognise), so ``value`` may not be what is really there:
    the scheduler then never deletes, re-creates or updates it, nor what it is built on, and
    reports the key UNREADABLE (an error of every transaction that would have touched it)
    until a later read understands it.
    """

    key: Key
    value: object
    metadata: object = None
    origin: Origin = Origin.NB
    unreadable: str = ""


class InvalidValueError(Exception):
    """Raised by ``Descriptor.validate``: the value cannot be applied. Names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


@runtime_checkable
class Descriptor(Protocol):
    """What the scheduler needs to manage the values under one key prefix.

    ``DescriptorBase`` (scheduler.descriptor_defaults) supplies what a descriptor omits.
    Rules: never mutate a value; dependencies and derived values are pure functions of
    (key, value), never of metadata; retrieve returns what *really* exists.
    """

    @property
    def name(self) -> str:
        """Unique name; also names the descriptor's metadata map."""

    @property
    def key_prefix(self) -> str:
        """Every key this descriptor owns starts with this prefix."""

    @property
    def retrieve_after(self) -> Sequence[str]:
        """Names of descriptors whose retrieve must run first (their metadata is needed)."""

    @property
    def supports_update(self) -> bool:
        """False when every change must be a delete + create."""

    @property
    def supports_retrieve(self) -> bool:
        """False when southbound cannot be read; resync then trusts what was applied."""

    def owns(self, key: Key) -> bool:
        """Narrower selection within ``key_prefix`` (for prefixes shared between descriptors)."""

    def validate(self, key: Key, value: Any) -> None:
        """Raise InvalidValueError naming the field when the value cannot be applied."""

    def dependencies(self, key: Key, value: Any) -> Sequence[Dependency]:
        """What must exist before this value is created (AND-ed)."""

    def derived(self, key: Key, value: Any) -> Sequence[KV]:
        """Values this one implies; they exist only while it does."""

    def equivalent(self, key: Key, old: Any, new: Any) -> bool:
        """True when no southbound change is needed to go from old to new."""

    def needs_recreate(self, key: Key, old: Any, new: Any) -> bool:
        """True when this change cannot be done in place."""

    def is_retriable(self, error: BaseException) -> bool:
        """True when repeating the failed operation may succeed."""

    async def create(self, key: Key, value: Any) -> Any:
        """Create southbound; returns metadata (or None)."""

    async def update(self, key: Key, old: Any, new: Any, metadata: Any) -> Any:
        """Change in place; returns the new metadata."""

    async def delete(self, key: Key, value: Any, metadata: Any) -> None:
        """Remove southbound."""

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        """What exists southbound for this descriptor. ``correlate`` holds the desired values
        of its keys, so fields the southbound cannot report can be filled in."""


class MetadataView(Protocol):
    """Read-only access to metadata of applied values, for descriptors that need another
    value's metadata (e.g. an address needs its interface's index)."""

    def metadata(self, key: Key) -> Any:
        """Metadata of an existing value, or None."""

    def keys_with_prefix(self, prefix: str) -> Sequence[Key]:
        """Existing keys (applied southbound) that start with prefix."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of retriable failures: the first after ``period`` seconds, each later one
    ``backoff`` times the previous delay, at most ``max_attempts`` of them."""

    period: float = 1.0
    backoff: float = 2.0
    max_attempts: int = 3  # retries after the first failure; 0 = no retry

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): no cap, no jitter (a retry is
        one node's own, not a crowd's)."""
        growth = Backoff(initial=self.period, factor=self.backoff, maximum=math.inf, jitter=0.0)
        return growth.delay(attempt)


@dataclass(frozen=True, slots=True)
class Txn:
    """A transaction: puts (key -> value) and deletes (key -> None), or a full desired state.

    ``full=True`` means ``values`` is the complete desired state (a full resync): every
    desired key absent from it is deleted. ``revert`` undoes what the transaction already did
    when any operation fails (best effort otherwise). ``retry`` overrides the scheduler's
    default retry policy; ``RetryPolicy(max_attempts=0)`` disables retries.
    """

    values: Mapping[Key, object | None]
    description: str = ""
    full: bool = False
    revert: bool = False
    retry: RetryPolicy | None = None


@dataclass(frozen=True, slots=True)
class OpError:
    """Why one operation failed: the key, the operation and the cause."""

    key: Key
    op: OpKind
    cause: str
    retriable: bool

    def __str__(self) -> str:
        kind = "retriable" if self.retriable else "permanent"
        return f"{self.op.value} {self.key}: {self.cause} ({kind})"


@dataclass(slots=True)
class OpRecord:
    """One southbound operation, planned or executed.

    ``recreate`` marks the two halves of a delete + create of the same key; ``derived`` marks
    values implied by a base value; ``property`` marks values with no southbound call.

    Read-only by convention, not frozen: a transaction records every op twice (planned and
    executed), and a frozen dataclass's constructor (a guarded setattr per field) cost three
    times as much, 4% of the agent's time in a 1,000-interface transaction.
    """

    key: Key
    op: OpKind
    prev_value: object | None = None
    new_value: object | None = None
    derived: bool = False
    property: bool = False
    recreate: bool = False
    revert: bool = False
    started: float = 0.0  # seconds since the transaction started
    duration: float = 0.0
    error: OpError | None = None
    skipped: str = ""  # why a planned op did not run (a dependency failed)


@dataclass(frozen=True, slots=True)
class ValueStatus:
    """The state of one key."""

    key: Key
    state: ValueState
    details: str = ""
    value: object | None = None
    derived_from: Key | None = None
    last_op: OpKind | None = None
    last_txn: int = 0
    error: OpError | None = None


@dataclass(frozen=True, slots=True)
class TxnRecord:
    """History entry of one transaction."""

    seq: int
    kind: TxnKind
    description: str
    started_at: float  # wall clock (time.time())
    duration: float
    values: tuple[tuple[Key, object | None], ...]
    planned: tuple[OpRecord, ...]
    executed: tuple[OpRecord, ...]
    errors: tuple[OpError, ...]
    dry_run: bool = False
    reverted: bool = False


@dataclass(frozen=True, slots=True)
class TxnResult:
    """What a caller gets back once its transaction was processed."""

    seq: int
    record: TxnRecord

    @property
    def ok(self) -> bool:
        """True when no operation failed."""
        return not self.record.errors

    @property
    def writes(self) -> int:
        """Southbound create/update/delete calls made."""
        return sum(1 for op in self.record.executed if not op.property and not op.skipped)


@dataclass(slots=True)
class KeyRevision:
    """One point in a key's timeline (read-only by convention, not frozen: one is made for
    every key a transaction changes; see OpRecord)."""

    txn_seq: int
    time: float
    state: ValueState
    value: object | None
    details: str = ""
