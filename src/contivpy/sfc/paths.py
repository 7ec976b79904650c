"""The one data path of each chain, derived identically on every node.

In: the chains (``chains.Chain``, valid ones) and the cluster's facts: every pod's labels,
node, readiness and custom interface names; every ExternalInterface's VPP interface per node;
every node's ID. Out: per chain a :class:`Path` — the instance chosen for each element, in
order — or the reason none is rendered.

The rule (Contiv's l2xconn renderer, made node-independent so that every node computes the
same path from the same facts and the two ends of a hop always agree):

- An element's instances are the running pods (with an IP, on a node with an ID) whose labels
  match its selector and that have its input and output custom interfaces, or the
  ExternalInterface's entry on each node. A chain renders only when every element has one.
- Among all choices, the path with the fewest node changes (VXLAN hops) wins: local
  cross-connects are preferred wherever some choice allows them. Ties go to the path whose
  nodes, element by element, have the lowest IDs; on one node, to the pod first by
  namespace/name (element by element: node ID, then pod).
- One interface plays at most one element of a chain (a pod may play two elements through
  different interfaces): an interface cannot be cross-connected to two neighbours.
- Chains are taken in namespace/name order; an interface a chain's path uses is not offered
  to the chains after it (two chains cannot cross-connect one interface). A chain whose
  element has only such instances left is not rendered, and says which chain holds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contivpy.sfc.chains import Chain, Element, ElementKind


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the path needs to know of a pod."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    node: str  # "" while unscheduled
    running: bool  # it has an IP: its sandbox is networked
    interfaces: frozenset[str]  # its custom interfaces' names


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """Everything a path depends on."""

    pods: Iterable[PodFacts]
    #: ExternalInterface name -> node name -> its VPP interface there (``<nic>[.<vlan>]``)
    external: Mapping[str, Mapping[str, str]]
    node_ids: Mapping[str, int]


@dataclass(frozen=True, slots=True, order=True)
class Instance:
    """One element's chosen player: on which node, what it is, and its interfaces (a pod's
    custom interface names; an external interface's VPP interface name)."""

    node_id: int
    node: str
    owner: str  # "<namespace>/<pod>", or the ExternalInterface's name
    kind: ElementKind = field(compare=False)
    input: str = field(compare=False)
    output: str = field(compare=False)

    @property
    def is_pod(self) -> bool:
        return self.kind is ElementKind.POD

    def describe(self) -> str:
        what = "pod" if self.is_pod else "external interface"
        return f"{what} {self.owner} on {self.node}"


@dataclass(frozen=True, slots=True)
class Path:
    """A chain's rendered path (``instances`` one per element) or why it has none."""

    chain: Chain
    instances: tuple[Instance, ...] = ()
    reason: str = ""

    @property
    def rendered(self) -> bool:
        return bool(self.instances)

    @property
    def hops(self) -> int:
        """How many node changes (VXLAN hops) it takes."""
        pairs = itertools.pairwise(self.instances)
        return sum(a.node != b.node for a, b in pairs)

    def describe(self) -> str:
        """One line for a status: the path, or why there is none."""
        if not self.rendered:
            return self.reason
        return " -> ".join(i.describe() for i in self.instances)


def paths(chains: Iterable[Chain], facts: ClusterFacts) -> dict[str, Path]:
    """Every chain's path, by chain ID (see the module doc)."""
    pods = _Pods(facts.pods)
    claimed: dict[tuple[str, str], str] = {}  # (owner, interface) -> chain ID holding it
    found: dict[str, Path] = {}
    for chain in sorted(chains, key=lambda c: c.id):
        path = _path(chain, pods, facts, claimed)
        found[chain.id] = path
        for instance in path.instances:
            for interface in {instance.input, instance.output}:
                claimed[(instance.owner, interface)] = chain.id
    return found


class _Pods:
    """The pods by namespace/name, and indexed by label: an element's selector is matched
    against the pods carrying its rarest label only, not against every pod of the cluster
    (every chain is derived again on every change, so a scan per element would make a
    render cost chains x pods)."""

    def __init__(self, pods: Iterable[PodFacts]) -> None:
        self.all = sorted(pods, key=lambda p: (p.namespace, p.name))
        self._by_label: dict[tuple[str, str], list[PodFacts]] = {}
        for pod in self.all:
            for label in pod.labels.items():
                self._by_label.setdefault(label, []).append(pod)

    def selected(self, element: Element) -> list[PodFacts]:
        """The pods ``element``'s selector matches, by namespace/name."""
        if not element.selector:
            return [p for p in self.all if element.selects(dict(p.labels))]
        rarest = min((self._by_label.get(label, []) for label in element.selector), key=len)
        return [p for p in rarest if element.selects(dict(p.labels))]


