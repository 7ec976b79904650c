"""The named ports' checker of the refusal Events: a port name no pod has.

In: the view's Pods, Services and NetworkPolicies, a namespace at a time. Out: for a Service
whose selected pods exist but none of which has a container port of a ``targetPort``'s name
(and protocol), ``spec.ports[i].targetPort: no pod the Service selects has a TCP port named
'http'``; for a NetworkPolicy with such a named port in an ingress rule (resolved on the pods
the policy applies to) or in an egress rule whose peers are pods of its own namespace
(resolved on those peers), the same for ``spec.ingress[i].ports[j].port``. Posted as Warning
Events by ``refusal_events`` (reasons ``InvalidService``, ``InvalidNetworkPolicy``).

Why: Kubernetes accepts such objects and they do nothing on that port — the Service has no
endpoints for it, the policy admits nothing there — which is what an operator wants to hear
about. Nothing is said when no pod is selected at all (nothing to resolve on yet), for an
egress rule to every destination, to other namespaces or to ipBlocks (its pods are not all
known here), or for a policy or Service the agents refuse anyway (the other checkers say
why). The node agents apply such objects as they are: no ``ctl events`` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from contivpy.models.k8s_codec import Pod, Policy, Protocol, Service, ServicePort
from contivpy.policy.facts import PodFacts, pod_facts
from contivpy.policy.model import PolicyError, PolicyRule, compile_policy
from contivpy.policy.rules import Proto
from contivpy.policy.selectors import Selector
from contivpy.reflector.crd_status import decoded_as
from contivpy.reflector.refusal_events import Problems, Subject
from contivpy.reflector.view import Changes, ReflectedView

POD, SERVICE, POLICY = "pod", "service", "policy"
KINDS = (POD, SERVICE, POLICY)
_NAMESPACE_INFIX = "/namespace/"
_PROTOCOLS = {Protocol.TCP: Proto.TCP, Protocol.UDP: Proto.UDP, Protocol.SCTP: Proto.SCTP}


def _namespace(key: str) -> str:
    return key.rpartition(_NAMESPACE_INFIX)[2]


class NamedPortChecker:
    """The Services and NetworkPolicies of one namespace against its pods
    (``refusal_events.Checker``); the inputs interleave each object's key and bytes.

    A namespace's inputs hold its pods only when one of its Services or NetworkPolicies names
    a port: the others' problems do not depend on pods, and a pass (every change of any pod
    starts one) must not cost the reflector a walk over every pod of the cluster (10,000 in
    ``bench eventlog``: ~20 ms per pass, the watch-to-etcd latency's p99 100+ ms). The pods
    are kept grouped by namespace from the view's ``Changes`` feed; whether an object names a
    port is remembered per object bytes."""

    kinds = KINDS

    def __init__(self) -> None:
        self._feed: Changes | None = None
        self._pods: dict[str, dict[str, bytes]] = {}  # namespace -> pod key -> bytes
        self._naming: dict[str, tuple[bytes, bool]] = {}  # key -> (bytes, names a port)

    def inputs(self, view: ReflectedView) -> Mapping[str, tuple[bytes | None, ...]]:
        if POD not in view.kinds:
            return {}
        self._follow_pods(view)
        found: dict[str, list[tuple[str, bytes]]] = {}
        named: set[str] = set()
        naming: dict[str, tuple[bytes, bool]] = {}
        for kind in (SERVICE, POLICY):
            if kind not in view.kinds:
                continue
            for key, value in view.objects(kind).items():
                namespace = _namespace(key)
                found.setdefault(namespace, []).append((key, value))
                known = self._naming.get(key)
                names = known[1] if known is not None and known[0] == value else None
                if names is None:
                    names = _names_a_port(key, value)
                naming[key] = (value, names)
                if names:
                    named.add(namespace)
        self._naming = naming  # objects gone are forgotten
        for namespace in named:
            found[namespace].extend(self._pods.get(namespace, {}).items())
        return {
            f"namespace/{ns}": tuple(part for k, v in sorted(items) for part in (k.encode(), v))
            for ns, items in found.items()
        }

    def _follow_pods(self, view: ReflectedView) -> None:
        if self._feed is None:
            self._feed = view.changes(POD)
        everything, keys = self._feed.take()
        if everything:
            self._pods = {}
            keys = set(view.objects(POD))
        for key in keys:
            namespace = _namespace(key)
            value = view.get(POD, key)
            pods = self._pods.setdefault(namespace, {})
            if value is None:
                pods.pop(key, None)
            else:
                pods[key] = value

    def problems(self, key: str, inputs: tuple[bytes | None, ...]) -> Problems:
        pod_values: list[tuple[str, bytes]] = []
        services: list[Service] = []
        policies: list[Policy] = []
        for object_key, value in _pairs(inputs):
            if object_key.startswith(f"k8s/{POD}/"):
                pod_values.append((object_key, value))
            elif object_key.startswith(f"k8s/{SERVICE}/"):
                if (service := decoded_as(object_key, value, Service)) is not None:
                    services.append(service)
            elif (policy := decoded_as(object_key, value, Policy)) is not None:
                policies.append(policy)
        found: Problems = {
            Subject(kind, o.namespace, o.name): frozenset()
            for kind, objects in (("Service", services), ("NetworkPolicy", policies))
            for o in objects
        }
        # most namespaces name no port: their pods are not even decoded
        named_services = [s for s in services if any(_target_name(p) for p in s.ports)]
        named_policies = [p for p in policies if _names_ports(p)]
        if not named_services and not named_policies:
            return found
        pods = [
            pod_facts(pod)
            for object_key, value in pod_values
            if (pod := decoded_as(object_key, value, Pod)) is not None
        ]
        for service in named_services:
            subject = Subject("Service", service.namespace, service.name)
            found[subject] = frozenset(service_port_problems(service, pods))
        for policy in named_policies:
            subject = Subject("NetworkPolicy", policy.namespace, policy.name)
            found[subject] = frozenset(policy_port_problems(policy, pods))
        return found


def _names_a_port(key: str, value: bytes) -> bool:
    """Whether a Service has a named target port, or a NetworkPolicy a named port."""
    if key.startswith(f"k8s/{SERVICE}/"):
        service = decoded_as(key, value, Service)
        return service is not None and any(_target_name(p) for p in service.ports)
    policy = decoded_as(key, value, Policy)
    return policy is not None and _names_ports(policy)


def _target_name(port: ServicePort) -> str:
    return port.target_port.name or "" if port.target_port is not None else ""


def _names_ports(policy: Policy) -> bool:
    ports = [p for rule in policy.ingress_rules for p in rule.ports]
    ports += [p for rule in policy.egress_rules for p in rule.ports]
    return any(p.port is not None and p.port.name for p in ports)


def _pairs(inputs: tuple[bytes | None, ...]) -> Iterable[tuple[str, bytes]]:
    for index in range(0, len(inputs) - 1, 2):
        key, value = inputs[index], inputs[index + 1]
        if key is not None and value is not None:
            yield key.decode(), value


def _missing(name: str, protocol: Proto, pods: Sequence[PodFacts]) -> bool:
    """True when there are pods and none has a container port ``name`` for ``protocol``."""
    return bool(pods) and not any(p.resolve(name, protocol) for p in pods)


def _named(name: str, protocol: Proto) -> str:
    return f"{protocol.name} port named {name!r}"


def service_port_problems(service: Service, pods: Sequence[PodFacts]) -> list[str]:
    """The Service's named target ports none of its selected pods has."""
    if not service.selector:
        return []  # its endpoints are written by hand
    selector = Selector.of_labels(service.selector)
    selected = [p for p in pods if selector.matches(p.labels)]
    problems = []
    for index, port in enumerate(service.ports):
        name = _target_name(port)
        protocol = _PROTOCOLS.get(port.protocol)
        if name and protocol is not None and _missing(name, protocol, selected):
            problems.append(
                f"spec.ports[{index}].targetPort: no pod the Service selects has a "
                f"{_named(name, protocol)} (the Service has no endpoints on it)"
            )
    return problems


def policy_port_problems(policy: Policy, pods: Sequence[PodFacts]) -> list[str]:
    """The policy's named ports none of the pods they resolve on has."""
    try:
        compiled = compile_policy(policy)
    except PolicyError:
        return []  # refused by every agent: PolicyChecker says why
    targets = [p for p in pods if compiled.selector.matches(p.labels)]
    problems = _rule_problems(compiled.ingress_rules, "ingress", targets, "the policy applies to")
    for index, rule in enumerate(compiled.egress_rules):
        peers = _own_namespace_peers(rule, pods)
        if peers is not None:
            problems += _rule_problems((rule,), "egress", peers, "the rule admits", index)
    return problems


def _own_namespace_peers(rule: PolicyRule, pods: Sequence[PodFacts]) -> list[PodFacts] | None:
    """The pods an egress rule's peers select when each peer is a pod selector of the
    policy's own namespace; None when the destinations are not all such pods."""
    if not rule.peers or any(p.pods is None or p.namespaces or p.block for p in rule.peers):
        return None
    return [
        pod
        for pod in pods
        if any(peer.pods is not None and peer.pods.matches(pod.labels) for peer in rule.peers)
    ]


def _rule_problems(
    rules: Sequence[PolicyRule], side: str, pods: Sequence[PodFacts], whose: str, first: int = 0
) -> list[str]:
    problems = []
    for index, rule in enumerate(rules, start=first):
        for p_index, spec in enumerate(rule.ports):
            if spec.name and _missing(spec.name, spec.protocol, pods):
                problems.append(
                    f"spec.{side}[{index}].ports[{p_index}].port: no pod {whose} has a "
                    f"{_named(spec.name, spec.protocol)} (the rule admits nothing on it)"
                )
    return problems
