"""Which descriptor owns a key.

In: descriptors at registration. Out: key -> descriptor lookups, and the order in which
descriptors are retrieved (``retrieve_after`` first). Prefixes may overlap only when the
descriptors narrow them with ``owns``; a key claimed by two descriptors is an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from contivpy.scheduler.api import Descriptor, Key
from contivpy.scheduler.errors import RegistryError


class Registry:
    """Descriptors by name and by key prefix."""

    def __init__(self) -> None:
        self._by_name: dict[str, Descriptor] = {}
        self._cache: dict[Key, Descriptor | None] = {}
        #: prefix -> its descriptors, and the prefixes' lengths: a new key is looked up by its
        #: first characters of each length, not tested against every prefix (a transaction
        #: of 1,000 interfaces looks up 4,000 new keys; a pod ADD, about 15)
        self._by_prefix: dict[str, list[Descriptor]] = {}
        self._lengths: tuple[int, ...] = ()

    def register(self, descriptor: Descriptor) -> None:
        """Add a descriptor; its name must be unique and its prefix non-empty."""
        if not descriptor.name or not descriptor.key_prefix:
            raise RegistryError(f"descriptor {descriptor!r} needs a name and a key prefix")
        if descriptor.name in self._by_name:
            raise RegistryError(f"descriptor name {descriptor.name!r} is already registered")
        self._by_name[descriptor.name] = descriptor
        self._by_prefix.setdefault(descriptor.key_prefix, []).append(descriptor)
        self._lengths = tuple(sorted({len(prefix) for prefix in self._by_prefix}))
        self._cache.clear()

    def get(self, name: str) -> Descriptor | None:
        """The descriptor of that name."""
        return self._by_name.get(name)

    @property
    def descriptors(self) -> Sequence[Descriptor]:
        """All descriptors in registration order."""
        return tuple(self._by_name.values())

    def lookup(self, key: Key) -> Descriptor | None:
        """The one descriptor owning key, or None. Raises RegistryError when two claim it."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = [
            d
            for length in self._lengths
            if length <= len(key)  # a longer prefix's slice would be the key itself
            for d in self._by_prefix.get(key[:length], ())
            if d.owns(key)
        ]
        if len(found) > 1:
            names = ", ".join(d.name for d in found)
            raise RegistryError(f"key {key!r} is claimed by several descriptors: {names}")
        owner = found[0] if found else None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = owner
        return owner

    def retrieve_order(self) -> list[Descriptor]:
        """Descriptors ordered so that each comes after those in its ``retrieve_after``."""
        ordered: list[Descriptor] = []
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(d: Descriptor, chain: tuple[str, ...]) -> None:
            mark = state.get(d.name)
            if mark == 2:
                return
            if mark == 1:
                raise RegistryError("retrieve_after cycle: " + " -> ".join((*chain, d.name)))
            state[d.name] = 1
            for name in d.retrieve_after:
                first = self._by_name.get(name)
                if first is not None:
                    visit(first, (*chain, d.name))
            state[d.name] = 2
            ordered.append(d)

        for d in self._by_name.values():
            visit(d, ())
        return ordered
