"""Properties of the policy book and its tables, for random clusters and policy changes.

Random state: namespaces a and b (labels from a small alphabet), up to four pods over two nodes
(labels, an IP or none, named container ports), up to four policies (selectors with
matchLabels and every matchExpressions operator, pod/namespace/combined/ipBlock-with-except
peers, numbered, ranged, named and port-less ports over TCP/UDP/SCTP, every policyTypes).

1. After any sequence of policy, pod and namespace changes (label flips, IP changes, pods
   added and removed, nodes changed), each node's ``PolicyBook`` equals a render from scratch
   of the final state, and every change reported exactly the local pods whose table ID
   changed and the tables that appeared and went.
2. Every packet between pods, to and from an outside address and from the NAT loopback, of
   every protocol and a spread of ports, passes the rendered tables exactly when Kubernetes'
   semantics (``support.allows``, which knows no rule or table) admit it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.models.k8s_codec import (
    IntOrString,
    IpBlock,
    LabelExpression,
    LabelOperator,
    LabelSelector,
    Policy,
    PolicyEgressRule,
    PolicyIngressRule,
    PolicyPeer,
    PolicyPort,
    PolicyType,
    Protocol,
)
from contivpy.policy.book import PolicyBook
from contivpy.policy.evaluate import Packet, cluster_passes
from contivpy.policy.model import ContivPolicy, compile_policy
from contivpy.policy.render import render
from contivpy.policy.rules import Proto
from contivpy.policy.tables import Rendering, changes
from policy.support import NAT_LOOPBACK, Cluster, allows, pod

NODES = ("n1", "n2")
NAMESPACES = ("a", "b")
POD_NAMES = ("p0", "p1", "p2", "p3")

labels = st.dictionaries(
    st.sampled_from(["app", "role"]), st.sampled_from(["web", "db"]), max_size=2
)
ns_labels = st.dictionaries(st.just("team"), st.sampled_from(["x", "y"]), max_size=1)

expressions = st.sampled_from(
    [
        LabelExpression(key="app", operator=LabelOperator.IN, values=["web"]),
        LabelExpression(key="app", operator=LabelOperator.NOT_IN, values=["web"]),
        LabelExpression(key="role", operator=LabelOperator.EXISTS),
        LabelExpression(key="role", operator=LabelOperator.DOES_NOT_EXIST),
        LabelExpression(key="team", operator=LabelOperator.IN, values=["x"]),
    ]
)
# often empty (selects all): pods then meet policies as targets and peers often enough
selectors = st.one_of(
    st.just(LabelSelector()),
    st.builds(
        lambda match, exprs: LabelSelector(match_labels=match, match_expressions=exprs),
        st.dictionaries(st.sampled_from(["app", "role"]), st.just("web"), max_size=1),
        st.lists(expressions, max_size=1),
    ),
)
blocks = st.sampled_from(
    [
        IpBlock(cidr="10.1.0.0/16", except_=["10.1.0.0/30"]),
        IpBlock(cidr="10.1.0.0/29", except_=["10.1.0.4/32"]),
        IpBlock(cidr="0.0.0.0/0", except_=["10.1.0.0/24"]),
        IpBlock(cidr="192.168.0.0/16"),
    ]
)
peers = st.one_of(
    st.builds(lambda s: PolicyPeer(pod_selector=s), selectors),
    st.builds(lambda s: PolicyPeer(namespace_selector=s), selectors),
    st.builds(lambda p, n: PolicyPeer(pod_selector=p, namespace_selector=n), selectors, selectors),
    st.builds(lambda b: PolicyPeer(ip_block=b), blocks),
)
ports = st.sampled_from(
    [
        PolicyPort(protocol=Protocol.TCP, port=IntOrString(number=80)),
        PolicyPort(protocol=Protocol.TCP, port=IntOrString(number=80), end_port=90),
        PolicyPort(protocol=Protocol.UDP, port=IntOrString(number=53)),
        PolicyPort(protocol=Protocol.SCTP, port=IntOrString(number=80)),
        PolicyPort(protocol=Protocol.TCP, port=IntOrString(name="http")),
        PolicyPort(protocol=Protocol.UDP, port=IntOrString(name="dns")),
        PolicyPort(protocol=Protocol.UDP),
    ]
)
rules = st.tuples(st.lists(peers, max_size=2), st.lists(ports, max_size=2))


@st.composite
def policies(draw: Any) -> ContivPolicy:
    ingress = draw(st.lists(rules, max_size=2))
    egress = draw(st.lists(rules, max_size=2))
    model = Policy(
        name=draw(st.sampled_from(["q0", "q1", "q2", "q3"])),
        namespace=draw(st.sampled_from(NAMESPACES)),
        pod_selector=draw(selectors),
        policy_type=draw(st.sampled_from(list(PolicyType))),
        ingress_rules=[PolicyIngressRule(from_=p, ports=q) for p, q in ingress],
        egress_rules=[PolicyEgressRule(to=p, ports=q) for p, q in egress],
    )
    return compile_policy(model)


@st.composite
def pods(draw: Any) -> Any:
    index = draw(st.integers(0, len(POD_NAMES) - 1))
    # two address pools, so an IP change never collides with another pod's IP
    ip = draw(st.sampled_from(["", f"10.1.0.{index + 1}", f"10.1.3.{index + 1}"]))
    named = draw(
        st.lists(
            st.sampled_from([("http", "TCP", 80), ("http", "TCP", 8080), ("dns", "UDP", 53)]),
            max_size=2,
            unique_by=lambda p: p[0],
        )
    )
    return pod(
        draw(st.sampled_from(NAMESPACES)),
        POD_NAMES[index],
        draw(labels),
        ip,
        draw(st.sampled_from(NODES)),
        named,
    )


operations = st.one_of(
    st.tuples(st.just("put_pod"), pods()),
    st.tuples(st.just("put_policy"), policies()),
    st.tuples(
        st.just("remove_policy"),
        st.sampled_from(NAMESPACES),
        st.sampled_from(["q0", "q1", "q2", "q3"]),
    ),
    st.tuples(st.just("remove_pod"), st.sampled_from(POD_NAMES)),
    st.tuples(st.just("put_namespace"), st.sampled_from(NAMESPACES), ns_labels),
    st.tuples(st.just("remove_namespace"), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("nat_loopback"), st.sampled_from([None, str(NAT_LOOPBACK)])),
)


def _apply(cluster: Cluster, books: dict[str, PolicyBook], op: tuple[Any, ...]) -> dict[str, Any]:
    """Apply one operation to the cluster and every node's book; each book's report."""
    kind = op[0]
    reports: dict[str, Any] = {}
    for node, book in books.items():
        if kind == "put_policy":
            reports[node] = book.put_policy(op[1])
        elif kind == "remove_policy":
            reports[node] = book.remove_policy(f"{op[1]}/{op[2]}")
        elif kind == "put_pod":
            reports[node] = book.put_pod(op[1])
        elif kind == "remove_pod":
            old = next((p for p in cluster.pods.values() if p.name == op[1]), None)
            reports[node] = book.remove_pod(old.namespace, old.name) if old else None
        elif kind == "put_namespace":
            reports[node] = book.put_namespace(op[1], op[2])
        elif kind == "remove_namespace":
            reports[node] = book.remove_namespace(op[1])
        else:
            ip = ipaddress.ip_address(op[1]) if op[1] else None
            reports[node] = book.set_nat_loopback(ip)
    if kind == "put_policy":
        cluster.policies[op[1].id] = op[1]
    elif kind == "remove_policy":
        cluster.policies.pop(f"{op[1]}/{op[2]}", None)
    elif kind in ("put_pod", "remove_pod"):
        name = op[1].name if kind == "put_pod" else op[1]
        cluster.pods = {k: p for k, p in cluster.pods.items() if p.name != name}
        if kind == "put_pod":
            cluster.add(op[1])
    elif kind == "put_namespace":
        cluster.namespaces[op[1]] = dict(op[2])
    elif kind == "remove_namespace":
        cluster.namespaces.pop(op[1], None)
    else:
        cluster.nat_loopback = ipaddress.ip_address(op[1]) if op[1] else None
    return reports


def _steps(cluster: Cluster, ops: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The operations; a pod name is one pod, so a put of it in another namespace is its
    removal, then the put."""
    for op in ops:
        if op[0] == "put_pod":
            old = next((p for p in cluster.pods.values() if p.name == op[1].name), None)
            if old is not None and old.key != op[1].key:
                yield ("remove_pod", old.name)
        yield op


