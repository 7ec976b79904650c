"""What a controller is, and the transaction it writes into.

In: events from the loop (with the reflected Kubernetes state for resyncs). Out: puts and
deletes of desired-state keys in an ``EventTxn``; a one-line description of what changed.
A controller keeps internal state (e.g. allocated IPs); ``revert`` undoes what ``update`` did
to it when the event's transaction is reverted.

Every controller takes part in every full resync (``handles`` filters update events only: a
full resync missing one controller's part would delete what that controller configured), and
each may refuse the complete desired state a full resync built (``check_resync``), e.g. one
without the node's base configuration while pods are wired on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from contivpy.events.types import Event, KubeState


class EventTxn:
    """The desired-state changes of one event, shared by all controllers handling it.

    ``get`` sees what earlier controllers put in this transaction, else the committed desired
    state, so controllers can edit shared values.
    """

    def __init__(self, committed: Callable[[str], object | None], *, resync: bool) -> None:
        self._committed = committed
        self.resync = resync
        self.values: dict[str, object | None] = {}

    def put(self, key: str, value: object) -> None:
        """Set a desired value."""
        if value is None:
            raise ValueError(f"put of None for {key}; use delete")
        self.values[key] = value

    def delete(self, key: str) -> None:
        """Remove a desired value (not needed in a resync: what is not put is removed)."""
        if self.resync:
            raise ValueError(f"delete of {key} in a resync transaction; leave it out instead")
        self.values[key] = None

    def get(self, key: str) -> object | None:
        """The value as this transaction leaves it."""
        if key in self.values:
            return self.values[key]
        if self.resync:
            return None  # a resync builds the whole state from scratch
        return self._committed(key)

    def __len__(self) -> int:
        return len(self.values)


class Controller(Protocol):
    """One node controller. Called in a fixed order (reverse for removals)."""

    @property
    def name(self) -> str:
        """Short name, shown in event records."""

    def handles(self, event: Event) -> bool:
        """Whether ``update`` is called for this update event. Not asked for resyncs: every
        controller takes part in every full resync, none in a downstream one."""

    async def resync(
        self, event: Event, state: KubeState, txn: EventTxn, resync_count: int
    ) -> None:
        """Rebuild internal state from ``state`` and put the complete desired config."""

    def check_resync(self, txn: EventTxn) -> str:
        """After every controller's ``resync``: why the complete desired state in ``txn``
        must not be applied (empty when it may). A refusal keeps the dataplane as it is."""

    async def update(self, event: Event, txn: EventTxn) -> str:
        """Apply one change; return what changed (empty when nothing)."""

    async def revert(self, event: Event) -> None:
        """Undo the internal-state effects of ``update`` for this event."""

    def persist(self) -> None:
        """Put internal state that must survive a restart on disk (called by the loop after
        controllers ran, before the transactions are applied)."""


class ControllerBase:
    """Defaults: handles everything, contributes nothing, reverts nothing."""

    name = "controller"

    def handles(self, event: Event) -> bool:
        return True

    async def resync(
        self, event: Event, state: KubeState, txn: EventTxn, resync_count: int
    ) -> None:
        return None

    def check_resync(self, txn: EventTxn) -> str:
        return ""

    async def update(self, event: Event, txn: EventTxn) -> str:
        return ""

    async def revert(self, event: Event) -> None:
        return None

    def persist(self) -> None:
        return None


def state_of(state: KubeState, resource: str) -> Mapping[str, object]:
    """The objects of one resource (empty when none)."""
    return state.get(resource, {})
