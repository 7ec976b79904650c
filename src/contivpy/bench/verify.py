"""Correctness checks that make a measured run worth its figures.

In: transaction results and the in-memory southbound after a run, with the desired state the
run applied. Out: ``Problems``, a list of human-readable failures (a transaction with errors,
wrong write counts, a southbound that does not hold what was desired). Any problem makes the
benchmark exit non-zero: a broken run measures nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from contivpy.bench.southbound import Southbound
from contivpy.models.vpp_derived import BridgeDomainMember
from contivpy.models.vpp_interfaces import Interface
from contivpy.models.vpp_keys import BD_MEMBER_PREFIX, BRIDGE_DOMAIN_PREFIX, INTERFACE_PREFIX
from contivpy.models.vpp_l2 import BridgeDomain
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

    def southbound(self, label: str, sb: Southbound, desired: Mapping[Key, object]) -> bool:
        """Check the southbound holds exactly the desired interfaces and bridge domains
        (bridge-domain members compared as sets), and refused nothing."""
        found = [f"refused: {v}" for v in sb.violations] + mismatches(sb, desired)
        if found:
            more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
            self.add(f"{label}: southbound differs from desired: {'; '.join(found[:_SHOWN])}{more}")
            return False
        return True


def mismatches(sb: Southbound, desired: Mapping[Key, object]) -> list[str]:
    """How the southbound differs from ``desired`` (empty when it holds exactly that)."""
    want_ifs = {v.name: v for v in desired.values() if isinstance(v, Interface)}
    want_bds = {v.name: v for v in desired.values() if isinstance(v, BridgeDomain)}
    have_ifs = {v.name: v for v in sb.under(INTERFACE_PREFIX).values()}
    have_bds = {v.name: v for v in sb.under(BRIDGE_DOMAIN_PREFIX).values()}
    have_members: dict[str, set[str]] = {}
    for member in sb.under(BD_MEMBER_PREFIX).values():
        if isinstance(member, BridgeDomainMember):
            have_members.setdefault(member.bridge_domain, set()).add(member.interface)
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
        if replace(want_bd, interfaces=()) != replace(have_bd, interfaces=()):
            out.append(f"bridge domain {name}: settings {have_bd} found")
        wanted = {m.name for m in want_bd.interfaces}
        members = have_members.get(name, set())
        missing, extra = wanted - members, members - wanted
        if missing or extra:
            out.append(
                f"bridge domain {name}: {len(missing)} member(s) missing, {len(extra)} extra"
            )
    return out
