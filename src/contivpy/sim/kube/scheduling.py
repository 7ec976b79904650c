"""Node choice for unscheduled pods, as a minimal kube-scheduler.

In: a pod, the registered nodes and the pods already bound. Out: the name of the node to bind
the pod to, or None with a reason when no node fits. Nodes fit when they are schedulable
(spec.unschedulable not true), not NotReady, and carry the pod's spec.nodeSelector labels.
Policies: "least-pods" (fewest bound pods, then name) or "round-robin" (in name order).
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, TypeAlias

from contivpy.sim.kube.objects import JsonObject, labels_of, name_of

Placement: TypeAlias = Literal["least-pods", "round-robin"]


def _ready(node: JsonObject) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return all(c.get("status") != "False" for c in conditions if c.get("type") == "Ready")


def fitting_nodes(pod: JsonObject, nodes: list[JsonObject]) -> list[JsonObject]:
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    fitting = []
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable") or not _ready(node):
            continue
        labels = labels_of(node)
        if all(labels.get(k) == v for k, v in selector.items()):
            fitting.append(node)
    return sorted(fitting, key=name_of)


class NodeChooser:
    """Picks nodes for pods; remembers the round-robin position between calls."""

    def __init__(self, placement: Placement = "least-pods") -> None:
        self._placement = placement
        self._next = 0

    def choose(
        self, pod: JsonObject, nodes: list[JsonObject], bound_pods: list[JsonObject]
    ) -> tuple[str | None, str]:
        """(node name, "") or (None, why no node fits)."""
        candidates = fitting_nodes(pod, nodes)
        if not candidates:
            return None, f"0/{len(nodes)} nodes are available"
        if self._placement == "round-robin":
            chosen = candidates[self._next % len(candidates)]
            self._next += 1
            return name_of(chosen), ""
        load = Counter((p.get("spec") or {}).get("nodeName") for p in bound_pods)
        chosen = min(candidates, key=lambda n: (load[name_of(n)], name_of(n)))
        return name_of(chosen), ""
