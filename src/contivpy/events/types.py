"""The contract between the event loop and the controllers: events, results, the protocol.

In: nothing (definitions; a leaf module: it imports nothing of the agent, only the CNI
request/result types). Out: the events producers push — the etcd watcher (DBResync,
KubeStateChange, RejectedObject), timers (HealingResync), the VPP connection
(DownstreamResync), the agent (Shutdown), the CNI bridge (AddPod, DeletePod) and controllers'
follow-ups (NodeUpdate) — with what the loop needs to process each: how (method), with which
transaction policy, in which handler order, and whether a producer waits for the result; the
``Controller`` protocol, and what a controller hands back (``UpdateResult``; a resync's
configuration, or a ``ResyncResult`` when it has something to say) and is handed
(``EventTxn`` in ``check_resync``).

How an event is processed is decided in one place, :func:`method_of` (``Event.method`` asks
it): a class says how its events are processed by default (``default_method``), and an event
whose method depends on its fields (a HealingResync after an error is a full resync, a
periodic one downstream) is decided there, so no consumer can read a different answer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeAlias, TypeVar

from contivpy.cni.types import CniRequest, CniResult
from contivpy.deviceplugin.memif import MemifGrant

# resource (e.g. "pod") -> key (relative to the reflector prefix) -> decoded model
KubeState: TypeAlias = Mapping[str, Mapping[str, object]]


class Method(enum.Enum):
    """How an event is processed."""

    FULL_RESYNC = "full-resync"  # controllers recompute everything; southbound refreshed
    DOWNSTREAM_RESYNC = "downstream-resync"  # no controllers; desired state re-applied
    UPDATE = "update"  # controllers add changes to one transaction


class TxnPolicy(enum.Enum):
    """What a failed transaction means for an update event."""

    BEST_EFFORT = "best-effort"  # apply what can be; a healing resync follows a failure
    BEST_EFFORT_IGNORE_ERRORS = "best-effort-ignore-errors"  # no healing either
    REVERT_ON_FAILURE = "revert-on-failure"  # undo the whole event (a CNI ADD)


class Event:
    """Base of every event. Subclasses set the class attributes and ``describe``."""

    name: ClassVar[str] = "Event"
    #: how events of the class are processed, unless :func:`method_of` decides otherwise;
    #: read ``method`` (never this) to know how one event is processed
    default_method: ClassVar[Method] = Method.UPDATE
    policy: ClassVar[TxnPolicy] = TxnPolicy.BEST_EFFORT
    blocking: ClassVar[bool] = False

    @property
    def method(self) -> Method:
        """How this event is processed (:func:`method_of`)."""
        return method_of(self)

    @property
    def reverse(self) -> bool:
        """True when handlers run in reverse order (removals)."""
        return False

    def describe(self) -> str:
        """One line saying what the event is about."""
        return self.name


@dataclass(frozen=True, eq=False)
class DBResync(Event):
    """The complete reflected state at one store revision. Always the loop's first event."""

    name: ClassVar[str] = "DBResync"
    default_method: ClassVar[Method] = Method.FULL_RESYNC
    state: KubeState
    revision: int
    reason: str = "start"

    def describe(self) -> str:
        total = sum(len(v) for v in self.state.values())
        return f"{total} object(s) at revision {self.revision} ({self.reason})"


@dataclass(frozen=True, eq=False)
class KubeStateChange(Event):
    """One reflected object created, changed or deleted (``new`` None)."""

    name: ClassVar[str] = "KubeStateChange"
    resource: str
    key: str
    prev: object | None
    new: object | None
    revision: int

    @property
    def reverse(self) -> bool:
        return self.new is None

    def describe(self) -> str:
        verb = "deleted" if self.new is None else ("created" if self.prev is None else "changed")
        return f"{self.resource} {self.key} {verb} at revision {self.revision}"


@dataclass(frozen=True, eq=False)
class RejectedObject(Event):
    """A stored object that could not be decoded. No controller sees it; it is recorded in
    the event history so an operator finds the key and the reason."""

    name: ClassVar[str] = "RejectedObject"
    policy: ClassVar[TxnPolicy] = TxnPolicy.BEST_EFFORT_IGNORE_ERRORS
    key: str
    error: str
    revision: int

    def describe(self) -> str:
        return f"{self.key} at revision {self.revision}: {self.error}"