def _scratch(cluster: Cluster, node: str) -> Rendering:
    return render(
        cluster.policies.values(),
        cluster.pods.values(),
        cluster.namespaces,
        node,
        cluster.nat_loopback,
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=4, max_size=40))
def test_incremental_equals_from_scratch_and_reports_exactly_the_changes(
    ops: list[tuple[Any, ...]],
) -> None:
    cluster = Cluster(nodes=NODES)
    books = {node: PolicyBook(node, NAT_LOOPBACK) for node in NODES}
    for op in _steps(cluster, ops):
        before = {node: book.rendering for node, book in books.items()}
        reports = _apply(cluster, books, op)
        for node, book in books.items():
            expected = _scratch(cluster, node)
            assert book.rendering == expected, (node, op)
            report = reports[node]
            if report is None:
                continue
            assert report == changes(before[node], expected), (node, op)


def _endpoints(cluster: Cluster) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ip for p in cluster.pods.values() for ip in p.ips] + [
        ipaddress.ip_address("10.1.0.100"),  # in the pods' blocks, but no pod's: outside
        ipaddress.ip_address("192.168.7.7"),
    ]


PROBES = [
    (Proto.TCP, 80),
    (Proto.TCP, 85),
    (Proto.TCP, 8080),
    (Proto.TCP, 443),
    (Proto.UDP, 53),
    (Proto.UDP, 80),
    (Proto.SCTP, 80),
    (Proto.ANY, 0),
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(pods(), max_size=6),
    st.lists(policies(), max_size=4),
    st.fixed_dictionaries({"a": ns_labels, "b": ns_labels}),
)
def test_tables_admit_exactly_what_kubernetes_semantics_admit(
    some_pods: list[Any], some_policies: list[ContivPolicy], namespaces: dict[str, Any]
) -> None:
    cluster = Cluster(nodes=NODES, namespaces={k: dict(v) for k, v in namespaces.items()})
    for p in some_pods:  # one pod per name (and so per IP)
        cluster.pods = {k: q for k, q in cluster.pods.items() if q.name != p.name}
        cluster.add(p)
    cluster.add(*some_policies)
    renderings = {node: _scratch(cluster, node) for node in NODES}
    sources = [*_endpoints(cluster), NAT_LOOPBACK]
    for src in sources:
        for dst in _endpoints(cluster):
            if src == dst:
                continue
            for protocol, port in PROBES:
                packet = Packet(src, dst, protocol, 40000, port)
                expected = allows(cluster, packet)
                assert cluster_passes(renderings, cluster.pods.values(), packet) == expected, packet
