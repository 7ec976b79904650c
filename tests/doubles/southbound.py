"""A southbound test double for the scheduler, and descriptors over it.

The double is strict where a real dataplane is: it rejects a create whose dependency is
absent, a delete of something still depended on, a create of what exists and an update or
delete of what does not. It counts writes, can fail chosen operations (per key and op, a
number of times, retriable or not), can be slow, and can drift (objects changed or removed
behind the scheduler's back). Foreign objects (not ours) can be planted.

Values (``Item``): ``deps`` are exact keys, ``any_of`` one any-of dependency over prefixes,
``children`` derived values with their own descriptor (separate southbound objects that
depend on their base), ``props`` derived properties (no southbound object), ``fixed`` a field
whose change needs a re-create.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from contivpy.errors import PermanentError, RetriableError
from contivpy.scheduler import (
    KV,
    Dependency,
    DescriptorBase,
    InvalidValueError,
    Key,
    Origin,
    Retrieved,
)

BASE = "t/base/"
CHILD = "t/child/"
PROP = "t/prop/"


@dataclass(frozen=True)
class Item:
    data: str = ""
    deps: tuple[Key, ...] = ()
    any_of: tuple[str, ...] = ()
    children: tuple[tuple[str, str], ...] = ()  # (child name, data)
    props: tuple[str, ...] = ()
    fixed: str = ""


def base_key(name: str) -> Key:
    return BASE + name


def child_key(base: Key, child: str) -> Key:
    return CHILD + base.removeprefix(BASE) + "/" + child


def prop_key(base: Key, prop: str) -> Key:
    return PROP + base.removeprefix(BASE) + "/" + prop


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


@dataclass
class Southbound:
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
        """Remove an object behind the scheduler's back (with what depends on it as a base)."""
        self.objects.pop(key, None)
        for other in [
            k for k, o in self.objects.items() if key in o.requires and k.startswith(CHILD)
        ]:
            self.objects.pop(other, None)

    def drift_change(self, key: Key, value: Any) -> None:
        """Change an object's value behind the scheduler's back (its dependencies follow)."""
        obj = self.objects[key]
        obj.value = value
        if isinstance(value, Item):
            obj.requires, obj.requires_any = value.deps, value.any_of

    def plant_foreign(self, key: Key, value: Item) -> None:
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
            if dep.startswith(PROP):
                continue  # properties have no southbound object; only the scheduler orders them
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
        self, key: Key, value: Any, requires: tuple[Key, ...], requires_any: tuple[str, ...]
    ) -> int:
        await self._enter("create", key)
        if key in self.objects:
            self._violation(f"create of existing {key}")
        missing = self._satisfied(requires, requires_any)
        if missing:
            self._violation(f"create of {key} before its dependency {missing}")
        index = next(self._index)
        self.objects[key] = _Obj(value, requires, requires_any, index)
        self.writes += 1
        self.log.append(("create", key))
        return index

    async def update(
        self, key: Key, value: Any, requires: tuple[Key, ...], requires_any: tuple[str, ...]
    ) -> int:
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

    # --- views ------------------------------------------------------------------------------

    def state(self) -> dict[Key, Any]:
        """Our objects (foreign ones left out) as key -> value."""
        return {k: o.value for k, o in self.objects.items() if not o.foreign}


class BaseDescriptor(DescriptorBase):
    """Descriptor of ``Item`` values under t/base/."""

    name = "test-base"
    key_prefix = BASE

    def __init__(self, sb: Southbound) -> None:
        self.sb = sb

    def validate(self, key: Key, value: Any) -> None:
        if not isinstance(value, Item):
            raise InvalidValueError("value", f"expected Item, got {type(value).__name__}")
        if value.data == "bad":
            raise InvalidValueError("data", "'bad' is not allowed")

    def dependencies(self, key: Key, value: Item) -> Sequence[Dependency]:
        deps = [Dependency(f"needs {d}", key=d) for d in value.deps]
        if value.any_of:
            deps.append(Dependency("needs any", any_of=value.any_of))
        return deps

    def derived(self, key: Key, value: Item) -> Sequence[KV]:
        kvs = [KV(child_key(key, name), data) for name, data in value.children]
        kvs.extend(KV(prop_key(key, p), True) for p in value.props)
        return kvs

    def equivalent(self, key: Key, old: Any, new: Any) -> bool:
        # Children are derived values with their own lifecycle: not part of the base's state.
        if isinstance(old, Item) and isinstance(new, Item):
            return replace(old, children=()) == replace(new, children=())
        return bool(old == new)

    def needs_recreate(self, key: Key, old: Item, new: Item) -> bool:
        return old.fixed != new.fixed

    @staticmethod
    def _sb_value(value: Item) -> Item:
        # Children live southbound as their own objects; the base object holds the rest.
        return replace(value, children=())

    async def create(self, key: Key, value: Item) -> int:
        return await self.sb.create(key, self._sb_value(value), value.deps, value.any_of)

    async def update(self, key: Key, old: Item, new: Item, metadata: Any) -> int:
        return await self.sb.update(key, self._sb_value(new), new.deps, new.any_of)

    async def delete(self, key: Key, value: Item, metadata: Any) -> None:
        await self.sb.delete(key)

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        found = []
        for key, obj in self.sb.objects.items():
            if not key.startswith(BASE):
                continue
            prefix = CHILD + key.removeprefix(BASE) + "/"
            children = tuple(
                sorted(
                    (k.removeprefix(prefix), o.value)
                    for k, o in self.sb.objects.items()
                    if k.startswith(prefix)
                )
            )
            # Children are reported in the order the desired value lists them, when known.
            wanted = correlate.get(key)
            if isinstance(wanted, Item):
                order = {name: i for i, (name, _) in enumerate(wanted.children)}
                children = tuple(sorted(children, key=lambda c: (order.get(c[0], 1 << 30), c[0])))
            value = replace(obj.value, children=children)
            origin = Origin.SB if obj.foreign else Origin.NB
            found.append(Retrieved(key, value, obj.index, origin))
        return found


class ChildDescriptor(DescriptorBase):
    """Derived children: southbound objects that depend on their base."""

    name = "test-child"
    key_prefix = CHILD

    def __init__(self, sb: Southbound) -> None:
        self.sb = sb

    @staticmethod
    def _base(key: Key) -> Key:
        return BASE + key.removeprefix(CHILD).rsplit("/", 1)[0]

    async def create(self, key: Key, value: Any) -> int:
        return await self.sb.create(key, value, (self._base(key),), ())

    async def update(self, key: Key, old: Any, new: Any, metadata: Any) -> int:
        return await self.sb.update(key, new, (self._base(key),), ())

    async def delete(self, key: Key, value: Any, metadata: Any) -> None:
        await self.sb.delete(key)


def expected_southbound(desired: Mapping[Key, Item]) -> dict[Key, Any]:
    """The southbound a desired state should produce, given every dependency is met.

    Only values whose dependencies are (transitively) satisfiable appear.
    """
    present: dict[Key, Item] = {}
    changed = True
    while changed:
        changed = False
        for key, item in desired.items():
            if key in present or item.data == "bad":
                continue
            if all(d in present for d in item.deps) and (
                not item.any_of or any(k.startswith(p) for k in present for p in item.any_of)
            ):
                present[key] = item
                changed = True
    out: dict[Key, Any] = {}
    for key, item in present.items():
        out[key] = replace(item, children=())
        for name, data in item.children:
            out[child_key(key, name)] = data
    return out
