"""Reading the southbound back into the graph.

In: descriptors' ``retrieve`` results (what really exists, ours or not). Out: the graph's
southbound side (exists, applied value, applied dependencies and derived values, metadata,
origin) matching reality, and a ``Refreshed``: the keys whose southbound side changed (for
the planner), the configured keys no longer found (to be marked missing) and the descriptors
whose retrieve failed.

Descriptors run in ``retrieve_after`` order so metadata an earlier one records (an index) is
there for a later one. A descriptor without retrieve, or whose retrieve fails, is trusted as
applied (its keys keep what the graph believes). Derived values are not retrieved on their
own: they are re-derived from the retrieved base value, so a bridge domain found with two
members has exactly those two member values.

A value of ours the descriptor marks unreadable (``Retrieved.unreadable``) is recorded as found
with the reason kept on its node (the planner then leaves it, and what it stands on, as they
are) and logged as an error; obtained values are never touched anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from contivpy.scheduler.api import KV, Descriptor, Key, Origin, Retrieved, ValueState
from contivpy.scheduler.errors import RegistryError
from contivpy.scheduler.graph import Graph, Node
from contivpy.scheduler.registry import Registry

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Refreshed:
    """What one refresh found."""

    changed: set[Key] = field(default_factory=set)  # keys whose southbound side changed
    missing: list[Key] = field(default_factory=list)  # configured keys no longer found
    failures: list[tuple[str, str]] = field(default_factory=list)  # (descriptor, error)


class Refresher:
    """Runs retrieves and folds them into the graph."""

    def __init__(self, graph: Graph, registry: Registry) -> None:
        self._graph = graph
        self._registry = registry

    async def refresh(self, only: Iterable[str] | None = None) -> Refreshed:
        """Refresh every descriptor (or those named)."""
        wanted = None if only is None else set(only)
        result = Refreshed()
        for descriptor in self._registry.retrieve_order():
            if wanted is not None and descriptor.name not in wanted:
                continue
            if not descriptor.supports_retrieve:
                continue
            await self._refresh_one(descriptor, result)
        return result

    async def _refresh_one(self, descriptor: Descriptor, result: Refreshed) -> None:
        graph = self._graph
        owned = graph.base_keys(descriptor.name)
        correlate = {}
        for key in owned:
            node = graph.nodes[key]
            if node.desired is not None:
                correlate[key] = node.desired
        try:
            found = list(await descriptor.retrieve(correlate))
        except Exception as error:
            # Trust the graph for this descriptor rather than deleting or re-creating
            # everything it owns on a read error.
            log.warning("retrieve failed", descriptor=descriptor.name, error=repr(error))
            result.failures.append((descriptor.name, repr(error)))
            return
        seen: set[Key] = set()
        for item in found:
            existing = graph.get(item.key)
            if existing is None:
                node = graph.add(item.key, descriptor, None)
            elif existing.base is not None or existing.descriptor is not descriptor:
                log.warning(
                    "retrieved key not owned by this descriptor",
                    descriptor=descriptor.name,
                    key=item.key,
                )
                continue
            else:
                node = existing
            seen.add(item.key)
            self._found(node, item, result)
        for key in owned:
            gone = graph.nodes.get(key)
            if key not in seen and gone is not None and gone.exists:
                self._gone(gone, result)

    def _found(self, node: Node, item: Retrieved, result: Refreshed) -> None:
        graph = self._graph
        descriptor = node.descriptor
        assert descriptor is not None
        graph.touch(node)
        was = (node.exists, node.applied, node.metadata, node.unreadable)
        unreadable = item.unreadable if item.origin is Origin.NB else ""
        graph.mark_unreadable(node, unreadable)
        if unreadable:
            log.error(
                "value read back but not understood: left as found, never deleted or re-created",
                descriptor=descriptor.name,
                key=node.key,
                reason=unreadable,
            )
        node.exists = True
        node.applied = item.value
        node.metadata = item.metadata
        node.origin = item.origin
        derived: tuple[KV, ...] = ()
        if item.origin is Origin.NB:
            try:
                node.applied_deps = tuple(descriptor.dependencies(node.key, item.value))
                derived = tuple(descriptor.derived(node.key, item.value))
            except Exception as error:
                log.warning("retrieved value rejected", key=node.key, error=repr(error))
                node.applied_deps = ()
        else:
            node.applied_deps = ()  # obtained values are never checked for dependencies
        graph.reindex(node)
        if was != (True, item.value, item.metadata, unreadable):
            result.changed.add(node.key)
        self._derive_applied(node, derived, result)

    def _derive_applied(self, base: Node, derived: tuple[KV, ...], result: Refreshed) -> None:
        graph = self._graph
        changed = result.changed
        keys = {kv.key for kv in derived}
        for key in graph.children(base.key):
            if key not in keys:
                child = graph.get(key)
                if child is not None and child.exists and child.base == base.key:
                    self._gone(child, result)
        for kv in derived:
            key, value = kv.key, kv.value
            child = graph.get(key)
            if child is None:
                try:
                    descriptor = self._registry.lookup(key)
                except RegistryError as error:
                    log.warning("retrieved derived value unclaimed", key=key, error=str(error))
                    continue
                child = graph.add(key, descriptor, base.key)
            elif child.base != base.key:
                continue
            graph.touch(child)
            if not (child.exists and child.applied == value):
                changed.add(key)
            child.exists = True
            child.applied = value
            child.origin = base.origin
            grandchildren: tuple[KV, ...] = ()
            child_descriptor = child.descriptor
            if base.origin is Origin.SB:
                child.applied_deps = ()
            elif child_descriptor is None:
                child.applied_deps = kv.dependencies  # a property carries its own
            else:
                try:
                    child.applied_deps = tuple(child_descriptor.dependencies(key, value))
                    grandchildren = tuple(child_descriptor.derived(key, value))
                except Exception as error:
                    log.warning("retrieved derived value rejected", key=key, error=repr(error))
            graph.reindex(child)
            self._derive_applied(child, grandchildren, result)

    def _gone(self, node: Node, result: Refreshed) -> None:
        graph = self._graph
        graph.touch(node)
        for key in graph.children(node.key):
            child = graph.get(key)
            if child is not None and child.exists and child.base == node.key:
                self._gone(child, result)
        graph.mark_unreadable(node, "")
        node.exists = False
        node.applied = None
        node.applied_deps = ()
        node.metadata = None
        graph.reindex(node)
        result.changed.add(node.key)
        if node.state is ValueState.CONFIGURED:
            result.missing.append(node.key)