@dataclass(frozen=True, eq=False)
class HealingResync(Event):
    """A resync that heals: after a failed event (full) or periodic (downstream); see
    :func:`method_of`."""

    name: ClassVar[str] = "HealingResync"
    default_method: ClassVar[Method] = Method.FULL_RESYNC
    after_error: bool = True
    error: str = ""

    @property
    def reverse(self) -> bool:
        return False

    def describe(self) -> str:
        return f"after error: {self.error}" if self.after_error else "periodic"


@dataclass(frozen=True, eq=False)
class DownstreamResync(Event):
    """Re-apply the desired state against a fresh read of the dataplane (VPP restarted,
    an operator asked for it, or periodic healing)."""

    name: ClassVar[str] = "DownstreamResync"
    default_method: ClassVar[Method] = Method.DOWNSTREAM_RESYNC
    reason: str = ""

    def describe(self) -> str:
        return self.reason or self.name


@dataclass(frozen=True, eq=False)
class Shutdown(Event):
    """The agent is stopping; controllers may release what they hold."""

    name: ClassVar[str] = "Shutdown"
    blocking: ClassVar[bool] = True
    policy: ClassVar[TxnPolicy] = TxnPolicy.BEST_EFFORT_IGNORE_ERRORS


def method_of(event: Event) -> Method:
    """How ``event`` is processed: the one place that decides it (healing depends on why)."""
    if isinstance(event, HealingResync):
        return Method.FULL_RESYNC if event.after_error else Method.DOWNSTREAM_RESYNC
    return type(event).default_method


# --- events of a pod's network lifecycle (pushed by the CNI bridge, which awaits them) ---


@dataclass(frozen=True, eq=False)
class AddPod(Event):
    """CNI ADD: wire the pod. Reverted on failure (the kubelet calls ADD again). ipnet's
    ``UpdateResult.pod`` is the CNI result; a controller refusing the pod raises a CniError
    whose code the kubelet gets. ``memif``: the pod's memif grant, looked up before the event
    is pushed (None: the pod was granted no memif device)."""

    name: ClassVar[str] = "AddPod"
    policy: ClassVar[TxnPolicy] = TxnPolicy.REVERT_ON_FAILURE
    blocking: ClassVar[bool] = True
    request: CniRequest
    memif: MemifGrant | None = None

    def describe(self) -> str:
        return f"pod {self.request.pod} container {self.request.container_id[:12]}"


@dataclass(frozen=True, eq=False)
class DeletePod(Event):
    """CNI DEL: unwire the pod (controllers run in reverse order). Errors are ignored: what is
    left is healed by resyncs."""

    name: ClassVar[str] = "DeletePod"
    policy: ClassVar[TxnPolicy] = TxnPolicy.BEST_EFFORT_IGNORE_ERRORS
    blocking: ClassVar[bool] = True
    request: CniRequest

    @property
    def reverse(self) -> bool:
        return True

    def describe(self) -> str:
        return f"pod {self.request.pod} container {self.request.container_id[:12]}"


@dataclass(frozen=True, eq=False)
class PodCustomIfUpdate(Event):
    """A local pod wired before its reflected annotations reached the agent has them now: its
    custom interfaces are wired (Contiv's PodCustomIfUpdate; a follow-up of podmanager).
    Reverted on failure: a bad annotation leaves the pod as it was, with the error recorded."""

    name: ClassVar[str] = "PodCustomIfUpdate"
    policy: ClassVar[TxnPolicy] = TxnPolicy.REVERT_ON_FAILURE
    namespace: str
    pod_name: str

    def describe(self) -> str:
        return f"pod {self.namespace}/{self.pod_name}: custom interfaces from its annotations"


# --- other nodes (a follow-up of nodesync; ipnet re-renders the mesh) ---


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What other controllers know of a node."""

    id: int
    name: str
    vpp_addresses: tuple[str, ...] = ()  # CIDR, the node's VPP main-interface addresses
    mgmt_addresses: tuple[str, ...] = ()  # InternalIP / ExternalIP of the Kubernetes node
    pod_cidr: str = ""


@dataclass(frozen=True, eq=False)
class NodeUpdate(Event):
    """A node's info changed (``new`` None: it left; ``prev`` None: it joined)."""

    name: ClassVar[str] = "NodeUpdate"
    node: str
    prev: NodeInfo | None
    new: NodeInfo | None

    def describe(self) -> str:
        verb = "left" if self.new is None else ("joined" if self.prev is None else "changed")
        return f"node {self.node} {verb}"


