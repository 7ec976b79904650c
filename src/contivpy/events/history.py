"""Event history: what the event loop processed, for operators and the debug API.

In: one EventRecord per processed event from the loop. Out: bounded, queryable records
(by sequence number or time), oldest first. Bounded by count and age like the scheduler's
transaction history, trimmed in amortised O(1) per record.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One processed event."""

    seq: int
    name: str  # e.g. "DBResync", "KubeStateChange", "AddPod"
    description: str  # what the event was about (a key, a pod, a revision)
    handlers: tuple[str, ...]  # controllers that handled it, in call order
    changes: tuple[str, ...]  # one line per controller that changed something
    txn_seq: int | None  # the scheduler transaction it produced, if any
    started_at: float  # wall clock
    duration: float  # seconds
    error: str = ""  # empty on success
    blocking: bool = False  # a caller awaited the result (e.g. a CNI request)


@dataclass(frozen=True, slots=True)
class EventHistoryLimits:
    """How much event history to keep."""

    max_events: int = 10_000
    max_age: float = 24 * 3600.0


class EventHistory:
    """Bounded list of EventRecords."""

    def __init__(
        self, limits: EventHistoryLimits | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits = limits or EventHistoryLimits()
        self._clock = clock
        self._records: deque[EventRecord] = deque()

    def add(self, record: EventRecord) -> None:
        """Append and trim."""
        self._records.append(record)
        horizon = self._clock() - self.limits.max_age
        records = self._records
        while records and (
            len(records) > self.limits.max_events or records[0].started_at < horizon
        ):
            records.popleft()

    def records(
        self, *, since_seq: int | None = None, since: float | None = None
    ) -> list[EventRecord]:
        """Records, oldest first, optionally those after a sequence number or a time."""
        return [
            r
            for r in self._records
            if (since_seq is None or r.seq > since_seq) and (since is None or r.started_at >= since)
        ]

    def __len__(self) -> int:
        return len(self._records)
