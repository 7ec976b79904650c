"""Folding a transaction's puts and deletes into the desired side of the graph.

In: (key, value | None) changes. Out: nodes whose desired value, dependencies and derived
values are up to date, validated, and the set of keys the planner must re-evaluate.
Descriptor callbacks are user code: an exception in validate, dependencies or derived makes
the value INVALID with the error as the reason; it never escapes into the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

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


class DesiredState:
    """Writes desired values (and their derived values) into the graph."""

    def __init__(self, graph: Graph, registry: Registry) -> None:
        self._graph = graph
        self._registry = registry
        self.rejected: list[tuple[Key, str]] = []  # puts refused outright, for the txn record

    def put(
        self, key: Key, value: object | None, retry: RetryPolicy | None, affected: set[Key]
    ) -> None:
        """Set (or, with None, clear) the desired value of a base key."""
        graph = self._graph
        node = graph.get(key)
        if value is None:
            if node is None:
                return
            if node.base is not None:
                self.rejected.append((key, f"derived from {node.base}; delete that instead"))
                return
            self._clear(node, affected)
            return
        if node is None:
            try:
                descriptor = self._registry.lookup(key)
            except RegistryError as error:
                node = graph.add(key, None, None)
                self._set(node, value, retry, affected, invalid=str(error))
                return
            node = graph.add(key, descriptor, None)
        elif node.base is not None:
            # A derived key is decided by its base; a put cannot override it.
            self.rejected.append((key, f"derived from {node.base}; cannot be put directly"))
            return
        if node.descriptor is None:
            self._set(node, value, retry, affected, invalid=f"no descriptor registered for {key}")
            return
        self._set(node, value, retry, affected)

    def _set(
        self,
        node: Node,
        value: object,
        retry: RetryPolicy | None,
        affected: set[Key],
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
            self._put_derived(node, kv, retry, affected)

    def _put_derived(
        self, base: Node, kv: KV, retry: RetryPolicy | None, affected: set[Key]
    ) -> None:
        graph = self._graph
        child = graph.get(kv.key)
        if child is None:
            try:
                descriptor = self._registry.lookup(kv.key)
            except RegistryError as error:
                child = graph.add(kv.key, None, base.key)
                self._set(child, kv.value, retry, affected, invalid=str(error))
                return
            child = graph.add(kv.key, descriptor, base.key)
        elif child.base != base.key:
            owner = child.base or "a transaction"
            self.rejected.append((kv.key, f"derived by {base.key} but already owned by {owner}"))
            return
        self._set(child, kv.value, retry, affected, property_deps=kv.dependencies)

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
