"""The scheduler's graph: one node per key, with what is desired and what exists southbound.

In: mutations from the planner (desired side), the executor and refresh (southbound side).
Out: lookups the planner needs in O(1) or O(log n): who depends on a key (exact and any-of
prefix indexes), which keys start with a prefix, which base keys a descriptor owns.

A node keeps both sides apart: ``desired``/``deps``/``derived`` say what the controllers asked
for; ``exists``/``applied``/``applied_deps``/``metadata`` say what we believe is southbound.
Derived values are found from their base through the children index (``children``), which
follows the nodes themselves and so cannot drift from them. The dependents index covers the
union of desired and applied dependencies, so both "who will need this" (creates) and "who
needs this now" (deletes) are found.

A journal records the first version of every node a transaction touches, so a dry run or a
reverted transaction can put the graph back exactly as it was.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from contivpy.scheduler.api import (
    Dependency,
    Descriptor,
    Key,
    OpError,
    OpKind,
    Origin,
    RetryPolicy,
    ValueState,
)


@dataclass(slots=True)
class Node:
    """One key. Mutable, internal to the scheduler; callers see ValueStatus."""

    key: Key
    descriptor: Descriptor | None  # None: a property (derived, no southbound call)
    base: Key | None = None  # the base value this one is derived from
    # desired side
    desired: object | None = None  # None: not desired
    deps: tuple[Dependency, ...] = ()
    derived: tuple[Key, ...] = ()
    invalid: str = ""  # validation failure (names the field)
    retry: RetryPolicy | None = None  # of the transaction that set the desired value
    desired_rev: int = 0  # bumped on every desired change; stale retries are dropped
    # southbound side
    exists: bool = False
    applied: object | None = None
    applied_deps: tuple[Dependency, ...] = ()
    metadata: object = None
    origin: Origin = Origin.NB
    unreadable: str = ""  # why the last read did not understand it (never touched while set)
    # outcome
    state: ValueState = ValueState.NONEXISTENT
    details: str = ""
    error: OpError | None = None
    held: bool = False  # failed: not re-attempted until a retry, a new value or a resync
    attempts: int = 0  # failed attempts since the last success or new value
    last_op: OpKind | None = None
    last_txn: int = 0
    shown: object = None  # the value in the last timeline revision (identity compared)
    indexed: tuple[Dependency, ...] = field(default=(), repr=False)


class Graph:
    """All nodes plus the indexes over them."""

    def __init__(self) -> None:
        self.nodes: dict[Key, Node] = {}
        self._exact: dict[Key, set[Key]] = {}  # target key -> keys depending on it
        self._prefix: dict[str, set[Key]] = {}  # any-of prefix -> keys depending on it
        self._prefix_lengths: dict[int, int] = {}  # length -> number of prefixes of it
        self._by_descriptor: dict[str, set[Key]] = {}  # descriptor name -> its base keys
        self._children: dict[Key, set[Key]] = {}  # base key -> keys of its derived values
        self.unreadable: set[Key] = set()  # keys of nodes whose ``unreadable`` is set
        self._sorted: list[Key] = []  # sorted keys (may hold removed keys; filtered on read)
        self._unsorted: list[Key] = []  # added since the last sort
        self._stale = 0  # removed keys still in _sorted
        self._journal: dict[Key, Node | None] | None = None

    # --- journal -------------------------------------------------------------------------

    def begin_journal(self) -> None:
        """Record the pre-transaction version of every node touched from now on."""
        self._journal = {}

    def end_journal(self) -> None:
        """Keep every change made since begin_journal."""
        self._journal = None

    def touch(self, node: Node) -> None:
        """Call before mutating ``node``, so a rollback can restore it."""
        journal = self._journal
        if journal is not None and node.key not in journal:
            journal[node.key] = copy.copy(node)

    def rollback(self) -> None:
        """Undo every change since begin_journal (dry run, revert)."""
        journal = self._journal
        self._journal = None
        if journal is None:
            return
        for key, saved in journal.items():
            current = self.nodes.get(key)
            if current is not None:
                self._unindex(current)
                self._forget(current)
            if saved is not None:
                self._adopt(saved)

    # --- nodes ---------------------------------------------------------------------------

    def get(self, key: Key) -> Node | None:
        """The node of key, if any."""
        return self.nodes.get(key)

    def mark_unreadable(self, node: Node, reason: str) -> None:
        """Record why the last read did not understand ``node`` ("" when it did)."""
        if node.unreadable == reason:
            return
        self.touch(node)
        node.unreadable = reason
        if reason:
            self.unreadable.add(node.key)
        else:
            self.unreadable.discard(node.key)

    def add(self, key: Key, descriptor: Descriptor | None, base: Key | None) -> Node:
        """A new node (the key must not exist)."""
        node = Node(key=key, descriptor=descriptor, base=base)
        if self._journal is not None and key not in self._journal:
            self._journal[key] = None
        self._adopt(node)
        return node

    def remove(self, node: Node) -> None:
        """Drop a node that is neither desired nor southbound."""
        self.touch(node)
        self._unindex(node)
        self._forget(node)

    def _adopt(self, node: Node) -> None:
        self.nodes[node.key] = node
        if node.base is not None:
            self._children.setdefault(node.base, set()).add(node.key)
        elif node.descriptor is not None:
            self._by_descriptor.setdefault(node.descriptor.name, set()).add(node.key)
        if node.unreadable:
            self.unreadable.add(node.key)
        self._unsorted.append(node.key)
        indexed = node.indexed
        node.indexed = ()
        self._index(node, indexed)

    def _forget(self, node: Node) -> None:
        del self.nodes[node.key]
        self.unreadable.discard(node.key)
        if node.base is not None:
            siblings = self._children.get(node.base)
            if siblings is not None:
                siblings.discard(node.key)
                if not siblings:
                    del self._children[node.base]
        elif node.descriptor is not None:
            owned = self._by_descriptor.get(node.descriptor.name)
            if owned is not None:
                owned.discard(node.key)
        self._stale += 1

    def children(self, key: Key) -> tuple[Key, ...]:
        """Keys of the nodes derived from ``key`` (desired or southbound), sorted."""
        found = self._children.get(key)
        return tuple(sorted(found)) if found else ()

    def base_keys(self, descriptor_name: str) -> Iterable[Key]:
        """Base keys owned by a descriptor (a copy, safe to iterate while mutating)."""
        return tuple(self._by_descriptor.get(descriptor_name, ()))

    # --- dependency indexes ---------------------------------------------------------------

    def reindex(self, node: Node) -> None:
        """Bring the dependents index in line with node.deps and node.applied_deps."""
        wanted = node.deps if not node.applied_deps else union_deps(node.deps, node.applied_deps)
        if wanted == node.indexed:
            return
        self._unindex(node)
        self._index(node, wanted)

    def _index(self, node: Node, deps: tuple[Dependency, ...]) -> None:
        for dep in deps:
            if dep.key is not None:
                self._exact.setdefault(dep.key, set()).add(node.key)
            else:
                for prefix in dep.any_of:
                    holders = self._prefix.get(prefix)
                    if holders is None:
                        holders = self._prefix[prefix] = set()
                        n = len(prefix)
                        self._prefix_lengths[n] = self._prefix_lengths.get(n, 0) + 1
                    holders.add(node.key)
        node.indexed = deps

    def _unindex(self, node: Node) -> None:
        for dep in node.indexed:
            if dep.key is not None:
                holders = self._exact.get(dep.key)
                if holders is not None:
                    holders.discard(node.key)
                    if not holders:
                        del self._exact[dep.key]
            else:
                for prefix in dep.any_of:
                    holders = self._prefix.get(prefix)
                    if holders is not None:
                        holders.discard(node.key)
                        if not holders:
                            del self._prefix[prefix]
                            n = len(prefix)
                            left = self._prefix_lengths[n] - 1
                            if left:
                                self._prefix_lengths[n] = left
                            else:
                                del self._prefix_lengths[n]
        node.indexed = ()

    def dependents(self, key: Key) -> set[Key]:
        """Keys whose desired or applied dependencies could be satisfied by ``key``."""
        found: set[Key] = set()
        exact = self._exact.get(key)
        if exact:
            found |= exact
        prefixes = self._prefix
        for length in self._prefix_lengths:
            if length <= len(key):
                holders = prefixes.get(key[:length])
                if holders:
                    found |= holders
        return found

    # --- prefix queries ------------------------------------------------------------------

    def keys_with_prefix(self, prefix: str) -> Iterator[Key]:
        """Keys of nodes that start with prefix, in sorted order."""
        self._settle()
        keys = self._sorted
        nodes = self.nodes
        i = bisect.bisect_left(keys, prefix)
        previous = None
        while i < len(keys):
            key = keys[i]
            if not key.startswith(prefix):
                break
            if key != previous and key in nodes:
                yield key
            previous = key
            i += 1

    def any_with_prefix(self, prefix: str, test: Callable[[Key], bool]) -> bool:
        """Whether some key starting with prefix passes ``test``: keys_with_prefix without
        a generator, for the dependency checks that ask it of every op."""
        self._settle()
        keys = self._sorted
        nodes = self.nodes
        for i in range(bisect.bisect_left(keys, prefix), len(keys)):
            key = keys[i]
            if not key.startswith(prefix):
                return False
            if key in nodes and test(key):
                return True
        return False

    def _settle(self) -> None:
        """Merge keys added since the last query into the sorted list; drop removed ones."""
        if self._stale > 64 and self._stale * 4 > len(self._sorted):
            self._sorted = sorted(set(self.nodes))
            self._unsorted.clear()
            self._stale = 0
            return
        added = self._unsorted
        if not added:
            return
        if len(added) <= 32:
            for key in added:
                i = bisect.bisect_left(self._sorted, key)
                if i == len(self._sorted) or self._sorted[i] != key:
                    self._sorted.insert(i, key)
        else:
            # Timsort merges the two sorted runs in linear time.
            self._sorted.extend(sorted(added))
            self._sorted.sort()
            self._sorted = _dedup_sorted(self._sorted)
        added.clear()


def union_deps(a: tuple[Dependency, ...], b: tuple[Dependency, ...]) -> tuple[Dependency, ...]:
    """Both sets of dependencies, each once (a first)."""
    if a == b:
        return a
    return a + tuple(d for d in b if d not in a)


def _dedup_sorted(keys: list[Key]) -> list[Key]:
    out: list[Key] = []
    previous = None
    for key in keys:
        if key != previous:
            out.append(key)
            previous = key
    return out
