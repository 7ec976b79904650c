"""What the scheduler did: transactions, per-key timelines, graph snapshots of the past.

In: a TxnRecord per processed transaction and a KeyRevision whenever a key's state or value
changes. Out: queries for the debug API (by sequence number or time range, per key, the
graph as it was at a time). Bounded by count and age; trimming is amortised O(1) per entry,
so keeping history never makes a transaction's cost grow with the size of the state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from contivpy.scheduler.api import Key, KeyRevision, TxnRecord, ValueState


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    """How much history to keep. Older or excess entries are dropped first-in first-out."""

    max_txns: int = 10_000
    max_revisions: int = 500_000
    max_age: float = 24 * 3600.0  # seconds


class History:
    """Bounded transaction records and key timelines."""

    def __init__(
        self, limits: HistoryLimits | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.limits = limits or HistoryLimits()
        self._clock = clock
        self._txns: deque[TxnRecord] = deque()
        self._timelines: dict[Key, deque[KeyRevision]] = {}
        self._order: deque[Key] = deque()  # key of every kept revision, oldest first

    # --- writing -------------------------------------------------------------------------

    def add_txn(self, record: TxnRecord) -> None:
        """Append a transaction record and trim."""
        self._txns.append(record)
        self._trim()

    def add_revision(self, key: Key, revision: KeyRevision) -> None:
        """Append a point to a key's timeline."""
        timeline = self._timelines.get(key)
        if timeline is None:
            timeline = self._timelines[key] = deque()
        timeline.append(revision)
        self._order.append(key)

    def _trim(self) -> None:
        limits = self.limits
        horizon = self._clock() - limits.max_age
        txns = self._txns
        while txns and (len(txns) > limits.max_txns or txns[0].started_at < horizon):
            txns.popleft()
        order = self._order
        timelines = self._timelines
        while order:
            key = order[0]
            timeline = timelines[key]
            if len(order) <= limits.max_revisions and timeline[0].time >= horizon:
                break
            order.popleft()
            timeline.popleft()
            if not timeline:
                del timelines[key]

    # --- reading -------------------------------------------------------------------------

    def txns(
        self, *, seq: int | None = None, since: float | None = None, until: float | None = None
    ) -> list[TxnRecord]:
        """Records, oldest first: one by sequence number, or those started in a time range."""
        if seq is not None:
            return [r for r in self._txns if r.seq == seq]
        return [
            r
            for r in self._txns
            if (since is None or r.started_at >= since) and (until is None or r.started_at <= until)
        ]

    def timeline(self, key: Key) -> list[KeyRevision]:
        """Every kept revision of one key, oldest first."""
        return list(self._timelines.get(key, ()))

    def snapshot(self, at: float) -> dict[Key, KeyRevision]:
        """Each key's last kept revision at time ``at`` (keys nonexistent then are left out).

        Reaches back only as far as history is kept.
        """
        found: dict[Key, KeyRevision] = {}
        for key, timeline in self._timelines.items():
            last = None
            for revision in timeline:
                if revision.time > at:
                    break
                last = revision
            if last is not None and last.state is not ValueState.NONEXISTENT:
                found[key] = last
        return found

    @property
    def sizes(self) -> tuple[int, int]:
        """(transactions kept, revisions kept)."""
        return len(self._txns), len(self._order)
