"""Egress orientation: a pod's table combines its ingress rules with its local neighbours'
egress rules; NODE-GLOBAL carries local pods' egress rules with their source; identical
tables are shared."""

from __future__ import annotations

from contivpy.policy.render import render
from contivpy.policy.rules import Rule
from contivpy.policy.tables import table_id
from policy.support import NAT_LOOPBACK, pod, policy

A = pod("ns", "a", {"app": "a"}, "10.1.0.1")
B = pod("ns", "b", {"app": "b"}, "10.1.0.2")
REMOTE = pod("ns", "r", {"app": "r"}, "10.2.0.1", node="n2")

A_OUT_TCP_80 = policy(
    "a-out",
    "ns",
    {
        "podSelector": {"matchLabels": {"app": "a"}},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 80}]}],
    },
)


def _text(rules: tuple[Rule, ...]) -> list[str]:
    return [str(rule) for rule in rules]


def test_a_neighbour_egress_policy_becomes_a_block_in_the_pod_table() -> None:
    rendering = render([A_OUT_TCP_80], [A, B, REMOTE], {}, "n1", NAT_LOOPBACK)
    assert _text(rendering.table_of("ns/b")) == [
        "permit 10.1.0.1/32 -> any tcp * -> 80",
        "deny 10.1.0.1/32 -> any any * -> *",
        "permit any -> any any * -> *",
    ]
    assert rendering.table_of("ns/a") == ()  # a is not ingress-isolated, no neighbour block
    assert _text(rendering.global_rules) == [
        "permit 10.1.0.1/32 -> any tcp * -> 80",
        "deny 10.1.0.1/32 -> any any * -> *",
        "permit any -> any any * -> *",
    ]


def test_the_block_is_the_intersection_of_both_sides() -> None:
    b_in_80_90 = policy(
        "b-in",
        "ns",
        {
            "podSelector": {"matchLabels": {"app": "b"}},
            "ingress": [{"ports": [{"port": 85, "endPort": 95}]}],
        },
    )
    a_out = policy(
        "a-out",
        "ns",
        {
            "podSelector": {"matchLabels": {"app": "a"}},
            "policyTypes": ["Egress"],
            "egress": [{"ports": [{"port": 80, "endPort": 90}, {"protocol": "UDP"}]}],
        },
    )
    rendering = render([b_in_80_90, a_out], [A, B], {}, "n1", NAT_LOOPBACK)
    assert _text(rendering.table_of("ns/b")) == [
        "permit 10.1.0.1/32 -> any tcp * -> 85-90",
        "deny 10.1.0.1/32 -> any any * -> *",
        f"permit {NAT_LOOPBACK}/32 -> any any * -> *",
        "permit any -> any tcp * -> 85-95",
        "deny any -> any any * -> *",
    ]


def test_pods_with_identical_tables_share_one_by_a_stable_id() -> None:
    deny_all = policy("deny", "ns", {"podSelector": {}})
    c = pod("ns", "c", {"app": "c"}, "10.1.0.3")
    rendering = render([deny_all], [A, B, c, REMOTE], {}, "n1", NAT_LOOPBACK)
    (table,) = set(rendering.pod_tables.values())
    assert rendering.pod_tables.keys() == {"ns/a", "ns/b", "ns/c"}
    assert table == table_id(rendering.tables[table])
    again = render([deny_all], [c, B, A, REMOTE], {}, "n1", NAT_LOOPBACK)
    assert again == rendering
