"""The netlink client against the real kernel: namespaces, links, addresses, routes, neighbours.

Each test makes its own uniquely named namespaces (the sandbox removes them, and any link it
made in the agent's namespace, even when the test fails).
"""

from __future__ import annotations

import errno
import os

import pytest

from contivpy.errors import PermanentError
from contivpy.linux.errors import (
    LinkNotFoundError,
    NetnsNotFoundError,
    ObjectExistsError,
    ObjectMissingError,
)
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import LinkSettings, NetnsRef, RouteScope, RouteSpec
from linux.support import Sandbox, ip, needs_netns

pytestmark = needs_netns


async def test_named_namespaces(netlink: Netlink, sandbox: Sandbox) -> None:
    own_netns = os.readlink("/proc/thread-self/ns/net")
    name = sandbox.netns_name()
    netns = await netlink.create_netns(name)
    assert netns == NetnsRef.named(name)
    assert name in await netlink.list_netns()
    assert name in ip("netns", "list")
    assert await netlink.netns_exists(netns)
    with pytest.raises(ObjectExistsError):
        await netlink.create_netns(name)
    # the agent's own thread never left its namespace
    assert "lo" in {link.name for link in await netlink.links()}
    assert await netlink.delete_netns(name)
    assert not await netlink.delete_netns(name)
    assert not await netlink.netns_exists(netns)
    assert os.readlink("/proc/thread-self/ns/net") == own_netns


async def test_veth_with_peer_in_another_namespace(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    host = sandbox.host_link_name()
    await netlink.create_veth(host, "eth0", None, pod)
    await netlink.set_link(
        "eth0",
        LinkSettings(up=True, mtu=1400, mac="02:FE:00:00:00:05", alias="contivpy:test"),
        pod,
    )
    eth0 = await netlink.link("eth0", pod)
    assert (eth0.kind, eth0.mtu, eth0.mac, eth0.alias, eth0.admin_up) == (
        "veth",
        1400,
        "02:fe:00:00:00:05",
        "contivpy:test",
        True,
    )
    assert (await netlink.link(host)).kind == "veth"
    assert "eth0" in ip("-n", pod.name or "", "link", "show")
    # rename an up link (taken down for it and brought back), then move it home
    await netlink.set_link("eth0", LinkSettings(name="eth1"), pod)
    assert (await netlink.link("eth1", pod)).admin_up
    back = sandbox.host_link_name()
    await netlink.move_link("eth1", None, pod, new_name=back)
    assert {link.name for link in await netlink.links(pod)} == {"lo"}
    assert (await netlink.link(back)).alias == "contivpy:test"
    await netlink.delete_link(back)
    with pytest.raises(LinkNotFoundError):
        await netlink.link(host)  # the peer went with it


async def test_addresses_routes_neighbours(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    await netlink.create_veth("eth0", "peer0", pod, pod)
    await netlink.set_link("eth0", LinkSettings(up=True), pod)
    await netlink.add_address("eth0", "10.1.1.5/32", pod)
    with pytest.raises(ObjectExistsError) as raised:
        await netlink.add_address("eth0", "10.1.1.5/32", pod)
    assert raised.value.errno_name == "EEXIST"
    assert raised.value.__cause__ is not None  # pyroute2's error, chained
    link_route = RouteSpec("10.1.1.1/32", "eth0", scope=RouteScope.LINK)
    default = RouteSpec("0.0.0.0/0", "eth0", gateway="10.1.1.1")
    await netlink.add_route(link_route, pod)
    await netlink.add_route(default, pod)
    await netlink.set_neighbour("eth0", "10.1.1.1", "02:fe:00:00:00:01", pod)
    index = (await netlink.link("eth0", pod)).index
    addresses = {a.address for a in await netlink.addresses(pod) if a.link_index == index}
    assert "10.1.1.5/32" in addresses
    routes = {(r.dst, r.gateway, r.scope) for r in await netlink.routes(pod) if not r.kernel_added}
    assert routes == {("10.1.1.1/32", "", 253), ("0.0.0.0/0", "10.1.1.1", 0)}
    static = [n for n in await netlink.neighbours(pod) if n.permanent]
    assert [(n.ip, n.mac, n.link_index) for n in static] == [
        ("10.1.1.1", "02:fe:00:00:00:01", index)
    ]
    assert "default via 10.1.1.1 dev eth0" in ip("-n", pod.name or "", "route")
    await netlink.delete_neighbour("eth0", "10.1.1.1", pod)
    await netlink.delete_route(default, pod)
    await netlink.delete_address("eth0", "10.1.1.5/32", pod)
    with pytest.raises(ObjectMissingError):
        await netlink.delete_route(default, pod)
    with pytest.raises(ObjectMissingError):
        await netlink.delete_neighbour("eth0", "10.1.1.1", pod)
    assert not [n for n in await netlink.neighbours(pod) if n.permanent]


async def test_sysctl_is_per_namespace(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    name = "net.ipv4.ip_forward"
    before = await netlink.read_sysctl(name)
    flipped = "0" if before == "1" else "1"
    await netlink.write_sysctl(name, flipped, pod)
    assert await netlink.read_sysctl(name, pod) == flipped
    assert await netlink.read_sysctl(name) == before  # the agent's namespace is untouched


async def test_errors_name_what_is_missing(netlink: Netlink, sandbox: Sandbox) -> None:
    gone = NetnsRef.named(sandbox.netns_name())  # never created
    with pytest.raises(NetnsNotFoundError) as raised:
        await netlink.links(gone)
    assert raised.value.path == gone.path
    assert isinstance(raised.value, PermanentError)
    pod = await netlink.create_netns(sandbox.netns_name())
    with pytest.raises(LinkNotFoundError, match="no-such-link"):
        await netlink.set_link("no-such-link", LinkSettings(up=True), pod)
    with pytest.raises(LinkNotFoundError):
        await netlink.add_address("no-such-link", "10.0.0.1/24", pod)
    assert NetnsNotFoundError(gone.path).errno == errno.ENOENT
