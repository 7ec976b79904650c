"""Chains' paths kept current as the facts change, deriving again only what a change can affect.

In: chains put and removed (valid ones, as ``chains.chain_of`` makes them), pods' facts put
and removed, the ExternalInterfaces' entries and the node IDs replaced. Out: ``paths`` (chain
ID -> ``paths.Path``), always equal to ``paths.paths`` of all the chains over all the facts,
and from each change the IDs of the chains whose path changed.

Why it can be incremental: a chain's path depends on the pods its elements' selectors match
and on the chains before it that claim the same instances; chains whose elements match no
common pod (or ExternalInterface) never claim each other's interfaces. So the chains fall into
groups joined by shared matches, and a change is derived again within the groups of the chains
it touches (a pod: the chains whose selectors match it before or after; a chain: itself and
the chains sharing its matches), over those groups' pods only. A change of the
ExternalInterfaces or of the node IDs derives everything again (both are rare).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contivpy.sfc.chains import Chain, ElementKind
from contivpy.sfc.paths import ClusterFacts, Path, PodFacts, paths


class PathBook:
    """See the module doc."""

    def __init__(self) -> None:
        self._chains: dict[str, Chain] = {}
        self._pods: dict[str, PodFacts] = {}  # by "<namespace>/<name>"
        self._by_label: dict[tuple[str, str], set[str]] = {}  # label -> pods carrying it
        self._external: Mapping[str, Mapping[str, str]] = {}
        self._node_ids: Mapping[str, int] = {}
        # What each chain's selectors match (pods; ExternalInterfaces as "ext:<name>"), and back
        self._reach: dict[str, set[str]] = {}
        self._reached_by: dict[str, set[str]] = {}
        self.paths: dict[str, Path] = {}

    def reset(
        self,
        chains: Iterable[Chain],
        pods: Iterable[PodFacts],
        external: Mapping[str, Mapping[str, str]],
        node_ids: Mapping[str, int],
    ) -> set[str]:
        """Everything replaced; the chains whose path changed (or that are gone)."""
        self._chains = {chain.id: chain for chain in chains}
        self._pods = {}
        self._by_label = {}
        for pod in pods:
            self._index(pod)
        self._external = dict(external)
        self._node_ids = dict(node_ids)
        self._reach, self._reached_by = {}, {}
        for chain in self._chains.values():
            self._link(chain)
        return self._derive(set(self._chains), previous=set(self.paths))

    def put_chain(self, chain: Chain) -> set[str]:
        """A chain created or changed."""
        touched = self._group({chain.id} | self._sharing(chain.id))
        self._unlink(chain.id)
        self._chains[chain.id] = chain
        self._link(chain)
        return self._derive(self._group(touched | {chain.id}), previous=touched)

    def remove_chain(self, chain_id: str) -> set[str]:
        """A chain deleted."""
        if chain_id not in self._chains:
            return set()
        touched = self._group({chain_id})
        self._unlink(chain_id)
        del self._chains[chain_id]
        return self._derive(touched - {chain_id}, previous=touched)

    def put_pod(self, pod: PodFacts) -> set[str]:
        """A pod created or changed."""
        key = _key(pod)
        if self._pods.get(key) == pod:
            return set()
        before = set(self._reached_by.get(key, set()))
        self._drop_pod(key)
        self._index(pod)
        after = {c.id for c in self._chains.values() if _matches(c, pod)}
        for chain_id in after:
            self._reach[chain_id].add(key)
        if after:
            self._reached_by[key] = set(after)
        return self._derive(self._group(before | after), previous=before | after)

    def remove_pod(self, namespace: str, name: str) -> set[str]:
        """A pod deleted."""
        key = f"{namespace}/{name}"
        if key not in self._pods:
            return set()
        touched = self._group(set(self._reached_by.get(key, set())))
        self._drop_pod(key)
        return self._derive(touched, previous=touched)

    def set_cluster(
        self, external: Mapping[str, Mapping[str, str]], node_ids: Mapping[str, int]
    ) -> set[str]:
        """The ExternalInterfaces' entries or the node IDs, replaced (all derived again when
        they differ)."""
        if dict(external) == self._external and dict(node_ids) == self._node_ids:
            return set()
        self._external = dict(external)
        self._node_ids = dict(node_ids)
        return self._derive(set(self._chains), previous=set(self._chains))

    def _derive(self, chain_ids: set[str], *, previous: set[str]) -> set[str]:
        """Derive these chains again (a union of whole groups) over their pods; the IDs whose
        path changed, ``previous`` ones that are gone included."""
        chains = [self._chains[c] for c in chain_ids if c in self._chains]
        reach: set[str] = set().union(*(self._reach.get(c.id, set()) for c in chains))
        pods = [self._pods[k] for k in reach if k in self._pods]
        derived = paths(chains, ClusterFacts(pods, self._external, self._node_ids))
        changed = {c for c in previous - derived.keys() if self.paths.pop(c, None) is not None}
        for chain_id, path in derived.items():
            if self.paths.get(chain_id) != path:
                self.paths[chain_id] = path
                changed.add(chain_id)
        return changed

    def _group(self, seeds: set[str]) -> set[str]:
        """The seeds and every chain joined to them by shared matches."""
        group, queue = set(), list(seeds)
        while queue:
            chain_id = queue.pop()
            if chain_id in group:
                continue
            group.add(chain_id)
            queue.extend(self._sharing(chain_id) - group)
        return group

    def _sharing(self, chain_id: str) -> set[str]:
        """The chains matching something ``chain_id`` matches."""
        found: set[str] = set()
        for owner in self._reach.get(chain_id, set()):
            found |= self._reached_by.get(owner, set())
        found.discard(chain_id)
        return found

    def _link(self, chain: Chain) -> None:
        reach: set[str] = set()
        for element in chain.elements:
            if element.kind is ElementKind.EXTERNAL_INTERFACE:
                reach.add(f"ext:{element.input}")
            elif element.selector:  # a valid Pod element always has one
                carriers = [self._by_label.get(label, set()) for label in element.selector]
                for key in min(carriers, key=len):
                    if element.selects(dict(self._pods[key].labels)):
                        reach.add(key)
        self._reach[chain.id] = reach
        for owner in reach:
            self._reached_by.setdefault(owner, set()).add(chain.id)

    def _unlink(self, chain_id: str) -> None:
        for owner in self._reach.pop(chain_id, set()):
            holders = self._reached_by.get(owner)
            if holders is not None:
                holders.discard(chain_id)
                if not holders:
                    del self._reached_by[owner]

    def _index(self, pod: PodFacts) -> None:
        key = _key(pod)
        self._pods[key] = pod
        for label in pod.labels.items():
            self._by_label.setdefault(label, set()).add(key)

    def _drop_pod(self, key: str) -> None:
        old = self._pods.pop(key, None)
        if old is not None:
            for label in old.labels.items():
                carriers = self._by_label.get(label)
                if carriers is not None:
                    carriers.discard(key)
                    if not carriers:
                        del self._by_label[label]
        for chain_id in self._reached_by.pop(key, set()):
            self._reach[chain_id].discard(key)


def _key(pod: PodFacts) -> str:
    return f"{pod.namespace}/{pod.name}"


def _matches(chain: Chain, pod: PodFacts) -> bool:
    labels = dict(pod.labels)
    return any(e.kind is ElementKind.POD and e.selects(labels) for e in chain.elements)
