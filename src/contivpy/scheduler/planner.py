"""From the graph to an ordered plan: which keys must be created, updated, re-created, deleted.

In: the graph (desired and southbound sides) and the keys a transaction affected.
Out: a ``Plan``: phase 1 (deletes, dependents before what they depend on) and phase 2
(creates and updates, dependencies first), each op knowing its predecessors, so the executor
can run independent ops concurrently without ever reordering dependent ones.

How (cost follows the change, not the size of the state):
1. *Target*: a worklist over the affected keys decides which keys should exist afterwards.
   A key should exist when it is desired, valid, not held after a failure, its base (for a
   derived value) should exist and every dependency is met by a key that should exist.
   Only when a key's answer flips are its dependents (from the graph's indexes) re-examined.
2. *Ops*: compare each examined key's target with what exists southbound.
3. *Bounce*: a key kept in place whose current dependency is deleted in phase 1 (a
   re-created dependency, an any-of switching to another target, an update that drops a
   dependency) is re-created itself; this cascades.
4. *Order*: phase 1 edges follow current (applied) dependencies, phase 2 edges the new ones.
Deletes run before creates (as the anchor's delete-first buckets do), which also keeps
implicit southbound conflicts (an address moving between interfaces) out of the way.

Unreadable values (read back but not understood, see ``Retrieved.unreadable``) are *frozen*:
never deleted, re-created or updated, and neither are the values derived from them (read with
them) nor what they stand on (their base, the values meeting their applied dependencies or, for
the unreadable value itself, its desired ones), so nothing is pulled from under them. A frozen
value counts as existing for its dependents. Each op the plan would have made on a frozen key
is left out and listed in ``Plan.refused``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from contivpy.scheduler.api import Dependency, Key, OpError, OpKind, Origin
from contivpy.scheduler.graph import Graph, Node, union_deps

log = structlog.get_logger(__name__)


@dataclass(slots=True, eq=False)
class PlannedOp:
    """One southbound operation within a plan, with its place in the order."""

    node: Node
    kind: OpKind
    phase: int  # 1: the delete side, 2: the create/update side
    recreate: bool = False
    revert: bool = False  # the undo of an op that completed (see revert.py)
    prev_value: object | None = None
    new_value: object | None = None
    succs: list[PlannedOp] = field(default_factory=list)
    preds: int = 0
    # outcome, filled by the executor
    ran: bool = False
    error: OpError | None = None
    skipped: str = ""
    started: float = 0.0
    duration: float = 0.0

    @property
    def key(self) -> Key:
        """The key operated on."""
        return self.node.key

    @property
    def is_property(self) -> bool:
        """True when no southbound call is made (a property value)."""
        return self.node.descriptor is None


@dataclass(frozen=True, slots=True)
class Refused:
    """An op the plan left out because its key is frozen, and why the key is frozen."""

    key: Key
    op: OpKind
    reason: str


@dataclass(slots=True)
class Plan:
    """Ops in two phases, plus every key whose state must be settled afterwards.

    An inverse plan (revert.py) has its undo ops in ``phase1``, chained one after another.
    """

    phase1: list[PlannedOp]
    phase2: list[PlannedOp]
    examined: list[Key]
    refused: list[Refused] = field(default_factory=list)

    @property
    def ops(self) -> list[PlannedOp]:
        """All ops, phase 1 first."""
        return self.phase1 + self.phase2


def dependency_met(graph: Graph, dep: Dependency, exists: Callable[[Key], bool]) -> bool:
    """True when some key satisfying ``dep`` exists according to ``exists``."""
    if dep.key is not None:
        return exists(dep.key)
    selector = dep.selector
    if selector is None:
        test = exists
    else:

        def test(key: Key) -> bool:
            return selector(key) and exists(key)

    return any(graph.any_with_prefix(prefix, test) for prefix in dep.any_of)


class Planner:
    """Computes plans over one graph."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._frozen: dict[Key, str] = {}  # during plan(): frozen key -> why

    # --- 0. frozen ---------------------------------------------------------------------------

    def _freeze(self) -> dict[Key, str]:
        """Existing keys never to be touched, with why: each unreadable value, what is
        derived from it, and (transitively) what any of them stands on."""
        graph = self._graph
        nodes = graph.nodes
        frozen: dict[Key, str] = {}
        work: deque[tuple[Key, Key, bool]] = deque()  # (key, unreadable root, part of root)

        def freeze(key: Key, why: str, root: Key, part: bool) -> None:
            n = nodes.get(key)
            if n is not None and n.exists and key not in frozen:
                frozen[key] = why
                work.append((key, root, part))

        for key in sorted(graph.unreadable):
            node = nodes.get(key)
            if node is not None:
                freeze(key, f"unreadable: {node.unreadable}", key, True)
        while work:
            key, root, part = work.popleft()
            node = nodes[key]
            needed = f"needed by {root}, which could not be read back"
            if part:
                for child in graph.children(key):
                    freeze(child, f"derived from {root}, which could not be read back", root, True)
            if node.base is not None:
                freeze(node.base, needed, root, False)
            # What was not understood may be what names its dependencies (an interface type
            # read as unknown has no link): the desired ones count too.
            deps = union_deps(node.applied_deps, node.deps) if part else node.applied_deps
            for dep in deps:
                if dep.key is not None:
                    freeze(dep.key, needed, root, False)
                    continue
                for prefix in dep.any_of:
                    for other in graph.keys_with_prefix(prefix):
                        if dep.selector is None or dep.selector(other):
                            freeze(other, needed, root, False)
        return frozen

    # --- 1. target -------------------------------------------------------------------------

    def _targets(self, affected: Iterable[Key], keep_undesired: bool) -> dict[Key, bool]:
        graph = self._graph
        nodes = graph.nodes
        will: dict[Key, bool] = {}

        def target(key: Key) -> bool:
            w = will.get(key)
            if w is not None:
                return w
            n = nodes.get(key)
            return n is not None and n.exists

        work: deque[Key] = deque()
        queued: set[Key] = set()
        for key in affected:
            if key not in queued and key in nodes:
                queued.add(key)
                work.append(key)
        while work:
            key = work.popleft()
            queued.discard(key)
            node = nodes.get(key)
            if node is None:
                continue
            before = target(key)
            now = self._should_exist(node, target, keep_undesired)
            will[key] = now
            if now != before:
                followers = graph.dependents(key)
                followers.update(graph.children(key))
                for follower in followers:
                    if follower not in queued:
                        queued.add(follower)
                        work.append(follower)
        return will

    def _should_exist(
        self, node: Node, target: Callable[[Key], bool], keep_undesired: bool
    ) -> bool:
        if node.key in self._frozen:
            return True  # exists and stays exactly as it is
        if node.desired is None:
            if not node.exists:
                return False
            if node.origin is Origin.SB:
                return True  # obtained: never ours to delete
            if node.base is not None:
                base = self._graph.nodes.get(node.base)
                if base is None or base.desired is not None:
                    return False  # its base no longer derives it
                return target(node.base)  # goes with a kept, undesired base
            # Found at start and never desired in this run: kept until the first full
            # desired state says otherwise. An explicit delete (desired_rev > 0) is honoured.
            return keep_undesired and node.desired_rev == 0
        if node.invalid:
            return False
        if node.held:
            return node.exists  # failed: left as it is until retried
        if node.base is not None and not target(node.base):
            return False
        graph = self._graph
        return all(dependency_met(graph, dep, target) for dep in node.deps)

    # --- 2-4. ops, bounce, order -------------------------------------------------------------

    def plan(self, affected: Iterable[Key], *, keep_undesired: bool = False) -> Plan:
        """The plan that brings the affected keys (and what follows from them) to target.

        ``keep_undesired``: values of ours found southbound and never desired since are kept
        (a refresh-only start, before the first full desired state: nothing is deleted on a
        guess); an explicit delete is still honoured.
        """
        self._frozen = self._freeze() if self._graph.unreadable else {}
        try:
            return self._plan(affected, keep_undesired)
        finally:
            self._frozen = {}

    def _plan(self, affected: Iterable[Key], keep_undesired: bool) -> Plan:
        will = self._targets(affected, keep_undesired)
        nodes = self._graph.nodes
        deletes: dict[Key, PlannedOp] = {}
        creates: dict[Key, PlannedOp] = {}  # phase 2 ops: create, update, recreate's create
        refused: list[Refused] = []
        for key in sorted(will):
            node = nodes[key]
            if node.exists:
                if key in self._frozen:
                    op = self._untouched(node, keep_undesired)
                    if op is not None:
                        refused.append(Refused(key, op, self._frozen[key]))
                elif not will[key]:
                    deletes[key] = PlannedOp(node, OpKind.DELETE, 1, prev_value=node.applied)
                elif node.desired is not None and not node.held:
                    if node.applied is node.desired or self._equivalent(node):
                        continue
                    if self._needs_recreate(node):
                        self._add_recreate(node, deletes, creates)
                    else:
                        creates[key] = PlannedOp(
                            node, OpKind.UPDATE, 2, prev_value=node.applied, new_value=node.desired
                        )
            elif will[key]:
                creates[key] = PlannedOp(node, OpKind.CREATE, 2, new_value=node.desired)
        if deletes:
            self._bounce(will, deletes, creates, refused)
        phase1 = [deletes[k] for k in sorted(deletes)]
        phase2 = [creates[k] for k in sorted(creates)]
        self._order_deletes(deletes)
        self._order_creates(deletes, creates)
        examined = list(will)
        examined.extend(k for k in deletes if k not in will)
        return Plan(phase1, phase2, examined, refused)

    def _untouched(self, node: Node, keep_undesired: bool) -> OpKind | None:
        """The op a frozen (existing) node would have had, were it not frozen."""
        if node.desired is None:
            if node.origin is Origin.SB or (keep_undesired and node.desired_rev == 0):
                return None
            if node.base is not None:
                base = self._graph.nodes.get(node.base)
                if base is not None and base.desired is None:
                    return None  # goes with its undesired base, which is frozen too
            return OpKind.DELETE
        if node.invalid:
            return OpKind.DELETE
        if node.held or node.applied is node.desired or self._equivalent(node):
            return None
        return OpKind.DELETE if self._needs_recreate(node) else OpKind.UPDATE

    def _equivalent(self, node: Node) -> bool:
        descriptor = node.descriptor
        if descriptor is None:
            return True  # a property has nothing southbound to change
        try:
            return descriptor.equivalent(node.key, node.applied, node.desired)
        except Exception as error:
            log.warning("equivalent raised", key=node.key, error=repr(error))
            return False

    def _needs_recreate(self, node: Node) -> bool:
        descriptor = node.descriptor
        if descriptor is None:
            return False
        if not descriptor.supports_update:
            return True
        try:
            return descriptor.needs_recreate(node.key, node.applied, node.desired)
        except Exception as error:
            log.warning("needs_recreate raised", key=node.key, error=repr(error))
            return True

    @staticmethod
    def _add_recreate(
        node: Node, deletes: dict[Key, PlannedOp], creates: dict[Key, PlannedOp]
    ) -> None:
        first = PlannedOp(node, OpKind.DELETE, 1, recreate=True, prev_value=node.applied)
        second = PlannedOp(
            node, OpKind.CREATE, 2, recreate=True, prev_value=node.applied, new_value=node.desired
        )
        deletes[node.key] = first
        creates[node.key] = second

    def _bounce(
        self,
        will: dict[Key, bool],
        deletes: dict[Key, PlannedOp],
        creates: dict[Key, PlannedOp],
        refused: list[Refused],
    ) -> None:
        graph = self._graph
        nodes = graph.nodes

        def survives(key: Key) -> bool:
            n = nodes.get(key)
            return n is not None and n.exists and key not in deletes

        work = deque(deletes)
        while work:
            gone = work.popleft()
            followers = graph.dependents(gone)
            followers.update(graph.children(gone))
            for key in followers:
                if key in deletes:
                    continue
                node = nodes.get(key)
                if node is None or not node.exists:
                    continue
                if node.base != gone and not any(
                    dep.matches(gone) and not dependency_met(graph, dep, survives)
                    for dep in node.applied_deps
                ):
                    continue
                if key in self._frozen:
                    # Cannot happen while what it stands on is frozen too; never bounce it.
                    refused.append(Refused(key, OpKind.DELETE, self._frozen[key]))
                    continue
                # Forced down by its dependency: brought back after, even if it was waiting
                # for a retry (a failure of its own is attempted again by the create).
                keep = will.get(key, True) and node.desired is not None and not node.invalid
                if keep:
                    creates.pop(key, None)
                    self._add_recreate(node, deletes, creates)
                else:
                    deletes[key] = PlannedOp(node, OpKind.DELETE, 1, prev_value=node.applied)
                work.append(key)

    def _order_deletes(self, deletes: dict[Key, PlannedOp]) -> None:
        graph = self._graph
        nodes = graph.nodes
        for key, op in deletes.items():
            followers = graph.dependents(key)
            followers.update(graph.children(key))
            for other in followers:
                first = deletes.get(other)
                if first is None:
                    continue
                node = nodes[other]
                if node.base == key or any(dep.matches(key) for dep in node.applied_deps):
                    first.succs.append(op)
                    op.preds += 1

    def _order_creates(self, deletes: dict[Key, PlannedOp], creates: dict[Key, PlannedOp]) -> None:
        graph = self._graph
        nodes = graph.nodes

        def stays(key: Key) -> bool:
            n = nodes.get(key)
            return n is not None and n.exists and key not in deletes

        for op in creates.values():
            node = op.node
            firsts: list[PlannedOp] = []
            if node.base is not None:
                # A derived value goes after its base's create *or update*: it is part of
                # the base (e.g. an address after the rename of its interface).
                base_op = creates.get(node.base)
                if base_op is not None:
                    firsts.append(base_op)
            for dep in node.deps:
                if dep.key is not None:
                    target = creates.get(dep.key)
                    if target is not None and target.kind is OpKind.CREATE:
                        firsts.append(target)
                elif not dependency_met(graph, dep, stays):
                    for prefix in dep.any_of:
                        for key in graph.keys_with_prefix(prefix):
                            target = creates.get(key)
                            if (
                                target is not None
                                and target.kind is OpKind.CREATE
                                and (dep.selector is None or dep.selector(key))
                            ):
                                firsts.append(target)
            for first in firsts:
                if first is not op:
                    first.succs.append(op)
                    op.preds += 1


def unmet(graph: Graph, node: Node) -> str:
    """Why ``node`` cannot exist now (its base or a dependency is missing), or ''."""
    nodes = graph.nodes

    def exists(key: Key) -> bool:
        n = nodes.get(key)
        return n is not None and n.exists

    if node.base is not None and not exists(node.base):
        return f"waiting for base {node.base}"
    missing = [dep.describe() for dep in node.deps if not dependency_met(graph, dep, exists)]
    return "waiting for " + "; ".join(missing) if missing else ""