# --- what controllers hand back and are handed ---

#: desired-state changes: key -> new value, None deletes the key
Changes: TypeAlias = dict[str, object | None]
#: a complete desired configuration (a full resync's part of one controller)
Config: TypeAlias = dict[str, object]

UndoT = TypeVar("UndoT")


@dataclass(frozen=True, slots=True)
class UpdateResult(Generic[UndoT]):
    """What one controller did for one update event.

    ``change`` says it in one line (empty: nothing changed); ``changes`` are its desired-state
    changes, merged by the loop into the event's transaction in handler order;
    ``follow_ups`` are events processed next, before anything queued; ``undo`` is the
    controller's own token, handed back to its ``revert`` if the event is reverted; ``pod``
    is the CNI result of the pod an AddPod wired (set by the controller that renders it).
    """

    change: str = ""
    changes: Changes = field(default_factory=dict)
    follow_ups: tuple[Event, ...] = ()
    undo: UndoT | None = None
    pod: CniResult | None = None


@dataclass(frozen=True, slots=True)
class ResyncResult:
    """What one controller built in a full resync when it has something to say about it.

    ``config`` is its complete desired configuration (what a plain ``Config`` return is);
    ``change`` says in one line what the resync found, as ``UpdateResult.change`` does for an
    update (objects refused, or accepted again): the loop records it in the resync's event
    record (``ctl events``), so a finding is said by the event that made it.
    """

    config: Config
    change: str = ""


class EventTxn:
    """The desired-state changes of one event, merged from its controllers' results.

    ``get`` sees what the transaction sets, else the committed desired state (nothing in a
    full resync: it builds the whole state from scratch).
    """

    def __init__(self, committed: Callable[[str], object | None], *, resync: bool) -> None:
        self._committed = committed
        self.resync = resync
        self.values: Changes = {}

    def merge(self, changes: Mapping[str, object | None]) -> None:
        """Add a controller's changes (None deletes; a full resync may not delete: what it
        leaves out is removed)."""
        for key, value in changes.items():
            if value is None and self.resync:
                raise ValueError(f"delete of {key} in a resync; leave it out instead")
            self.values[key] = value

    def get(self, key: str) -> object | None:
        """The value as this transaction leaves it."""
        if key in self.values:
            return self.values[key]
        if self.resync:
            return None
        return self._committed(key)

    def __len__(self) -> int:
        return len(self.values)


class Controller(Protocol[UndoT]):
    """One node controller. Called in a fixed order (reverse for removals), so what one needs
    from an earlier one (ipnet: the pod's IP from ipam) is there when it is called.

    Every controller takes part in every full resync (``handles`` filters update events only:
    a full resync missing one controller's part would delete what that controller configured),
    and each may refuse the complete desired state a full resync built (``check_resync``).
    """

    @property
    def name(self) -> str:
        """Short name, shown in event records."""

    def handles(self, event: Event) -> bool:
        """Whether ``update`` is called for this update event. Not asked for resyncs: every
        controller takes part in every full resync, none in a downstream one."""

    async def resync(
        self, event: Event, state: KubeState, resync_count: int
    ) -> Config | ResyncResult:
        """Rebuild internal state from ``state``; return this controller's complete desired
        configuration (in a ``ResyncResult`` with the line for the event's record when it
        found something to say)."""

    def check_resync(self, txn: EventTxn) -> str:
        """After every controller's ``resync``: why the complete desired state in ``txn``
        must not be applied (empty when it may). A refusal keeps the dataplane as it is."""

    async def update(self, event: Event) -> UpdateResult[UndoT]:
        """Apply one change to internal state; return what it did. A failure raises (a
        CniError carries the CNI code an AddPod fails with)."""

    async def revert(self, event: Event, undo: UndoT | None) -> None:
        """Undo the internal-state effects of ``update`` for this event, given the ``undo``
        token that ``update`` returned (None when it returned none)."""

    def persist(self) -> None:
        """Put internal state that must survive a restart on disk (called by the loop after
        controllers ran, before the transactions are applied)."""