def _path(
    chain: Chain,
    pods: _Pods,
    facts: ClusterFacts,
    claimed: Mapping[tuple[str, str], str],
) -> Path:
    candidates: list[list[Instance]] = []
    for element in chain.elements:
        instances = _instances(element, pods, facts)
        free = [i for i in instances if not _holder(i, claimed)]
        if not free:
            holders = sorted({h for i in instances if (h := _holder(i, claimed))})
            reason = (
                f"{element.title}: every instance is used by chain {', '.join(holders)}"
                if holders
                else f"{element.title}: {_why_none(element, pods, facts)}"
            )
            return Path(chain, reason=reason)
        candidates.append(free)
    chosen, blocked = _cheapest(candidates)
    if not chosen:
        element = chain.elements[blocked]
        return Path(
            chain,
            reason=f"{element.title}: every instance uses an interface another element of the "
            "chain uses (one interface cannot be cross-connected twice)",
        )
    return Path(chain, chosen)


def _holder(instance: Instance, claimed: Mapping[tuple[str, str], str]) -> str:
    return claimed.get((instance.owner, instance.input)) or claimed.get(
        (instance.owner, instance.output), ""
    )


def _instances(element: Element, pods: _Pods, facts: ClusterFacts) -> list[Instance]:
    if element.kind is ElementKind.EXTERNAL_INTERFACE:
        per_node = facts.external.get(element.input, {})
        return sorted(
            Instance(facts.node_ids[node], node, element.input, element.kind, vpp, vpp)
            for node, vpp in per_node.items()
            if node in facts.node_ids
        )
    wanted = {element.input, element.output}
    return sorted(
        Instance(
            facts.node_ids[pod.node],
            pod.node,
            f"{pod.namespace}/{pod.name}",
            element.kind,
            element.input,
            element.output,
        )
        for pod in pods.selected(element)
        if pod.running and pod.node in facts.node_ids and wanted <= pod.interfaces
    )


def _why_none(element: Element, pods: _Pods, facts: ClusterFacts) -> str:
    if element.kind is ElementKind.EXTERNAL_INTERFACE:
        if element.input not in facts.external:
            return f"ExternalInterface {element.input!r} does not exist"
        return f"ExternalInterface {element.input!r} has no interface on a node with an ID"
    selector = ",".join(f"{k}={v}" for k, v in element.selector)
    matching = pods.selected(element)
    if not matching:
        return f"no pod matches {selector}"
    running = [p for p in matching if p.running and p.node in facts.node_ids]
    if not running:
        return f"{len(matching)} pod(s) match {selector}, none is running on a node with an ID"
    wanted = " and ".join(sorted({element.input, element.output}))
    return f"{len(running)} running pod(s) match {selector}, none has custom interface {wanted}"


def _cheapest(candidates: list[list[Instance]]) -> tuple[tuple[Instance, ...], int]:
    """The path with the fewest node changes whose instances use no interface twice; ties
    element by element to the lowest node ID, then to the first owner. Returns the path, or
    ``()`` and the element that could not be played without reusing an interface.

    Without reuse a dynamic programme from the last element gives, per element and node,
    the fewest node changes to the end; that is a lower bound once reuse is excluded, and it
    guides a depth-first search over the sorted instances: for each total from the bound up,
    the first complete path found is the one the rule picks. With no interface shared by
    two elements' instances the bound is exact and the search never backtracks.
    """
    # below[j][node]: fewest node changes from element j (played on node) to the end
    below: list[dict[str, int]] = [{} for _ in candidates]
    for j in reversed(range(len(candidates))):
        for instance in candidates[j]:
            if j == len(candidates) - 1:
                below[j][instance.node] = 0
            else:
                below[j][instance.node] = min(
                    changes + (node != instance.node) for node, changes in below[j + 1].items()
                )
    blocked = 0  # the deepest element found with every instance reusing an interface

    def search(
        j: int, prior: tuple[Instance, ...], used: frozenset[tuple[str, str]], budget: int
    ) -> tuple[Instance, ...] | None:
        nonlocal blocked
        if j == len(candidates):
            return prior
        free = False
        for instance in candidates[j]:
            keys = _keys(instance)
            if keys & used:
                continue
            free = True
            cost = 0 if not prior else int(prior[-1].node != instance.node)
            if cost + below[j][instance.node] > budget:
                continue
            found = search(j + 1, (*prior, instance), used | keys, budget - cost)
            if found is not None:
                return found
        if not free:
            blocked = max(blocked, j)
        return None

    for budget in range(min(below[0].values()), len(candidates)):
        found = search(0, (), frozenset(), budget)
        if found is not None:
            return found, 0
    return (), blocked


def _keys(instance: Instance) -> frozenset[tuple[str, str]]:
    return frozenset({(instance.owner, instance.input), (instance.owner, instance.output)})
