"""Defaults for a node controller (the contract itself is in events/types.py).

In: nothing. Out: ``ControllerBase``, which handles every update event, contributes nothing
to resyncs, changes nothing, refuses no resync, reverts nothing and persists nothing; a
controller overrides what it does. And helpers controllers share: the reflected objects of
one kind in a resync's state (``reflected``) and kept up to date from its changes
(``fold_change``), the changes between two configurations (``changes_between``), desired
values changed key by key with what each held before the event (``set_tracked``,
``tracked_changes``, ``restore``), which objects' problems differ (``changed_problems``), and
the lines an event's record says about objects refused or accepted again (``problem_lines``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

import structlog

from contivpy.events.types import (
    Changes,
    Config,
    Event,
    EventTxn,
    KubeState,
    KubeStateChange,
    ResyncResult,
    UndoT,
    UpdateResult,
)

M = TypeVar("M")

log = structlog.get_logger(__name__)


class ControllerBase(Generic[UndoT]):
    """Defaults of the ``Controller`` protocol; ``UndoT`` is the controller's undo token."""

    name = "controller"

    def handles(self, event: Event) -> bool:
        return True

    async def resync(
        self, event: Event, state: KubeState, resync_count: int
    ) -> Config | ResyncResult:
        return {}

    def check_resync(self, txn: EventTxn) -> str:
        return ""

    async def update(self, event: Event) -> UpdateResult[UndoT]:
        return UpdateResult()

    async def revert(self, event: Event, undo: UndoT | None) -> None:
        return None

    def persist(self) -> None:
        return None


def changes_between(before: Config, after: Config) -> Changes:
    """What turns ``before`` into ``after``: deletes of the keys gone, puts of the values
    new or different (unchanged values are left out, so nothing rewrites them)."""
    changes: Changes = dict.fromkeys(sorted(before.keys() - after.keys()))
    changes.update({key: value for key, value in after.items() if before.get(key) != value})
    return changes


def set_tracked(
    desired: Config, before: dict[str, object | None], key: str, value: object | None
) -> None:
    """Change one desired value (None: delete it), remembering in ``before`` what the key held
    before the event under way (only its first change counts)."""
    if key not in before:
        before[key] = desired.get(key)
    if value is None:
        desired.pop(key, None)
    else:
        desired[key] = value


def tracked_changes(desired: Config, before: Mapping[str, object | None]) -> Changes:
    """The event's changes: the keys ``set_tracked`` touched whose value differs now, in key
    order (a key set and set back is no change)."""
    return {key: desired.get(key) for key, old in sorted(before.items()) if old != desired.get(key)}


def restore(desired: Config, before: Mapping[str, object | None]) -> None:
    """Undo an event's changes to ``desired`` from what ``set_tracked`` remembered."""
    for key, value in before.items():
        if value is None:
            desired.pop(key, None)
        else:
            desired[key] = value


def changed_problems(
    before: Mapping[str, tuple[str, ...]], after: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The objects whose problems differ between ``before`` and ``after``, with their problems
    now (empty: accepted again)."""
    return {
        object_id: after.get(object_id, ())
        for object_id in before.keys() | after.keys()
        if before.get(object_id) != after.get(object_id)
    }


def reflected(state: KubeState, resource: str, kind: type[M]) -> dict[str, M]:
    """The reflected objects of ``resource`` in a resync's state, by key (others skipped)."""
    return {key: model for key, model in state.get(resource, {}).items() if isinstance(model, kind)}


def fold_change(models: dict[str, M], event: KubeStateChange, kind: type[M]) -> None:
    """Keep ``models`` (by key) current with one change of their resource."""
    if isinstance(event.new, kind):
        models[event.key] = event.new
    else:
        models.pop(event.key, None)


def problem_lines(kind: str, problems: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Log the ``kind`` objects (by id) whose problems changed, and return the lines the
    event's record (``ctl events``) says about them: what refused one, or that it is accepted
    again (no problems any more)."""
    lines = []
    for object_id, found in sorted(problems.items()):
        if found:
            log.warning(f"{kind} refused", object=object_id, problems=list(found))
            lines.append("refused: " + "; ".join(found))
        else:
            log.info(f"{kind} accepted again", object=object_id)
            lines.append(f"{kind} {object_id} accepted")
    return lines
