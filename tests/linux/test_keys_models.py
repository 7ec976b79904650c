"""Linux keys, namespace references, link tags and the descriptors' pure callbacks (no kernel)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contivpy.linux import keys
from contivpy.linux.descriptors.interface import InterfaceDescriptor
from contivpy.linux.descriptors.link_tags import LinkTag, link_alias, parse_alias, veth_temp_name
from contivpy.linux.descriptors.route import RouteDescriptor
from contivpy.linux.errors import (
    LinkNotFoundError,
    NetlinkRejectedError,
    NetlinkTransientError,
    NetnsNotFoundError,
    ObjectExistsError,
    ObjectMissingError,
    netlink_error,
)
from contivpy.linux.models import (
    LinuxHostInterface,
    LinuxInterface,
    LinuxInterfaceAddress,
    LinuxInterfaceType,
    LinuxRoute,
    LinuxRouteScope,
)
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NetnsRef
from contivpy.scheduler import InvalidValueError, Scheduler

POD = NetnsRef.named("pod1")
VETH1 = LinuxInterface(
    "veth1-c1",
    LinuxInterfaceType.VETH,
    host_if_name="eth0",
    namespace=POD,
    ip_addresses=("10.1.1.5/32",),
    veth_peer="veth2-c1",
)


def test_keys_round_trip() -> None:
    assert keys.interface_key("veth1-c1") == "config/linux/interfaces/v2/interface/veth1-c1"
    assert keys.parse_interface_key(keys.interface_key("veth1-c1")) == "veth1-c1"
    assert keys.route_key("0.0.0.0/0", "veth1-c1") == "config/linux/l3/v2/route/0.0.0.0/0/veth1-c1"
    assert keys.parse_route_key(keys.route_key("fd00::/64", "x")) == ("fd00::/64", "x")
    assert keys.arp_key("x", "10.1.1.1") == "config/linux/l3/v2/arp/x/10.1.1.1"
    assert keys.parse_arp_key(keys.arp_key("x", "fd00::1")) == ("x", "fd00::1")
    assert keys.netns_key(POD) == "config/linux/namespace/v2/netns/var/run/netns/pod1"
    assert keys.parse_netns_key(keys.netns_key(POD)) == POD
    address = keys.interface_address_key("x", "10.1.1.5/32")
    assert address == "linux/interface/x/address/10.1.1.5/32"
    assert keys.parse_interface_address_key(address) == ("x", "10.1.1.5/32")
    assert keys.parse_interface_address_key(keys.link_route_key("x", "10.1.1.1/32")) is None
    assert keys.parse_link_route_key(keys.link_route_key("x", "10.1.1.1/32")) == (
        "x",
        "10.1.1.1/32",
    )


def test_host_interface_keys_are_per_namespace() -> None:
    assert keys.host_interface_key("vpp1") == "linux/interface/host-name/vpp1"
    in_pod = keys.host_interface_key("eth0", POD)
    assert in_pod == "linux/interface/host-name/eth0/netns/var/run/netns/pod1"
    assert keys.parse_host_interface_key(in_pod) == ("eth0", POD)
    assert keys.parse_host_interface_key("linux/interface/host-name/vpp1") == ("vpp1", None)
    # neither is mistaken for an address of an interface called "host-name"
    assert keys.parse_interface_address_key(in_pod) is None


def test_netns_references() -> None:
    assert NetnsRef.of_pid(42).path == "/proc/42/ns/net"
    assert NetnsRef.named("a").name == "a"
    assert NetnsRef.at("/run/netns/a") == NetnsRef.named("a")
    assert NetnsRef.parse("a") == NetnsRef.parse("/var/run/netns/a")
    assert NetnsRef.of_pid(1).name is None
    for bad in ("", "a/b", ".."):
        with pytest.raises(ValueError, match="netns name"):
            NetnsRef.named(bad)
    with pytest.raises(ValueError, match="absolute"):
        NetnsRef("relative")


def test_link_tags() -> None:
    assert link_alias(VETH1) == "contivpy:veth:veth1-c1/veth2-c1"
    assert parse_alias(link_alias(VETH1)) == LinkTag(
        LinuxInterfaceType.VETH, "veth1-c1", "veth2-c1"
    )
    existing = LinuxInterface("vpp1-if", LinuxInterfaceType.EXISTING, host_if_name="vpp1")
    assert parse_alias(link_alias(existing)) == LinkTag(LinuxInterfaceType.EXISTING, "vpp1-if", "")
    # someone else's alias is never ours, even when it looks like a logical name
    assert parse_alias("veth1-c1") is None
    assert parse_alias("contivpy:bogus:x") is None
    temp = veth_temp_name("veth2-c1")
    assert temp.startswith("veth-")
    assert len(temp) <= 15
    assert temp != veth_temp_name("veth2-c2")


def test_errors_classify_by_errno() -> None:
    assert isinstance(netlink_error("x", 17), ObjectExistsError)
    assert isinstance(netlink_error("x", 19), ObjectMissingError)
    assert isinstance(netlink_error("x", 22), NetlinkRejectedError)
    assert isinstance(netlink_error("x", 16), NetlinkTransientError)
    error = netlink_error("add address", 17, "File exists")
    assert error.errno_name == "EEXIST"
    assert str(error) == "add address: EEXIST (File exists)"
    descriptor = InterfaceDescriptor(Netlink(), Scheduler())
    assert not descriptor.is_retriable(NetnsNotFoundError("/var/run/netns/x"))
    assert descriptor.is_retriable(LinkNotFoundError("eth0", "netns x"))


def test_interface_validation_names_the_field() -> None:
    descriptor = InterfaceDescriptor(Netlink(), Scheduler())
    key = keys.interface_key(VETH1.name)
    descriptor.validate(key, VETH1)
    cases = {
        "veth_peer": LinuxInterface("a", LinuxInterfaceType.VETH),
        "host_if_name": LinuxInterface("a", LinuxInterfaceType.EXISTING, host_if_name="x" * 16),
        "ip_addresses[0]": LinuxInterface(
            "a", LinuxInterfaceType.EXISTING, ip_addresses=("1.2.3.4",)
        ),
        "vpp_tap": LinuxInterface("a", LinuxInterfaceType.TAP_TO_VPP),
        "phys_address": LinuxInterface("a", LinuxInterfaceType.EXISTING, phys_address="zz"),
        "mtu": LinuxInterface("a", LinuxInterfaceType.EXISTING, mtu=10),
    }
    for field, value in cases.items():
        with pytest.raises(InvalidValueError) as raised:
            descriptor.validate(keys.interface_key("a"), value)
        assert raised.value.field_name == field
    with pytest.raises(InvalidValueError, match="key"):
        descriptor.validate(keys.interface_key("other"), VETH1)


def test_interface_dependencies_and_derived_values() -> None:
    descriptor = InterfaceDescriptor(Netlink(), Scheduler())
    first = {d.key for d in descriptor.dependencies("k", VETH1)}
    assert first == {keys.netns_key(POD)}  # veth1 < veth2: it makes the pair
    second = LinuxInterface("veth2-c1", LinuxInterfaceType.VETH, veth_peer="veth1-c1")
    assert {d.key for d in descriptor.dependencies("k", second)} == {keys.interface_key("veth1-c1")}
    tap = LinuxInterface("linux-tap-c1", LinuxInterfaceType.TAP_TO_VPP, vpp_tap="vpp-tap-c1")
    assert {d.key for d in descriptor.dependencies("k", tap)} == {
        "config/vpp/v2/interfaces/vpp-tap-c1"
    }
    derived = {kv.key: kv.value for kv in descriptor.derived("k", VETH1)}
    assert derived == {
        "linux/interface/veth1-c1/address/10.1.1.5/32": LinuxInterfaceAddress(
            "veth1-c1", "10.1.1.5/32", "eth0", POD
        ),
        keys.host_interface_key("eth0", POD): LinuxHostInterface("eth0", POD),
    }


def test_vpp_interface_prefix_matches_the_vpp_models() -> None:
    vpp_keys = pytest.importorskip("contivpy.models.vpp_keys")
    assert keys.vpp_interface_key("x") == vpp_keys.interface_key("x")


def test_interface_equivalence_ignores_what_was_left_to_the_kernel() -> None:
    descriptor = InterfaceDescriptor(Netlink(), Scheduler())
    read_back = LinuxInterface(
        "veth1-c1",
        LinuxInterfaceType.VETH,
        host_if_name="eth0",
        namespace=POD,
        mtu=1500,
        phys_address="02:fe:aa:bb:cc:dd",
        ip_addresses=(),
        veth_peer="veth2-c1",
    )
    assert descriptor.equivalent("k", read_back, VETH1)
    assert not descriptor.equivalent("k", read_back, replace(VETH1, mtu=1400))
    assert descriptor.equivalent("k", read_back, replace(VETH1, phys_address="02:FE:AA:BB:CC:DD"))
    assert not descriptor.equivalent("k", read_back, replace(VETH1, enabled=False))
    assert descriptor.needs_recreate("k", read_back, replace(VETH1, namespace=None))
    assert not descriptor.needs_recreate("k", read_back, replace(VETH1, host_if_name="eth1"))


def test_route_gateway_waits_for_reachability() -> None:
    descriptor = RouteDescriptor(Netlink(), Scheduler())
    default = LinuxRoute("0.0.0.0/0", "veth1-c1", gw_addr="10.1.1.1", namespace=POD)
    descriptor.validate(keys.route_key("0.0.0.0/0", "veth1-c1"), default)
    outgoing, reachable = descriptor.dependencies("k", default)
    assert outgoing.key == keys.interface_key("veth1-c1")
    assert reachable.matches(keys.link_route_key("veth1-c1", "10.1.1.1/32"))
    assert reachable.matches(keys.interface_address_key("veth1-c1", "10.1.1.9/24"))
    assert not reachable.matches(keys.interface_address_key("veth1-c1", "10.1.1.5/32"))
    assert not reachable.matches(keys.link_route_key("other", "10.1.1.1/32"))
    link = LinuxRoute("10.1.1.1/32", "veth1-c1", scope=LinuxRouteScope.LINK, namespace=POD)
    assert [kv.key for kv in descriptor.derived("k", link)] == [
        keys.link_route_key("veth1-c1", "10.1.1.1/32")
    ]
    v6 = LinuxRoute("fd00::/64", "x", gw_addr="fd00::1")
    assert descriptor.equivalent("k", replace(v6, metric=1024), v6)
    with pytest.raises(InvalidValueError) as raised:
        descriptor.validate(
            keys.route_key(link.dst_network, "veth1-c1"), replace(link, gw_addr="10.1.1.1")
        )
    assert raised.value.field_name == "scope"
