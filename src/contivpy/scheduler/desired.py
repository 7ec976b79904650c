"""Folding a transaction's puts and deletes into the desired side of the graph.

In: (key, value | None) changes. Out: nodes whose desired value, dependencies and derived
values are up to date, validated, and a ``Folded``: the keys the planner must re-evaluate and
the changes refused outright (a put or delete of a derived key, a derived key two bases
claim), which are errors of the transaction. Descriptor callbacks are user code: an
exception in validate, dependencies or derived makes the value INVALID with the error as the
reason; it never escapes into the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog

from contivpy.scheduler.api import (
    KV,
    Dependency,
    Descriptor,
    InvalidValueError,
    Key,
    RetryPolicy,
)
from contivpy.scheduler.errors import RegistryError
from contivpy.scheduler.graph import Graph, Node
from contivpy.scheduler.registry import Registry

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A change refused outright, and why."""

    key: Key
    reason: str


@dataclass(slots=True)
class Folded:
    """What folding a transaction's changes gave."""

    affected: set[Key] = field(default_factory=set)  # keys the planner must re-evaluate
    rejected: list[Rejection] = field(default_factory=list)


class DesiredState:
    """Writes desired values (and their derived values) into the graph."""

    def __init__(self, graph: Graph, registry: Registry) -> None:
        self._graph = graph
        self._registry = registry

    def put(
        self, changes: Iterable[tuple[Key, object | None]], retry: RetryPolicy | None
    ) -> Folded:
        """Set (or, with None, clear) the desired value of each base key, in order."""
        affected: set[Key] = set()
        rejected: list[Rejection] = []
        for key, value in changes:
            self._put(key, value, retry, affected, rejected)
        return Folded(affected, rejected)

    def _put(
        self,
        key: Key,
        value: object | None,
        retry: RetryPolicy | None,
        affected: set[Key],
        rejected: list[Rejection],
    ) -> None:
        graph = self._graph
        node = graph.get(key)
        if value is None:
            if node is None:
                return
            if node.base is not None:
                rejected.append(Rejection(key, f"derived from {node.base}; delete that instead"))
                return
            self._clear(node, affected)
            return
        if node is None:
            try:
                descriptor = self._registry.lookup(key)
            except RegistryError as error:
                node = graph.add(key, None, None)
                self._set(node, value, retry, affected, rejected, invalid=str(error))
                return
            node = graph.add(key, descriptor, None)
        elif node.base is not None:
            # A derived key is decided by its base; a put cannot override it.
            rejected.append(Rejection(key, f"derived from {node.base}; cannot be put directly"))
            return
        if node.descriptor is None:
            invalid = f"no descriptor registered for {key}"
            self._set(node, value, retry, affected, rejected, invalid=invalid)
            return
        self._set(node, value, retry, affected, rejected)

    def _set(
        self,
        node: Node,
        value: object,
        retry: RetryPolicy | None,
        affected: set[Key],
        rejected: list[Rejection],
        *,
        invalid: str = "",
        property_deps: tuple[Dependency, ...] = (),
    ) -> None:
        graph = self._graph
        unchanged = (
            node.desired is not None
            and (node.desired is value or node.desired == value)
            and not node.invalid
            and not invalid
        )
        graph.touch(node)
        node.retry = retry
        if unchanged:
            # Same value again: nothing to recompute, but a failed value is re-attempted.
            if node.held:
                node.held = False
                node.attempts = 0
            affected.add(node.key)
            return
        deps: tuple[Dependency, ...] = ()
        derived: Sequence[KV] = ()
        descriptor = node.descriptor
        if not invalid and descriptor is not None:
            invalid = _validate(descriptor, node.key, value)
            if not invalid:
                try:
                    deps = tuple(descriptor.dependencies(node.key, value))
                    derived = tuple(descriptor.derived(node.key, value))
                except Exception as error:
                    invalid = f"{descriptor.name}: cannot compute dependencies: {error!r}"
                    deps, derived = (), ()
        elif descriptor is None and node.base is not None:
            deps = property_deps
        new_derived = tuple(kv.key for kv in derived)
        for old in node.derived:
            if old not in new_derived:
                child = graph.get(old)
                if child is not None and child.base == node.key:
                    self._clear(child, affected)
        node.desired = value
        node.deps = deps
        node.derived = new_derived
        node.invalid = invalid
        node.desired_rev += 1
        node.held = False
        node.attempts = 0
        graph.reindex(node)
        affected.add(node.key)
        for kv in derived:
            self._put_derived(node, kv, retry, affected, rejected)

    def _put_derived(
        self,
        base: Node,
        kv: KV,
        retry: RetryPolicy | None,
        affected: set[Key],
        rejected: list[Rejection],
    ) -> None:
        graph = self._graph
        child = graph.get(kv.key)
        if child is None:
            try:
                descriptor = self._registry.lookup(kv.key)
            except RegistryError as error:
                child = graph.add(kv.key, None, base.key)
                self._set(child, kv.value, retry, affected, rejected, invalid=str(error))
                return
            child = graph.add(kv.key, descriptor, base.key)
        elif child.base != base.key:
            owner = child.base or "a transaction"
            why = f"derived by {base.key} but already owned by {owner}"
            rejected.append(Rejection(kv.key, why))
            return
        self._set(child, kv.value, retry, affected, rejected, property_deps=kv.dependencies)

    def _clear(self, node: Node, affected: set[Key]) -> None:
        graph = self._graph
        graph.touch(node)
        for key in node.derived:
            child = graph.get(key)
            if child is not None and child.base == node.key:
                self._clear(child, affected)
        if node.desired is not None or node.invalid:
            node.desired_rev += 1
        node.desired = None
        node.deps = ()
        node.derived = ()
        node.invalid = ""
        node.held = False
        node.attempts = 0
        graph.reindex(node)
        affected.add(node.key)


def _validate(descriptor: Descriptor, key: Key, value: object) -> str:
    try:
        descriptor.validate(key, value)
    except InvalidValueError as error:
        return f"{error.field_name}: {error.message}"
    except Exception as error:
        log.warning("validate raised", descriptor=descriptor.name, key=key, error=repr(error))
        return f"{descriptor.name}: validation failed: {error!r}"
    return ""
