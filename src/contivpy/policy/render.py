"""A node's policy tables computed from scratch: the reference the incremental
``book.PolicyBook`` must always equal.

In: every policy (checked), every pod's facts, every namespace's labels, this node's name and
the NAT loopback IP. Out: the node's :class:`~contivpy.policy.tables.Rendering` (and, for
inspection, each local pod's rules). Every lookup is a scan: simple, and slow on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contivpy.policy.configurator import PodRules, peer_selects, pod_rules
from contivpy.policy.facts import PodFacts
from contivpy.policy.model import ContivPolicy, Peer
from contivpy.policy.rules import Address
from contivpy.policy.tables import LocalPod, Rendering, rendering


def local_rules(
    policies: Iterable[ContivPolicy],
    pods: Iterable[PodFacts],
    namespaces: Mapping[str, Mapping[str, str]],
    node: str,
    nat_loopback: Address | None,
) -> dict[str, LocalPod]:
    """Each local pod's IPs and rules (a pod is local when it runs on ``node``)."""
    policies = list(policies)
    pods = list(pods)

    def peer_pods(policy: ContivPolicy, peer: Peer) -> list[PodFacts]:
        return [
            pod
            for pod in pods
            if peer_selects(policy, peer, pod, namespaces.get(pod.namespace, {}))
        ]

    def named_pods(name: str) -> list[PodFacts]:
        return [pod for pod in pods if any(port.name == name for port in pod.ports)]

    found: dict[str, LocalPod] = {}
    for pod in pods:
        if pod.node != node:
            continue
        selecting = [p for p in policies if p.selects(pod.namespace, dict(pod.labels))]
        rules = (
            pod_rules(pod, selecting, peer_pods, named_pods, nat_loopback)
            if pod.ips
            else PodRules()
        )
        found[pod.key] = LocalPod(pod.ips, rules)
    return found


def render(
    policies: Iterable[ContivPolicy],
    pods: Iterable[PodFacts],
    namespaces: Mapping[str, Mapping[str, str]],
    node: str,
    nat_loopback: Address | None,
) -> Rendering:
    """The node's rendering (see ``tables``)."""
    return rendering(local_rules(policies, pods, namespaces, node, nat_loopback))
