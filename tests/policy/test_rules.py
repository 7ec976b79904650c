"""Rules' total order, subnet subtraction and port sets."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from contivpy.policy.rules import (
    DENY_ALL,
    Action,
    PortRange,
    PortSet,
    Proto,
    Rule,
    sorted_rules,
    subtract,
)

net = ipaddress.ip_network


def test_more_specific_rules_sort_first_and_deny_all_last() -> None:
    rules = [
        DENY_ALL,
        Rule(Action.PERMIT, net("10.0.0.0/8")),
        Rule(Action.PERMIT, net("10.1.0.0/16"), protocol=Proto.TCP),
        Rule(Action.PERMIT, net("10.1.0.0/16"), protocol=Proto.TCP, dst_ports=PortRange(80, 80)),
        Rule(Action.DENY, net("10.1.0.1/32")),
        Rule(Action.PERMIT, None, net("10.2.0.0/16")),
    ]
    assert sorted_rules(rules) == (
        rules[4],  # /32 source
        rules[3],  # /16 source, TCP, one port
        rules[2],  # /16 source, TCP, every port
        rules[1],  # /8 source
        rules[5],  # any source, /16 destination
        DENY_ALL,
    )


def test_permit_sorts_before_an_otherwise_equal_deny() -> None:
    permit, deny = Rule(Action.PERMIT, protocol=Proto.UDP), Rule(Action.DENY, protocol=Proto.UDP)
    assert sorted_rules([deny, permit]) == (permit, deny)


def test_subtraction_leaves_the_fewest_cidrs() -> None:
    assert subtract(net("10.0.0.0/24"), [net("10.0.0.0/26")]) == (
        net("10.0.0.64/26"),
        net("10.0.0.128/25"),
    )
    assert subtract(net("10.0.0.0/24"), [net("10.0.0.0/25"), net("10.0.0.128/25")]) == ()
    assert subtract(net("10.0.0.0/24"), [net("192.168.0.0/16")]) == (net("10.0.0.0/24"),)


@given(
    st.integers(8, 28),
    st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_subtraction_keeps_exactly_the_addresses_outside_the_excepts(
    length: int, cuts: list[tuple[int, int]], probe: int
) -> None:
    block = ipaddress.ip_network((0x0A000000, length), strict=False)
    excepts = [ipaddress.ip_network((a, n), strict=False) for a, n in cuts]
    ip = ipaddress.ip_address(int(block.network_address) + probe % block.num_addresses)
    parts = subtract(block, excepts)
    expected = not any(ip in cut for cut in excepts)
    assert any(ip in part for part in parts) == expected


@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=4),
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), max_size=4),
)
def test_port_sets_behave_as_sets(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    def ranges(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(min(x, y), max(x, y)) for x, y in pairs]

    def members(ports: PortSet) -> set[int]:
        return {p for first, last in ports.ranges for p in range(first, last + 1)}

    left, right = PortSet(ranges(a)), PortSet(ranges(b))
    plain_l, plain_r = members(left), members(right)
    assert members(left | right) == plain_l | plain_r
    assert members(left & right) == plain_l & plain_r
    assert members(left - right) == plain_l - plain_r
