"""Property tests of the VPP key layout: every build/parse pair round-trips, derived keys parse
one way only, and one interface's dependency prefixes never match another interface's keys.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from contivpy.models import vpp_keys as keys
from contivpy.models.vpp_l3 import IpProtocol

KEYS = settings(max_examples=150, deadline=None)

SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@+=-",
    min_size=1,
    max_size=12,
).filter(lambda s: s not in keys.RESERVED_SEGMENTS)
INTERFACE_NAMES = (
    st.lists(SEGMENT, min_size=1, max_size=4)
    .map("/".join)
    .filter(lambda n: len(n) <= keys.MAX_NAME_LENGTH)
)
BD_NAMES = SEGMENT
IPS = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))
MACS = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02X}" for x in b))
VRFS = st.integers(min_value=0, max_value=0xFFFFFFFE)


@st.composite
def interface_addresses(draw: st.DrawFn) -> str:
    ip = draw(IPS)
    return f"{ip}/{draw(st.integers(0, ip.max_prefixlen))}"


@st.composite
def networks(draw: st.DrawFn) -> str:
    network = ipaddress.ip_network(draw(interface_addresses()), strict=False)
    return str(network)


@KEYS
@given(INTERFACE_NAMES)
def test_interface_names_are_accepted(name: str) -> None:
    assert keys.interface_name_problem(name) == ""
    assert keys.parse_interface_key(keys.interface_key(name)) == name
    assert keys.parse_xconnect_key(keys.xconnect_key(name)) == name
    assert keys.parse_unnumbered_key(keys.unnumbered_key(name)) == name
    assert keys.parse_has_ip_address_key(keys.has_ip_address_key(name)) == name
    assert keys.parse_proxy_arp_interface_key(keys.proxy_arp_interface_key(name)) == name


@KEYS
@given(VRFS, st.sampled_from(IpProtocol))
def test_vrf_table_keys(table_id: int, protocol: IpProtocol) -> None:
    assert keys.parse_vrf_table_key(keys.vrf_table_key(table_id, protocol)) == (table_id, protocol)


@KEYS
@given(
    VRFS, networks(), st.one_of(st.just(""), IPS.map(str)), st.one_of(st.just(""), INTERFACE_NAMES)
)
def test_route_keys(vrf: int, network: str, next_hop: str, interface: str) -> None:
    parts = keys.parse_route_key(keys.route_key(vrf, network, next_hop, interface))
    expected_hop = str(ipaddress.ip_address(next_hop)) if next_hop else ""
    assert parts == keys.RouteKeyParts(
        vrf, str(ipaddress.ip_network(network)), expected_hop, interface
    )


@KEYS
@given(INTERFACE_NAMES, IPS)
def test_arp_keys(interface: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert keys.parse_arp_key(keys.arp_key(interface, ip.exploded)) == (interface, str(ip))


@KEYS
@given(BD_NAMES, MACS, INTERFACE_NAMES)
def test_l2_keys(bd: str, mac: str, interface: str) -> None:
    assert keys.bridge_domain_name_problem(bd) == ""
    assert keys.parse_bridge_domain_key(keys.bridge_domain_key(bd)) == bd
    assert keys.parse_l2fib_key(keys.l2fib_key(bd, mac)) == (bd, mac.lower())
    assert keys.parse_bd_member_key(keys.bd_member_key(bd, interface)) == (bd, interface)


@KEYS
@given(INTERFACE_NAMES, INTERFACE_NAMES, interface_addresses(), VRFS, st.booleans())
def test_derived_interface_keys_parse_one_way(
    name: str, other: str, address: str, vrf: int, ipv6: bool
) -> None:
    canonical = str(ipaddress.ip_interface(address))
    built = {
        "address": keys.interface_address_key(name, address),
        "vrf": keys.interface_vrf_key(name, vrf, ipv6),
        "inherited": keys.inherited_vrf_key(name, other),
        "has-ip": keys.has_ip_address_key(name),
        "unnumbered": keys.unnumbered_key(name),
    }
    parsers = {
        "address": keys.parse_interface_address_key,
        "vrf": keys.parse_interface_vrf_key,
        "inherited": keys.parse_inherited_vrf_key,
        "has-ip": keys.parse_has_ip_address_key,
        "unnumbered": keys.parse_unnumbered_key,
    }
    expected = {
        "address": (name, canonical),
        "vrf": (name, vrf, ipv6),
        "inherited": (name, other),
        "has-ip": name,
        "unnumbered": name,
    }
    for kind, key in built.items():
        accepted = {k for k, parse in parsers.items() if parse(key) is not None}
        assert accepted == {kind}, (key, accepted)
        assert parsers[kind](key) == expected[kind]


@KEYS
@given(INTERFACE_NAMES, INTERFACE_NAMES, interface_addresses(), VRFS)
def test_prefixes_of_one_interface_miss_another(a: str, b: str, address: str, vrf: int) -> None:
    if a == b:
        return
    for key in (
        keys.interface_address_key(b, address),
        keys.interface_vrf_key(b, vrf, False),
        keys.inherited_vrf_key(b, a),
    ):
        assert not key.startswith(keys.interface_address_prefix(a))
        assert not key.startswith(keys.interface_vrf_prefix(a))


def test_reserved_and_malformed_names_are_refused() -> None:
    assert keys.interface_name_problem("a/vrf/b") == "segment 'vrf' is reserved by the key layout"
    assert keys.interface_name_problem("unnumbered/x").startswith("segment 'unnumbered'")
    assert keys.interface_name_problem("a//b").startswith("must not start or end")
    assert keys.interface_name_problem("x" * 64) == "longer than 63 characters"
    assert keys.interface_name_problem("a b").startswith("segment 'a b' has characters")
    assert keys.bridge_domain_name_problem("a/b") == "must not contain '/'"
    assert keys.parse_route_key("config/vpp/v2/route/vrf/x/dst/10.0.0.0/8/gw/") is None
    assert keys.parse_vrf_table_key("config/vpp/v2/vrf-table/id/1/protocol/IPX") is None
