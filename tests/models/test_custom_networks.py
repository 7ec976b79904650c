"""CustomNetworks checked: which are accepted, and each refusal naming the object and field."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.models.custom_networks import NetworkKind, check_networks
from contivpy.models.k8s_codec import CustomNetwork, NetworkType

RESERVED = {"pod subnet": ipaddress.ip_network("10.1.0.0/16")}


def l3(name: str, cidr: str, length: int = 24, namespace: str = "default") -> CustomNetwork:
    return CustomNetwork(
        name=name,
        namespace=namespace,
        type=NetworkType.L3,
        subnet_cidr=cidr,
        subnet_one_node_prefix_len=length,
    )


def test_valid_networks_of_each_kind_are_accepted() -> None:
    accepted, problems = check_networks(
        [
            l3("net1", "10.200.0.0/16"),
            CustomNetwork(name="l2net", namespace="default", type=NetworkType.L2),
            CustomNetwork(name="stubby", namespace="default", type=NetworkType.STUB),
        ],
        RESERVED,
    )
    assert problems == {}
    assert accepted["net1"].kind is NetworkKind.L3
    assert accepted["net1"].subnet == ipaddress.ip_network("10.200.0.0/16")
    assert accepted["net1"].node_prefix_len == 24
    assert accepted["l2net"].kind is NetworkKind.L2
    assert accepted["stubby"].kind is NetworkKind.STUB


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (l3("n", "10.300.0.0/16"), "spec.subnetCIDR '10.300.0.0/16': not a network address"),
        (l3("n", "10.200.0.1/16"), "spec.subnetCIDR '10.200.0.1/16': not a network address"),
        (l3("n", ""), "spec.subnetCIDR: an L3 network needs one"),
        (l3("n", "10.200.0.0/16", 16), "spec.subnetOneNodePrefixLen 16: must be longer"),
        (l3("n", "10.200.0.0/16", 31), "spec.subnetOneNodePrefixLen 31: must be longer"),
        (l3("n", "10.1.128.0/17"), "spec.subnetCIDR 10.1.128.0/17 overlaps the pod subnet"),
        (l3("default", "10.200.0.0/16"), "metadata.name: 'default' is a built-in network"),
        (l3("x" * 41, "10.200.0.0/16"), "metadata.name: longer than 40 characters"),
        (
            CustomNetwork(
                name="n", namespace="default", type=NetworkType.L2, subnet_cidr="10.5.0.0/16"
            ),
            "spec.subnetCIDR: an L2 network has no subnet",
        ),
        (CustomNetwork(name="n", namespace="default"), "spec.type: missing"),
    ],
)
def test_a_bad_network_is_refused_naming_the_object_and_field(
    model: CustomNetwork, expected: str
) -> None:
    accepted, problems = check_networks([model], RESERVED)
    assert accepted == {}
    owner = f"default/{model.name}"
    assert len(problems[owner]) == 1
    assert problems[owner][0].startswith(f"CustomNetwork {owner} {expected}")


def test_the_first_of_two_overlapping_or_same_named_networks_keeps_it() -> None:
    accepted, problems = check_networks(
        [
            l3("b-net", "10.200.0.0/16"),
            l3("a-net", "10.200.128.0/17"),
            l3("a-net", "10.210.0.0/16", namespace="other"),
        ]
    )
    assert set(accepted) == {"a-net"}
    assert accepted["a-net"].owner == "default/a-net"
    assert "overlaps network a-net (10.200.128.0/17, default/a-net)" in problems["default/b-net"][0]
    assert "already defined by default/a-net" in problems["other/a-net"][0]
