"""Correctness checks that make a measured run worth its figures.

In: transaction results, and failures the suites' own checks found (``Problems.add``; e.g.
``sim_check``: a simulated VPP that does not hold what was desired). Out: ``Problems``, a
list of human-readable failures (a transaction with errors, wrong write counts, what the
checks found). Any problem makes the benchmark exit non-zero: a broken run measures nothing.
"""

from __future__ import annotations

from contivpy.scheduler import TxnResult

_SHOWN = 5  # mismatches named per check; the rest are counted


class Problems:
    """Failures found so far."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, text: str) -> None:
        """Record one failure."""
        self.items.append(text)

    def txn(self, label: str, result: TxnResult, *, writes: int | None = None) -> bool:
        """Check a transaction succeeded (and, when given, made exactly ``writes`` writes)."""
        ok = True
        if not result.ok:
            errors = result.record.errors
            shown = "; ".join(str(e) for e in errors[:_SHOWN])
            count = len(errors)
            self.add(f"{label}: transaction {result.seq} failed, {count} error(s): {shown}")
            ok = False
        if writes is not None and result.writes != writes:
            self.add(f"{label}: transaction {result.seq} made {result.writes} writes, not {writes}")
            ok = False
        return ok
