"""Conformance cases modelled on Kubernetes' network-policy e2e suite (test/e2e/network/netpol).

The e2e model: namespaces x, y, z (labelled ns=<name>), pods a, b, c in each (labelled
pod=<name>) serving TCP and UDP on ports 80 and 81 (named serve-80-tcp, ...) spread over two
nodes. Each case applies policies and checks the whole reachability matrix: every cell is
evaluated over the rendered tables of both nodes (a packet between pods of one node meets the
destination pod's table, one crossing nodes also the source node's NODE-GLOBAL) and must equal
Kubernetes' semantics (``support.allows``); the cases also state the expected matrix itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contivpy.policy.model import ContivPolicy
from policy.support import Cluster, pod, policy

NAMESPACES = ("x", "y", "z")
NAMES = ("a", "b", "c")
PODS = tuple(f"{ns}/{name}" for ns in NAMESPACES for name in NAMES)
NODES = {"a": "n1", "b": "n2", "c": "n1"}
PORTS = [
    (f"serve-{port}-{proto}", proto.upper(), port) for port in (80, 81) for proto in ("tcp", "udp")
]


def model(*policies: ContivPolicy) -> Cluster:
    cluster = Cluster()
    for n, ns in enumerate(NAMESPACES):
        cluster.namespaces[ns] = {"ns": ns}
        for m, name in enumerate(NAMES):
            cluster.add(pod(ns, name, {"pod": name}, f"10.1.{n}.{m + 2}", NODES[name], ports=PORTS))
    return cluster.add(*policies)


def reach(cluster: Cluster, port: int = 80, protocol: str = "tcp") -> set[tuple[str, str]]:
    return {
        (src, dst)
        for src in PODS
        for dst in PODS
        if src != dst and cluster.passes(src, dst, protocol, port)
    }


def pairs(allowed: Callable[[str, str], bool]) -> set[tuple[str, str]]:
    return {(s, d) for s in PODS for d in PODS if s != d and allowed(s, d)}


EVERYTHING = pairs(lambda s, d: True)


def ns(who: str) -> str:
    return who.split("/")[0]


def deny_all_ingress(namespace: str = "x") -> ContivPolicy:
    return policy("deny-ingress", namespace, {"podSelector": {}, "policyTypes": ["Ingress"]})


def test_no_policies_everything_flows() -> None:
    assert reach(model()) == EVERYTHING


def test_default_deny_ingress() -> None:
    cluster = model(deny_all_ingress())
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x")
    assert reach(cluster, 81, "udp") == pairs(lambda s, d: ns(d) != "x")


def test_default_deny_all() -> None:
    cluster = model(
        policy("deny-all", "x", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    )
    assert reach(cluster) == pairs(lambda s, d: "x" not in (ns(s), ns(d)))


def test_default_deny_by_selection_only_selected_pods_are_isolated() -> None:
    cluster = model(policy("deny-a", "x", {"podSelector": {"matchLabels": {"pod": "a"}}}))
    assert reach(cluster) == pairs(lambda s, d: d != "x/a")


def test_allow_from_pods_within_namespace_by_pod_selector() -> None:
    cluster = model(
        policy(
            "allow-b",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
            },
        )
    )
    assert reach(cluster) == pairs(lambda s, d: d != "x/a" or s == "x/b")


def test_allow_from_namespace() -> None:
    cluster = model(
        policy(
            "allow-y",
            "x",
            {
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}],
            },
        )
    )
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x" or ns(s) == "y")


def test_deny_ingress_from_other_namespaces() -> None:
    cluster = model(
        policy("same-ns", "x", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]})
    )
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x" or ns(s) == "x")


def test_pod_selector_with_match_expressions() -> None:
    cluster = model(
        policy(
            "expr",
            "x",
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {
                                "podSelector": {
                                    "matchExpressions": [
                                        {"key": "pod", "operator": "In", "values": ["a"]}
                                    ]
                                }
                            }
                        ]
                    }
                ],
            },
        )
    )
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x" or s == "x/a")


def test_namespace_selector_with_match_expressions_not_in() -> None:
    cluster = model(
        policy(
            "expr",
            "x",
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchExpressions": [
                                        {"key": "ns", "operator": "NotIn", "values": ["x", "y"]}
                                    ]
                                }
                            }
                        ]
                    }
                ],
            },
        )
    )
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x" or ns(s) == "z")


@pytest.mark.parametrize("combined", [True, False])
def test_pod_selector_and_or_namespace_selector(combined: bool) -> None:
    namespaces = {"namespaceSelector": {"matchLabels": {"ns": "y"}}}
    pods_ = {"podSelector": {"matchLabels": {"pod": "b"}}}
    peers = [{**namespaces, **pods_}] if combined else [namespaces, pods_]
    cluster = model(policy("p", "x", {"podSelector": {}, "ingress": [{"from": peers}]}))
    if combined:  # b in y only
        expected = pairs(lambda s, d: ns(d) != "x" or s == "y/b")
    else:  # anything in y, or b in x
        expected = pairs(lambda s, d: ns(d) != "x" or ns(s) == "y" or s == "x/b")
    assert reach(cluster) == expected


def test_ports_only_the_allowed_port() -> None:
    cluster = model(
        policy(
            "port-81",
            "x",
            {"podSelector": {}, "ingress": [{"ports": [{"port": 81, "protocol": "TCP"}]}]},
        )
    )
    assert reach(cluster, 80) == pairs(lambda s, d: ns(d) != "x")
    assert reach(cluster, 81) == EVERYTHING
    assert reach(cluster, 81, "udp") == pairs(lambda s, d: ns(d) != "x")


def test_named_port_ingress() -> None:
    cluster = model(
        policy(
            "named",
            "x",
            {
                "podSelector": {},
                "ingress": [{"ports": [{"port": "serve-81-udp", "protocol": "UDP"}]}],
            },
        )
    )
    assert reach(cluster, 81, "udp") == EVERYTHING
    assert reach(cluster, 80, "udp") == pairs(lambda s, d: ns(d) != "x")
    assert reach(cluster, 81, "tcp") == pairs(lambda s, d: ns(d) != "x")


def test_named_port_no_pod_has_admits_nothing() -> None:
    cluster = model(
        policy("named", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": "nope"}]}]})
    )
    assert reach(cluster, 80) == pairs(lambda s, d: ns(d) != "x")


def test_named_port_egress_resolved_on_the_destination() -> None:
    cluster = model(
        policy(
            "named-out",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": "serve-80-tcp"}]}],
            },
        )
    )
    assert reach(cluster, 80) == EVERYTHING
    assert reach(cluster, 81) == pairs(lambda s, d: s != "x/a")


def test_end_port_range() -> None:
    cluster = model(
        policy(
            "range",
            "x",
            {"podSelector": {}, "ingress": [{"ports": [{"port": 81, "endPort": 90}]}]},
        )
    )
    assert reach(cluster, 80) == pairs(lambda s, d: ns(d) != "x")
    assert reach(cluster, 81) == EVERYTHING
    assert reach(cluster, 90) == EVERYTHING
    assert reach(cluster, 91) == pairs(lambda s, d: ns(d) != "x")


def test_protocol_udp_only_does_not_admit_tcp() -> None:
    cluster = model(
        policy(
            "udp",
            "x",
            {"podSelector": {}, "ingress": [{"ports": [{"protocol": "UDP", "port": 80}]}]},
        )
    )
    assert reach(cluster, 80, "udp") == EVERYTHING
    assert reach(cluster, 80, "tcp") == pairs(lambda s, d: ns(d) != "x")


def test_sctp_is_not_tcp() -> None:
    cluster = model(
        policy(
            "sctp",
            "x",
            {"podSelector": {}, "ingress": [{"ports": [{"protocol": "SCTP", "port": 80}]}]},
        )
    )
    assert reach(cluster, 80, "tcp") == pairs(lambda s, d: ns(d) != "x")
    assert reach(cluster, 80, "sctp") == EVERYTHING


def test_multiple_policies_add_up() -> None:
    cluster = model(
        policy(
            "from-b",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
            },
        ),
        policy(
            "from-c-81",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"pod": "c"}}}],
                        "ports": [{"port": 81}],
                    }
                ],
            },
        ),
    )
    assert reach(cluster, 80) == pairs(lambda s, d: d != "x/a" or s == "x/b")
    assert reach(cluster, 81) == pairs(lambda s, d: d != "x/a" or s in ("x/b", "x/c"))


def test_allow_all_takes_precedence_over_deny_all() -> None:
    cluster = model(
        deny_all_ingress(),
        policy("allow-all", "x", {"podSelector": {}, "ingress": [{}]}),
    )
    assert reach(cluster) == EVERYTHING
    # an all-admitting direction is not isolated in effect: no tables at all
    assert all(not r.pod_tables for r in cluster.renderings().values())


def test_egress_only_policy_types() -> None:
    cluster = model(
        policy(
            "egress-only",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}],
                "ingress": [],
            },
        )
    )
    assert reach(cluster) == pairs(lambda s, d: s != "x/a" or ns(d) == "y")


def test_ingress_and_egress_together() -> None:
    cluster = model(
        policy(
            "both",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b"}}}]}],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"pod": "c"}}}]}],
            },
        )
    )
    assert reach(cluster) == pairs(
        lambda s, d: (d != "x/a" or s == "x/b") and (s != "x/a" or d == "x/c")
    )


def test_egress_denied_on_the_client_even_if_the_server_allows() -> None:
    cluster = model(
        policy(
            "deny-out",
            "x",
            {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Egress"]},
        ),
        policy("allow-in", "y", {"podSelector": {}, "ingress": [{}]}),
    )
    assert reach(cluster) == pairs(lambda s, d: s != "x/a")


def test_egress_to_ip_block_with_except() -> None:
    cluster = model(
        policy(
            "cidr",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "10.1.1.0/24", "except": ["10.1.1.3/32"]}}]}
                ],
            },
        )
    )
    # y's pods are 10.1.1.2-4: y/b (10.1.1.3) is excepted
    assert reach(cluster) == pairs(lambda s, d: s != "x/a" or d in ("y/a", "y/c"))
    assert cluster.passes("x/a", "10.1.1.200")  # outside the cluster's pods, inside the block
    assert not cluster.passes("x/a", "10.9.9.9")


def test_ip_in_both_cidr_and_except_is_allowed_by_another_policy() -> None:
    block = {"cidr": "10.1.1.0/24", "except": ["10.1.1.3/32"]}
    cluster = model(
        policy(
            "cidr",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": block}]}],
            },
        ),
        policy(
            "except-ip",
            "x",
            {
                "podSelector": {"matchLabels": {"pod": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "10.1.1.3/32"}}]}],
            },
        ),
    )
    assert reach(cluster) == pairs(lambda s, d: s != "x/a" or ns(d) == "y")


def test_ingress_from_ip_block() -> None:
    cluster = model(
        policy(
            "from-cidr",
            "x",
            {
                "podSelector": {},
                "ingress": [{"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}],
            },
        )
    )
    assert cluster.passes("192.168.3.4", "x/a")
    assert not cluster.passes("172.16.0.1", "x/a")
    assert reach(cluster) == pairs(lambda s, d: ns(d) != "x")


def test_nat_loopback_is_always_admitted() -> None:
    cluster = model(deny_all_ingress())
    assert cluster.passes(str(cluster.nat_loopback), "x/a")


@pytest.mark.parametrize(
    "update",
    [
        "policy-removed",
        "pod-relabelled",
        "namespace-relabelled",
    ],
)
def test_updates_take_effect(update: str) -> None:
    allow = policy(
        "allow-y-b",
        "x",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"team": "blue"}},
                            "podSelector": {"matchLabels": {"role": "client"}},
                        }
                    ]
                }
            ],
        },
    )
    cluster = model(allow)
    before = reach(cluster)
    assert before == pairs(lambda s, d: ns(d) != "x")
    if update == "policy-removed":
        del cluster.policies[allow.id]
        expected = EVERYTHING
    elif update == "pod-relabelled":
        cluster.namespaces["y"]["team"] = "blue"
        old = cluster.pods["y/b"]
        cluster.add(pod("y", "b", {"pod": "b", "role": "client"}, str(old.ips[0]), "n2", PORTS))
        expected = pairs(lambda s, d: ns(d) != "x" or s == "y/b")
    else:
        cluster.namespaces["z"]["team"] = "blue"
        for name in NAMES:
            old = cluster.pods[f"z/{name}"]
            labels = {"pod": name, "role": "client"}
            cluster.add(pod("z", name, labels, str(old.ips[0]), old.node, PORTS))
        expected = pairs(lambda s, d: ns(d) != "x" or ns(s) == "z")
    assert reach(cluster) == expected
