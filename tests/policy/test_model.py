"""A NetworkPolicy checked into a ContivPolicy: policy types, peers and ports, and the errors
that name the policy and the field."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from contivpy.models.k8s_codec import (
    LabelExpression,
    LabelOperator,
    LabelSelector,
    Policy,
    PolicyIngressRule,
    PolicyPeer,
)
from contivpy.policy.model import PolicyError, compile_policy
from contivpy.policy.rules import PortRange, Proto
from policy.support import policy


@pytest.mark.parametrize(
    ("spec", "ingress", "egress"),
    [
        ({"podSelector": {}}, True, False),
        ({"podSelector": {}, "egress": [{}]}, True, True),  # absent types: + Egress with rules
        ({"podSelector": {}, "policyTypes": ["Egress"]}, False, True),
        ({"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]}, True, False),
        ({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, True, True),
    ],
)
def test_policy_types(spec: dict[str, Any], ingress: bool, egress: bool) -> None:
    checked = policy("p", "ns", spec)
    assert (checked.ingress, checked.egress) == (ingress, egress)
    if not egress:
        assert checked.egress_rules == ()


def test_ports_by_number_range_name_and_protocol() -> None:
    checked = policy(
        "p",
        "ns",
        {
            "podSelector": {},
            "ingress": [
                {
                    "ports": [
                        {"port": 80},
                        {"port": 8000, "endPort": 8080, "protocol": "UDP"},
                        {"port": "http"},
                        {"protocol": "SCTP"},
                    ]
                }
            ],
        },
    )
    ports = checked.ingress_rules[0].ports
    assert [(p.protocol, p.ports, p.name) for p in ports] == [
        (Proto.TCP, PortRange(80, 80), ""),
        (Proto.UDP, PortRange(8000, 8080), ""),
        (Proto.TCP, PortRange(), "http"),
        (Proto.SCTP, PortRange(), ""),
    ]


def test_ip_block_with_except() -> None:
    checked = policy(
        "p",
        "ns",
        {
            "podSelector": {},
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "10.0.0.1/16", "except": ["10.0.1.0/24"]}}]}
            ],
        },
    )
    peer = checked.ingress_rules[0].peers[0]
    assert peer.block == ipaddress.ip_network("10.0.0.0/16")
    assert peer.excepts == (ipaddress.ip_network("10.0.1.0/24"),)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"from": [{"ipBlock": {"cidr": "10.0.0.x/8"}}]}, "spec.ingress[0].from[0].ipBlock.cidr:"),
        ({"from": [{"ipBlock": {"cidr": "10.0.0.1"}}]}, "spec.ingress[0].from[0].ipBlock.cidr:"),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]},
            "spec.ingress[0].from[0].ipBlock.except[0]: '10.1.0.0/24' is not strictly inside",
        ),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}}]},
            "spec.ingress[0].from[0].ipBlock.except[0]:",
        ),
        ({"ports": [{"port": 0}]}, "spec.ingress[0].ports[0].port: 0 is out of range"),
        ({"ports": [{"port": 80, "endPort": 79}]}, "spec.ingress[0].ports[0].endPort: 79"),
        ({"ports": [{"port": "http", "endPort": 90}]}, "spec.ingress[0].ports[0].endPort:"),
        ({"from": [{}]}, "spec.ingress[0].from[0]: a peer needs"),
    ],
)
def test_bad_fields_are_errors_naming_policy_and_field(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy("bad", "ns", {"podSelector": {}, "ingress": [rule]})
    assert caught.value.policy == "ns/bad"
    assert str(caught.value).startswith("NetworkPolicy ns/bad: ")
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_a_bad_operator_is_an_error_naming_policy_and_field() -> None:
    bad = LabelSelector(
        match_expressions=[LabelExpression(key="a", operator=LabelOperator.UNSPECIFIED)]
    )
    model = Policy(
        name="bad",
        namespace="ns",
        pod_selector=LabelSelector(),
        ingress_rules=[PolicyIngressRule(from_=[PolicyPeer(namespace_selector=bad)])],
    )
    where = r"ns/bad: spec\.ingress\[0\]\.from\[0\]\.namespaceSelector\.matchExpressions"
    with pytest.raises(PolicyError, match=where):
        compile_policy(model)
