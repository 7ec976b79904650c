"""A node's policy tables kept current as policies, pods and namespaces change, deriving
again only what a change can affect.

In: checked policies put and removed, pods' facts put and removed, namespaces' labels put and
removed, the NAT loopback IP; at construction, this node's name (a pod is local when its facts
name this node). Out: ``rendering`` — always equal to ``render.render`` of the same state — and
from each change the :class:`~contivpy.policy.tables.PolicyChanges`: exactly the local pods
whose table changed and the tables that appeared or went.

What a change re-derives (Contiv re-rendered every pod a changed policy selected; here only
the tables that differ are reported, and a pod's rules are derived again only when an input
of them changed):

- a policy: the local pods it selects, before and after;
- a pod: itself when local, and the local pods selected by the policies whose peers select
  it before or after — when that selection, its IPs or its named ports changed (other labels
  change nothing there) — or that reach its named ports through an ipBlock or any address;
- a namespace: the local pods selected by the policies whose namespace selectors select it
  before or after.

A policy's PERMITs are cached: its egress ones are the same for every pod it selects, its
ingress ones too unless they use named ports (then per set of container ports). A pod's table
is assembled again when its ingress rules or IPs change; when a local pod's egress rules or
IPs change, its block in every other local pod's table and ``NODE-GLOBAL`` are derived again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from contivpy.policy.configurator import (
    PodRules,
    Rules,
    egress_permits,
    finish,
    ingress_permits,
    peer_selects,
)
from contivpy.policy.facts import NamedPort, PodFacts
from contivpy.policy.model import ContivPolicy, Peer
from contivpy.policy.rules import Address, Rule
from contivpy.policy.selectors import Selector
from contivpy.policy.tables import (
    LocalPod,
    PolicyChanges,
    Rendering,
    assemble,
    block,
    global_table,
    table_id,
)

_K = TypeVar("_K")
_PeerKey = tuple[str, Peer]  # (policy ID, one of its selector peers)
_BlockKey = tuple[str, Address]  # (source pod, one of its addresses)


class PolicyBook:
    """See the module doc."""

    def __init__(self, node: str, nat_loopback: Address | None = None) -> None:
        self.node = node
        self.nat_loopback = nat_loopback
        self._policies: dict[str, ContivPolicy] = {}
        self._ns_policies: dict[str, set[str]] = {}  # namespace -> policies in it
        self._pods: dict[str, PodFacts] = {}
        self._ns_pods: dict[str, set[str]] = {}  # namespace -> its pods
        # (namespace, label key, value) -> its pods: a selector with matchLabels is matched
        # against the pods of its rarest pair only (not every pod per policy put)
        self._labelled: dict[tuple[str, str, str], set[str]] = {}
        self._namespaces: dict[str, dict[str, str]] = {}
        self._named: dict[str, set[str]] = {}  # container port name -> pods with it
        # Peer selection, and who depends on whom
        self._members: dict[_PeerKey, set[str]] = {}
        self._watchers: dict[str, set[str]] = {}  # pod -> policies with a peer selecting it
        self._name_watchers: dict[str, set[str]] = {}  # port name -> policies (ipBlock/any)
        self._ns_selecting: set[str] = set()  # policies with a namespaceSelector peer
        self._targets: dict[str, set[str]] = {}  # policy -> local pods it selects
        self._applying: dict[str, set[str]] = {}  # local pod -> policies selecting it
        self._permits: dict[tuple[str, bool, tuple[NamedPort, ...]], frozenset[Rule]] = {}
        # Per local pod: facts as tables see them, blocks from egress-isolated neighbours
        self._local: dict[str, LocalPod] = {}
        self._blocks: dict[str, dict[_BlockKey, Rules]] = {}
        self._pod_tables: dict[str, str] = {}
        self._tables: dict[str, Rules] = {}
        self._users: dict[str, int] = {}  # table ID -> pods using it
        self._ids: dict[Rules, str] = {}  # the tables' rules -> ID (hashing is not free)
        self._global: Rules = ()

    # --- what it holds ---------------------------------------------------------------------

    @property
    def rendering(self) -> Rendering:
        return Rendering(dict(self._pod_tables), dict(self._tables), self._global)

    def rules(self, pod_key: str) -> PodRules:
        """A local pod's rules (none for other pods)."""
        local = self._local.get(pod_key)
        return local.rules if local is not None else PodRules()

    def policies_of(self, pod_key: str) -> frozenset[str]:
        """The IDs of the policies selecting a local pod."""
        return frozenset(self._applying.get(pod_key, ()))

    # --- changes ---------------------------------------------------------------------------

    def put_policy(self, policy: ContivPolicy) -> PolicyChanges:
        """A policy created or changed."""
        if self._policies.get(policy.id) == policy:
            return PolicyChanges()
        dirty = self._unlink_policy(policy.id)
        self._link_policy(policy)
        return self._settle(dirty | self._targets[policy.id], set())

    def remove_policy(self, policy_id: str) -> PolicyChanges:
        """A policy deleted."""
        if policy_id not in self._policies:
            return PolicyChanges()
        return self._settle(self._unlink_policy(policy_id), set())

    def put_pod(self, pod: PodFacts) -> PolicyChanges:
        """A pod created or changed."""
        old = self._pods.get(pod.key)
        if old == pod:
            return PolicyChanges()
        return self._pod_changed(old, pod)

    def remove_pod(self, namespace: str, name: str) -> PolicyChanges:
        """A pod deleted."""
        old = self._pods.get(f"{namespace}/{name}")
        if old is None:
            return PolicyChanges()
        return self._pod_changed(old, None)

    def put_namespace(self, name: str, labels: Mapping[str, str]) -> PolicyChanges:
        """A namespace created or its labels changed."""
        old = self._namespaces.get(name, {})
        self._namespaces[name] = dict(labels)
        if old == dict(labels):
            return PolicyChanges()
        return self._namespace_changed(name)

    def remove_namespace(self, name: str) -> PolicyChanges:
        """A namespace deleted (its pods keep no labels to be selected by)."""
        if self._namespaces.pop(name, None) is None:
            return PolicyChanges()
        return self._namespace_changed(name)

    def set_nat_loopback(self, ip: Address | None) -> PolicyChanges:
        """The NAT loopback IP set or changed (every isolated pod's ingress admits it)."""
        if ip == self.nat_loopback:
            return PolicyChanges()
        self.nat_loopback = ip
        return self._settle(set(self._local), set())

    # --- policies --------------------------------------------------------------------------

    def _link_policy(self, policy: ContivPolicy) -> None:
        pid = policy.id
        self._policies[pid] = policy
        self._ns_policies.setdefault(policy.namespace, set()).add(pid)
        for peer in _selector_peers(policy):
            if peer.namespaces is not None:
                self._ns_selecting.add(pid)
            members = self._members.setdefault((pid, peer), set())
            for key in self._candidates(policy, peer):
                pod = self._pods[key]
                if peer_selects(policy, peer, pod, self._namespaces.get(pod.namespace, {})):
                    members.add(key)
                    self._watchers.setdefault(key, set()).add(pid)
        for name in _reaching_names(policy):
            self._name_watchers.setdefault(name, set()).add(pid)
        targets = {
            key
            for key in self._selectable(policy.namespace, policy.selector)
            if key in self._local and policy.selects(policy.namespace, dict(self._pods[key].labels))
        }
        self._targets[pid] = targets
        for key in targets:
            self._applying.setdefault(key, set()).add(pid)

    def _unlink_policy(self, pid: str) -> set[str]:
        """Forget a policy's indexes; the local pods it selected."""
        policy = self._policies.pop(pid, None)
        if policy is None:
            return set()
        _discard(self._ns_policies, policy.namespace, pid)
        for peer in _selector_peers(policy):
            for key in self._members.pop((pid, peer), set()):
                _discard(self._watchers, key, pid)
        for name in _reaching_names(policy):
            _discard(self._name_watchers, name, pid)
        self._ns_selecting.discard(pid)
        self._forget_permits({pid})
        targets = self._targets.pop(pid, set())
        for key in targets:
            _discard(self._applying, key, pid)
        return targets

    def _candidates(self, policy: ContivPolicy, peer: Peer) -> Iterable[str]:
        if peer.namespaces is None:
            return self._selectable(policy.namespace, peer.pods)
        return (
            key
            for namespace in list(self._ns_pods)
            if peer.namespaces.matches(self._namespaces.get(namespace, {}))
            for key in self._selectable(namespace, peer.pods)
        )

    def _selectable(self, namespace: str, selector: Selector | None) -> Iterable[str]:
        """A namespace's pods ``selector`` may select: with matchLabels, those with its rarest
        pair; else all (the caller still matches each)."""
        pods = self._ns_pods.get(namespace, set())
        if selector is None or not selector.labels:
            return pods
        return min(
            (self._labelled.get((namespace, k, v), set()) for k, v in selector.labels), key=len
        )

    def _forget_permits(self, pids: set[str]) -> None:
        for cached in [k for k in self._permits if k[0] in pids]:
            del self._permits[cached]

    # --- pods and namespaces ---------------------------------------------------------------

    def _pod_changed(self, old: PodFacts | None, new: PodFacts | None) -> PolicyChanges:
        key = (old or new).key  # type: ignore[union-attr]
        before = self._drop_pod(old) if old is not None else set()
        after = self._add_pod(new) if new is not None else set()
        # A peer's rules depend on which peers select it, its IPs and its named ports: a
        # change of other labels alone re-derives nothing.
        facts_changed = old is None or new is None or (old.ips, old.ports) != (new.ips, new.ports)
        affected = {pid for pid, _ in before ^ after}
        if facts_changed:
            affected |= {pid for pid, _ in before | after}
            for pod in (old, new):
                for port in pod.ports if pod is not None else ():
                    affected |= self._name_watchers.get(port.name, set())
        dirty: set[str] = set()
        if new is not None and new.node == self.node:
            dirty.add(key)
        was = self._local.get(key)
        moved: set[str] = set()
        if new is not None and new.node == self.node:
            if was is None or was.ips != new.ips:
                moved.add(key)
        elif was is not None:
            moved.add(key)
        self._forget_permits(affected)
        for pid in affected:
            dirty |= self._targets.get(pid, set())
        return self._settle(dirty, moved)

    def _drop_pod(self, pod: PodFacts) -> set[_PeerKey]:
        """Forget a pod's indexes; the peers that selected it."""
        key = pod.key
        del self._pods[key]
        _discard(self._ns_pods, pod.namespace, key)
        for label, value in pod.labels.items():
            _discard(self._labelled, (pod.namespace, label, value), key)
        for port in pod.ports:
            _discard(self._named, port.name, key)
        selected: set[_PeerKey] = set()
        for pid in self._watchers.pop(key, set()):
            for peer in _selector_peers(self._policies[pid]):
                members = self._members[(pid, peer)]
                if key in members:
                    members.discard(key)
                    selected.add((pid, peer))
        for pid in self._applying.pop(key, set()):
            self._targets[pid].discard(key)
        return selected

    def _add_pod(self, pod: PodFacts) -> set[_PeerKey]:
        """Index a pod; the peers that select it."""
        key = pod.key
        self._pods[key] = pod
        self._ns_pods.setdefault(pod.namespace, set()).add(key)
        for label, value in pod.labels.items():
            self._labelled.setdefault((pod.namespace, label, value), set()).add(key)
        for port in pod.ports:
            self._named.setdefault(port.name, set()).add(key)
        namespace_labels = self._namespaces.get(pod.namespace, {})
        selected: set[_PeerKey] = set()
        for pid in self._ns_policies.get(pod.namespace, set()) | self._ns_selecting:
            policy = self._policies[pid]
            for peer in _selector_peers(policy):
                if peer_selects(policy, peer, pod, namespace_labels):
                    self._members[(pid, peer)].add(key)
                    selected.add((pid, peer))
        if selected:
            self._watchers[key] = {pid for pid, _ in selected}
        if pod.node == self.node:
            applying = {
                pid
                for pid in self._ns_policies.get(pod.namespace, ())
                if self._policies[pid].selects(pod.namespace, dict(pod.labels))
            }
            if applying:
                self._applying[key] = applying
            for pid in applying:
                self._targets[pid].add(key)
        return selected

    def _namespace_changed(self, name: str) -> PolicyChanges:
        labels = self._namespaces.get(name, {})
        affected: set[str] = set()
        for pid in self._ns_selecting:
            policy = self._policies[pid]
            peers = _selector_peers(policy)
            for peer in peers:
                if peer.namespaces is None:
                    continue
                members = self._members[(pid, peer)]
                for key in self._ns_pods.get(name, ()):
                    selected = peer_selects(policy, peer, self._pods[key], labels)
                    if selected == (key in members):
                        continue
                    affected.add(pid)
                    if selected:
                        members.add(key)
                        self._watchers.setdefault(key, set()).add(pid)
                    else:
                        members.discard(key)
                        if not any(key in self._members[(pid, p)] for p in peers):
                            _discard(self._watchers, key, pid)
        self._forget_permits(affected)
        dirty: set[str] = set()
        for pid in affected:
            dirty |= self._targets[pid]
        return self._settle(dirty, set())

    # --- rules and tables ------------------------------------------------------------------

    def _pod_rules(self, pod: PodFacts, memo: dict[object, PodRules]) -> PodRules:
        """A local pod's rules; ``memo``: within one change, pods selected by the same
        policies (with the same container ports, if those policies name ports) have the
        same rules."""
        applying = frozenset(self._applying.get(pod.key, ()))
        named = any(
            rule.named_ports for pid in applying for rule in self._policies[pid].ingress_rules
        )
        memo_key = (applying, pod.ports if named else ())
        found = memo.get(memo_key)
        if found is None:
            found = memo[memo_key] = self._derive_rules(pod, applying)
        return found

    def _derive_rules(self, pod: PodFacts, applying: frozenset[str]) -> PodRules:
        ingress: set[Rule] = set()
        egress: set[Rule] = set()
        isolated_in = isolated_out = False
        for pid in applying:
            policy = self._policies[pid]
            if policy.ingress:
                isolated_in = True
                ingress |= self._cached(policy, True, pod)
            if policy.egress:
                isolated_out = True
                egress |= self._cached(policy, False, pod)
        return PodRules(
            finish(ingress, isolated_in, ingress=True, nat_loopback=self.nat_loopback),
            finish(egress, isolated_out, ingress=False, nat_loopback=self.nat_loopback),
        )

    def _cached(self, policy: ContivPolicy, ingress: bool, pod: PodFacts) -> frozenset[Rule]:
        named = ingress and any(rule.named_ports for rule in policy.ingress_rules)
        cache_key = (policy.id, ingress, pod.ports if named else ())
        permits = self._permits.get(cache_key)
        if permits is None:
            if ingress:
                permits = frozenset(ingress_permits(policy, pod, self._peer_pods))
            else:
                permits = frozenset(egress_permits(policy, self._peer_pods, self._named_pods))
            self._permits[cache_key] = permits
        return permits

    def _peer_pods(self, policy: ContivPolicy, peer: Peer) -> list[PodFacts]:
        return [self._pods[key] for key in self._members.get((policy.id, peer), ())]

    def _named_pods(self, name: str) -> list[PodFacts]:
        return [self._pods[key] for key in self._named.get(name, ())]

    def _settle(self, dirty: set[str], moved: set[str]) -> PolicyChanges:
        """Derive the rules of the ``dirty`` local pods again and every table they feed;
        ``moved``: local pods whose IPs changed, or that arrived or left."""
        reassemble: set[str] = set()  # pods whose own blocks are all derived again
        sources: dict[str, tuple[Address, ...]] = {}  # egress sources changed -> old IPs
        memo: dict[object, PodRules] = {}
        for key in dirty | moved:
            pod = self._pods.get(key)
            old = self._local.get(key)
            if pod is None or pod.node != self.node:
                if old is not None:
                    del self._local[key]
                    if old.rules.egress:
                        sources[key] = old.ips
                    reassemble.add(key)
                continue
            rules = self._pod_rules(pod, memo) if pod.ips else PodRules()
            new = LocalPod(pod.ips, rules)
            if old == new:
                continue
            self._local[key] = new
            old_rules = old.rules if old is not None else PodRules()
            if old is None or old.ips != new.ips or old_rules.ingress != rules.ingress:
                reassemble.add(key)
            if (old_rules.egress or rules.egress) and (
                old is None or old.ips != new.ips or old_rules.egress != rules.egress
            ):
                sources[key] = old.ips if old is not None else ()
        global_before = self._global
        touched = set(reassemble)
        for key in reassemble:
            if key in self._local:
                self._blocks[key] = self._all_blocks(key)
            else:
                self._blocks.pop(key, None)
        if sources:
            for key, blocks in self._blocks.items():
                if key in reassemble:
                    continue
                self._rewrite_blocks(key, blocks, sources)
                touched.add(key)
            self._global = global_table(
                (p.ips, p.rules.egress) for p in self._local.values() if p.ips
            )
        changes = self._retable(touched)
        if global_before != self._global:
            changes = replace(changes, global_changed=True)
        return changes

    def _all_blocks(self, key: str) -> dict[_BlockKey, Rules]:
        pod = self._local[key]
        if not pod.ips:
            return {}
        return {
            (other_key, source): block(pod.rules.ingress, pod.ips, source, other.rules.egress)
            for other_key, other in self._local.items()
            if other_key != key and other.rules.egress
            for source in other.ips
        }

    def _rewrite_blocks(
        self, key: str, blocks: dict[_BlockKey, Rules], sources: Mapping[str, tuple[Address, ...]]
    ) -> None:
        pod = self._local[key]
        for source_key, old_ips in sources.items():
            for ip in old_ips:
                blocks.pop((source_key, ip), None)
            other = self._local.get(source_key)
            if source_key == key or other is None or not other.rules.egress or not pod.ips:
                continue
            for ip in other.ips:
                blocks[(source_key, ip)] = block(pod.rules.ingress, pod.ips, ip, other.rules.egress)

    def _retable(self, touched: set[str]) -> PolicyChanges:
        """Assemble the tables of ``touched`` pods again; which pods' IDs changed."""
        pods: set[str] = set()
        added: set[str] = set()
        removed: set[str] = set()
        for key in touched:
            local = self._local.get(key)
            rules: Rules = ()
            if local is not None and local.ips:
                rules = assemble(local.rules.ingress, _block_items(self._blocks.get(key, {})))
            new_id = None
            if rules:
                new_id = self._ids.get(rules) or table_id(rules)
            old_id = self._pod_tables.get(key)
            if new_id == old_id:
                continue
            pods.add(key)
            if old_id is not None:
                del self._pod_tables[key]
                self._users[old_id] -= 1
                if not self._users[old_id]:
                    del self._users[old_id], self._ids[self._tables.pop(old_id)]
                    removed.add(old_id)
            if new_id is not None:
                self._pod_tables[key] = new_id
                if new_id not in self._tables:
                    self._tables[new_id] = rules
                    self._ids[rules] = new_id
                    added.add(new_id)
                self._users[new_id] = self._users.get(new_id, 0) + 1
        # a table may go and come back within one change: it is neither
        both = added & removed
        return PolicyChanges(
            frozenset(pods),
            frozenset(added - both),
            frozenset(removed - both),
        )


def _block_items(blocks: Mapping[_BlockKey, Rules]) -> list[tuple[Address, Rules]]:
    return [(source, rules) for (_, source), rules in blocks.items()]


def _selector_peers(policy: ContivPolicy) -> set[Peer]:
    return {
        peer
        for rule in (*policy.ingress_rules, *policy.egress_rules)
        for peer in rule.peers
        if not peer.is_block
    }


def _reaching_names(policy: ContivPolicy) -> set[str]:
    """The named ports its egress rules reach through an ipBlock or any address: they depend on
    every pod that has such a port."""
    return {
        name
        for rule in policy.egress_rules
        if not rule.peers or any(peer.is_block for peer in rule.peers)
        for name in rule.named_ports
    }


def _discard(index: dict[_K, set[str]], key: _K, value: str) -> None:
    values = index.get(key)
    if values is not None:
        values.discard(value)
        if not values:
            del index[key]
