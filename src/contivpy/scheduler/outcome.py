"""Settling each key's state after a transaction, and deciding retries.

In: the keys a transaction examined, after execution. Out: each node's state and reason
(configured, pending with the missing dependency, invalid with the field, retrying or failed
with the error, obtained, discovered, unreadable with why), a timeline revision and a status
notification when either changed, nodes that are neither desired nor southbound dropped from
the graph, and the retries to schedule: delay -> [(key, desired revision)].
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from contivpy.scheduler.api import Key, KeyRevision, Origin, RetryPolicy, ValueState, ValueStatus
from contivpy.scheduler.graph import Graph, Node
from contivpy.scheduler.history import History
from contivpy.scheduler.planner import unmet
from contivpy.scheduler.status_watch import StatusWatchers


class Settler:
    """Computes states after execution."""

    def __init__(
        self,
        graph: Graph,
        history: History,
        watchers: StatusWatchers,
        default_retry: RetryPolicy,
        clock: Callable[[], float],
    ) -> None:
        self._graph = graph
        self._history = history
        self._watchers = watchers
        self._default_retry = default_retry
        self._clock = clock

    def settle(
        self, keys: Iterable[Key], seq: int, *, allow_retry: bool = True
    ) -> dict[float, list[tuple[Key, int]]]:
        """Settle the keys; returns the retries to schedule."""
        graph = self._graph
        nodes = graph.nodes
        now = self._clock()
        retries: dict[float, list[tuple[Key, int]]] = {}
        watchers = self._watchers
        for key in keys:
            node = nodes.get(key)
            if node is None:
                continue
            state, details = self._state_of(node)
            if state is ValueState.RETRYING:
                if allow_retry:
                    policy = node.retry or self._default_retry
                    retries.setdefault(policy.delay(max(1, node.attempts)), []).append(
                        (key, node.desired_rev)
                    )
                else:
                    state = ValueState.FAILED
            shown = node.applied if node.exists else node.desired
            if state is not node.state or details != node.details or shown is not node.shown:
                node.state = state
                node.details = details
                node.last_txn = seq
                node.shown = shown
                self._history.add_revision(key, KeyRevision(seq, now, state, shown, details))
                if watchers:
                    watchers.publish(self.status(node))
            if state is ValueState.NONEXISTENT:
                graph.remove(node)
        return retries

    def mark_missing(self, keys: Iterable[Key], seq: int) -> None:
        """Record that configured keys were not found southbound (they are being repaired)."""
        now = self._clock()
        for key in keys:
            node = self._graph.nodes.get(key)
            if node is None:
                continue
            node.state = ValueState.MISSING
            node.details = "not found southbound on refresh"
            node.last_txn = seq
            self._history.add_revision(key, KeyRevision(seq, now, node.state, None, node.details))
            if self._watchers:
                self._watchers.publish(self.status(node))

    def _state_of(self, node: Node) -> tuple[ValueState, str]:
        if node.unreadable and node.exists:
            return ValueState.UNREADABLE, (
                f"read back but not understood ({node.unreadable}): left as found, never "
                "deleted or re-created until it can be read"
            )
        if node.error is not None and node.held:
            policy = node.retry or self._default_retry
            if node.error.retriable and node.attempts <= policy.max_attempts:
                return ValueState.RETRYING, str(node.error)
            return ValueState.FAILED, str(node.error)
        if node.desired is None:
            if not node.exists:
                return ValueState.NONEXISTENT, ""
            if node.origin is Origin.SB:
                return ValueState.OBTAINED, ""
            return ValueState.DISCOVERED, "found southbound, not in the desired state"
        if node.invalid:
            return ValueState.INVALID, node.invalid
        if node.exists:
            if node.applied is node.desired or _equivalent(node):
                return ValueState.CONFIGURED, ""
            reason = unmet(self._graph, node)
            return ValueState.PENDING, "update " + (reason or "not applied")
        return ValueState.PENDING, unmet(self._graph, node) or "not applied"

    def status(self, node: Node) -> ValueStatus:
        """The public status of a node."""
        return ValueStatus(
            key=node.key,
            state=node.state,
            details=node.details,
            value=node.applied if node.exists else node.desired,
            derived_from=node.base,
            last_op=node.last_op,
            last_txn=node.last_txn,
            error=node.error,
        )


def _equivalent(node: Node) -> bool:
    descriptor = node.descriptor
    if descriptor is None:
        return True
    try:
        return descriptor.equivalent(node.key, node.applied, node.desired)
    except Exception:
        return False
