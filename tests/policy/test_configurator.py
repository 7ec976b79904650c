"""A pod's rules per direction, exactly: PERMITs per peer and port, subnet subtraction, named
ports, the NAT loopback PERMIT and the final DENY, and when a pod is not isolated."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contivpy.policy.configurator import PodRules
from contivpy.policy.facts import PodFacts
from contivpy.policy.model import ContivPolicy
from contivpy.policy.render import local_rules
from policy.support import NAT_LOOPBACK, pod, policy

SERVER = pod("ns", "server", {"app": "server"}, "10.1.0.10", ports=[("http", "TCP", 8080)])
CLIENT = pod("ns", "client", {"app": "client"}, "10.1.0.20", node="n2")


def _rules(spec: dict[str, Any], pods: Iterable[PodFacts] = (SERVER, CLIENT)) -> PodRules:
    policies: list[ContivPolicy] = [policy("p", "ns", spec)]
    return local_rules(policies, pods, {}, "n1", NAT_LOOPBACK)["ns/server"].rules


def _text(rules: tuple[Any, ...]) -> list[str]:
    return [str(rule) for rule in rules]


def test_a_pod_no_policy_selects_is_not_isolated() -> None:
    assert _rules({"podSelector": {"matchLabels": {"app": "other"}}}) == PodRules()


def test_deny_all_ingress_keeps_the_nat_loopback() -> None:
    rules = _rules({"podSelector": {}})
    assert _text(rules.ingress) == [
        f"permit {NAT_LOOPBACK}/32 -> any any * -> *",
        "deny any -> any any * -> *",
    ]
    assert rules.egress == ()


def test_peer_pods_and_ports() -> None:
    rules = _rules(
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                    "ports": [{"port": 80}, {"port": 9000, "endPort": 9009, "protocol": "UDP"}],
                }
            ],
        }
    )
    assert _text(rules.ingress) == [
        "permit 10.1.0.20/32 -> any tcp * -> 80",
        "permit 10.1.0.20/32 -> any udp * -> 9000-9009",
        f"permit {NAT_LOOPBACK}/32 -> any any * -> *",
        "deny any -> any any * -> *",
    ]


def test_ip_block_except_is_subtracted_into_permits() -> None:
    rules = _rules(
        {
            "podSelector": {},
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.0.0.0/25"]}}]}
            ],
        }
    )
    assert _text(rules.ingress) == [
        f"permit {NAT_LOOPBACK}/32 -> any any * -> *",
        "permit 10.0.0.128/25 -> any any * -> *",
        "deny any -> any any * -> *",
    ]


def test_named_ingress_port_is_resolved_from_the_target_pod() -> None:
    rules = _rules({"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]})
    assert _text(rules.ingress) == [
        f"permit {NAT_LOOPBACK}/32 -> any any * -> *",
        "permit any -> any tcp * -> 8080",
        "deny any -> any any * -> *",
    ]


def test_named_egress_port_is_resolved_per_destination_pod() -> None:
    other = pod("ns", "api", {"app": "api"}, "10.1.0.30", ports=[("http", "TCP", 9090)])
    rules = _rules(
        {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "http"}]}]},
        (SERVER, CLIENT, other),
    )
    assert _text(rules.egress) == [
        "permit any -> 10.1.0.10/32 tcp * -> 8080",
        "permit any -> 10.1.0.30/32 tcp * -> 9090",
        "deny any -> any any * -> *",
    ]


def test_a_policy_admitting_everything_isolates_nothing() -> None:
    assert _rules({"podSelector": {}, "ingress": [{}]}) == PodRules()
