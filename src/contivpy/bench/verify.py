"""Correctness checks that make a measured run worth its figures.

In: transaction results and the in-memory southbound after a run, with the desired state the
run applied. Out: ``Problems``, a list of human-readable failures (a transaction with errors,
wrong write counts, a southbound that does not hold what was desired). Any problem makes the
benchmark exit non-zero: a broken run measures nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from contivpy.bench.southbound import MemorySouthbound
from contivpy.bench.values import BridgeDomain, Interface
from contivpy.scheduler import Key, TxnResult

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

    def southbound(self, label: str, sb: MemorySouthbound, desired: Mapping[Key, object]) -> bool:
        """Check the southbound holds exactly the desired interfaces and bridge domains
        (bridge-domain members compared as sets)."""
        found = mismatches(sb, desired)
        if found:
            more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
            self.add(f"{label}: southbound differs from desired: {'; '.join(found[:_SHOWN])}{more}")
            return False
        return True


def mismatches(sb: MemorySouthbound, desired: Mapping[Key, object]) -> list[str]:
    """How the southbound differs from ``desired`` (empty when it holds exactly that)."""
    want_ifs = {v.name: v for v in desired.values() if isinstance(v, Interface)}
    want_bds = {v.name: v for v in desired.values() if isinstance(v, BridgeDomain)}
    have_ifs = sb.interfaces()
    have_bds = sb.bridge_domains()
    out: list[str] = []
    for name in sorted(want_ifs.keys() | have_ifs.keys()):
        want, have = want_ifs.get(name), have_ifs.get(name)
        if want != have:
            out.append(f"interface {name}: desired {want}, found {have}")
    for name in sorted(want_bds.keys() | have_bds.keys()):
        want_bd, have_bd = want_bds.get(name), have_bds.get(name)
        if want_bd is None or have_bd is None:
            out.append(f"bridge domain {name}: desired {want_bd}, found {have_bd}")
            continue
        if want_bd.settings() != have_bd.settings():
            out.append(f"bridge domain {name}: settings {have_bd.settings()} found")
        missing = set(want_bd.members) - set(have_bd.members)
        extra = set(have_bd.members) - set(want_bd.members)
        if missing or extra:
            out.append(
                f"bridge domain {name}: {len(missing)} member(s) missing, {len(extra)} extra"
            )
    return out
