"""Event types of the node agent's event loop.

In: nothing (definitions). Out: the events producers push — the etcd watcher (DBResync,
KubeStateChange, RejectedObject), timers (HealingResync), the VPP connection (VppRestart),
the agent (Shutdown), and later the CNI server and controllers' follow-ups — with what the loop
needs to process each: how (method), with which transaction policy, in which handler order,
and whether a producer waits for the result.

How an event is processed is decided in one place, :func:`method_of` (``Event.method`` asks
it): a class says how its events are processed by default (``default_method``), and an event
whose method depends on its fields (a HealingResync after an error is a full resync, a
periodic one downstream) is decided there, so no consumer can read a different answer.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

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
