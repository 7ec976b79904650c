"""Scheduler test descriptors over the one in-memory southbound, and the values they manage.

The southbound is ``contivpy.bench.southbound.Southbound`` (re-exported here): strict where
a real dataplane is (it rejects a create whose dependency is absent, a delete of something
still depended on, a create of what exists and an update or delete of what does not), it
counts writes, can fail chosen operations (per key and op, a number of times, retriable or
not), can be slow, and can drift (objects changed or removed behind the scheduler's back).
Foreign objects (not ours) can be planted.

Values (``Item``): ``deps`` are exact keys, ``any_of`` one any-of dependency over prefixes,
``children`` derived values with their own descriptor (separate southbound objects that
depend on their base), ``props`` derived properties (no southbound object), ``fixed`` a field
whose change needs a re-create.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from contivpy.bench.southbound import (
    InjectedPermanent,
    InjectedRetriable,
    Southbound,
    SouthboundViolation,
)
from contivpy.scheduler import (
    KV,
    Dependency,
    DescriptorBase,
    InvalidValueError,
    Key,
    Origin,
    Retrieved,
)

__all__ = [
    "BASE",
    "CHILD",
    "PROP",
    "BaseDescriptor",
    "ChildDescriptor",
    "InjectedPermanent",
    "InjectedRetriable",
    "Item",
    "Southbound",
    "SouthboundViolation",
    "base_key",
    "child_key",
    "expected_southbound",
    "prop_key",
]

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

    @staticmethod
    def _sb_requires(value: Item) -> tuple[Key, ...]:
        # Properties have no southbound object; only the scheduler orders them.
        return tuple(d for d in value.deps if not d.startswith(PROP))

    async def create(self, key: Key, value: Item) -> int:
        return await self.sb.create(
            key, self._sb_value(value), self._sb_requires(value), value.any_of
        )

    async def update(self, key: Key, old: Item, new: Item, metadata: Any) -> int:
        return await self.sb.update(key, self._sb_value(new), self._sb_requires(new), new.any_of)

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
        base = self._base(key)
        return await self.sb.create(key, value, (base,), (), owner=base)

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
