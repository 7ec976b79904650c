"""The one in-memory southbound the scheduler's tests run on (``tests/doubles/southbound``).

``contivpy bench scheduler`` no longer uses it: it measures the real VPP descriptors against
the simulator (``bench.sim_channel``).

In: calls from descriptors -- ``create``/``update`` of a key with its value and what it
requires southbound (exact keys, and at most one any-of group of key prefixes), ``delete`` of
a key -- and, from tests, fault injection, drift and foreign objects. Out: the objects held
(``objects``; ``state()`` without foreign ones), a count of writes, a log of them, the
violations seen, and the peak number of calls in flight. With ``latency`` > 0 every call first
sleeps that long (``asyncio.sleep``), as a round trip to VPP would; with 0 no call suspends.

It is strict where a real dataplane is: a create of something existing or before its
dependency, an update or delete of something missing, or a delete of something still depended
on is refused with ``SouthboundViolation`` (recorded in ``violations`` too). A scheduler test
that ran in the wrong order therefore fails instead of passing. An object created with an
``owner`` is derived from it and goes with it when the owner drifts away (``drift_remove``),
as a bridge domain's members or a base value's children do.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from contivpy.errors import PermanentError, RetriableError
from contivpy.scheduler import Key


class SouthboundViolation(AssertionError):
    """The scheduler asked for something a real dataplane would refuse."""


class InjectedRetriable(RetriableError):
    pass


class InjectedPermanent(PermanentError):
    pass


@dataclass
class _Obj:
    value: Any
    requires: tuple[Key, ...]  # exact keys
    requires_any: tuple[str, ...]  # prefixes (one any-of group)
    index: int
    foreign: bool = False
    owner: Key | None = None  # the object this one is derived from


@dataclass
class Southbound:
    """Objects by key, each with what it requires, and an optional per-call latency."""

    objects: dict[Key, _Obj] = field(default_factory=dict)
    writes: int = 0
    log: list[tuple[str, Key]] = field(default_factory=list)
    failures: dict[tuple[str, Key], list[bool]] = field(default_factory=dict)
    latency: float = 0.0
    violations: list[str] = field(default_factory=list)
    _index: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    in_flight: int = 0
    max_in_flight: int = 0

    # --- fault injection --------------------------------------------------------------------

    def fail(self, op: str, key: Key, times: int = 1, *, retriable: bool = True) -> None:
        """Make the next ``times`` calls of op ('create'|'update'|'delete') on key fail."""
        self.failures.setdefault((op, key), []).extend([retriable] * times)

    def _maybe_fail(self, op: str, key: Key) -> None:
        pending = self.failures.get((op, key))
        if pending:
            retriable = pending.pop(0)
            if retriable:
                raise InjectedRetriable(f"injected {op} failure on {key}")
            raise InjectedPermanent(f"injected permanent {op} failure on {key}")

    # --- drift ------------------------------------------------------------------------------

    def drift_remove(self, key: Key) -> None:
        """Remove an object behind the scheduler's back (with the objects derived from it)."""
        self.objects.pop(key, None)
        for other in [k for k, o in self.objects.items() if o.owner == key]:
            self.objects.pop(other, None)

    def drift_change(self, key: Key, value: Any) -> None:
        """Change an object's value behind the scheduler's back (its dependencies follow
        when the value carries them as ``deps`` and ``any_of``)."""
        obj = self.objects[key]
        obj.value = value
        deps, any_of = getattr(value, "deps", None), getattr(value, "any_of", None)
        if isinstance(deps, tuple) and isinstance(any_of, tuple):
            obj.requires, obj.requires_any = deps, any_of

    def plant_foreign(self, key: Key, value: Any) -> None:
        """An object somebody else created (not ours: the scheduler must leave it alone)."""
        self.objects[key] = _Obj(value, (), (), next(self._index), foreign=True)

    # --- checks -----------------------------------------------------------------------------

    def _satisfied(
        self,
        obj_requires: tuple[Key, ...],
        requires_any: tuple[str, ...],
        without: Key | None = None,
    ) -> str:
        for dep in obj_requires:
            if dep == without or dep not in self.objects:
                return dep
        if requires_any and not any(
            k != without and any(k.startswith(p) for p in requires_any) for k in self.objects
        ):
            return "any of " + ",".join(requires_any)
        return ""

    def _violation(self, text: str) -> None:
        self.violations.append(text)
        raise SouthboundViolation(text)

    async def _enter(self, op: str, key: Key) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        self._maybe_fail(op, key)

    # --- operations -------------------------------------------------------------------------

    async def create(
        self,
        key: Key,
        value: Any,
        requires: tuple[Key, ...],
        requires_any: tuple[str, ...],
        *,
        owner: Key | None = None,
    ) -> int:
        """Create ``key``; returns its index. ``owner``: the object it is derived from."""
        await self._enter("create", key)
        if key in self.objects:
            self._violation(f"create of existing {key}")
        missing = self._satisfied(requires, requires_any)
        if missing:
            self._violation(f"create of {key} before its dependency {missing}")
        index = next(self._index)
        self.objects[key] = _Obj(value, requires, requires_any, index, owner=owner)
        self.writes += 1
        self.log.append(("create", key))
        return index

    async def update(
        self, key: Key, value: Any, requires: tuple[Key, ...], requires_any: tuple[str, ...]
    ) -> int:
        """Change ``key`` in place; returns its index."""
        await self._enter("update", key)
        obj = self.objects.get(key)
        if obj is None:
            self._violation(f"update of missing {key}")
            raise AssertionError  # unreachable
        missing = self._satisfied(requires, requires_any)
        if missing:
            self._violation(f"update of {key} before its dependency {missing}")
        obj.value, obj.requires, obj.requires_any = value, requires, requires_any
        self.writes += 1
        self.log.append(("update", key))
        return obj.index

    async def delete(self, key: Key) -> None:
        """Delete ``key``, which nothing may still depend on."""
        await self._enter("delete", key)
        if key not in self.objects:
            self._violation(f"delete of missing {key}")
        for other, obj in self.objects.items():
            if other == key:
                continue
            if key in obj.requires:
                self._violation(f"delete of {key} while {other} depends on it")
            if (
                obj.requires_any
                and any(key.startswith(p) for p in obj.requires_any)
                and self._satisfied((), obj.requires_any, without=key)
            ):
                self._violation(f"delete of {key} while {other} depends on any of its prefix")
        del self.objects[key]
        self.writes += 1
        self.log.append(("delete", key))

    # --- views (no call, no latency: for checks) ---------------------------------------------

    def state(self) -> dict[Key, Any]:
        """Our objects (foreign ones left out) as key -> value."""
        return {k: o.value for k, o in self.objects.items() if not o.foreign}

    def under(self, prefix: str) -> dict[Key, Any]:
        """Our objects whose key starts with ``prefix``, as key -> value."""
        return {
            k: o.value for k, o in self.objects.items() if not o.foreign and k.startswith(prefix)
        }
