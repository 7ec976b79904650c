"""Packets flow: two namespaces wired by the scheduler answer each other's ICMP echo.

The pod side is what IPNet puts for a pod (eth0 with <podIP>/32, a link route to the
gateway, a default route via it, a static ARP for it); a second namespace plays VPP's part:
the other veth end carries the gateway's IP and MAC and a link route back to the pod.

The echo is our own (:mod:`contivpy.linux.icmp_echo`, raw sockets), not the ``ping`` binary, so
these tests run wherever namespaces can be made (root and iproute2), a fresh CI machine too.
Also the prober itself: IPv6, and replies to another probe in the same namespace not counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from contivpy.linux import keys
from contivpy.linux.icmp_echo import echo
from contivpy.linux.models import LinuxInterface, LinuxRoute, LinuxRouteScope
from contivpy.linux.netlink import Netlink
from contivpy.scheduler import Txn, ValueState
from linux.support import Sandbox, ip, needs_netns
from linux.wiring import (
    GW_IP,
    GW_MAC,
    POD_IP,
    VETH_HOST,
    VETH_POD,
    linux_scheduler,
    pod_values,
)

pytestmark = needs_netns


async def replies(netns: str, address: str, count: int = 1) -> int:
    """Echo replies from ``address`` to ``count`` requests sent from ``netns``."""
    return (await asyncio.to_thread(echo, address, count, netns=netns)).received


async def test_pod_and_gateway_ping_each_other(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    values = pod_values(pod, "gw0", host_netns=node)
    gateway_end = values[keys.interface_key(VETH_HOST)]
    assert isinstance(gateway_end, LinuxInterface)
    values[keys.interface_key(VETH_HOST)] = replace(
        gateway_end, phys_address=GW_MAC, ip_addresses=(f"{GW_IP}/32",)
    )
    values[keys.route_key(f"{POD_IP}/32", VETH_HOST)] = LinuxRoute(
        f"{POD_IP}/32", VETH_HOST, scope=LinuxRouteScope.LINK, namespace=node
    )
    async with linux_scheduler(netlink) as scheduler:
        result = await scheduler.resync_full(values)
        assert result.ok, result.record.errors

        assert await replies(pod.name or "", GW_IP, 3) == 3
        assert await replies(node.name or "", POD_IP, 3) == 3

        # without the link route to the gateway, the gateway is unreachable (and the default
        # route via it waits)
        link_route = keys.route_key(f"{GW_IP}/32", VETH_POD)
        await scheduler.commit(Txn({link_route: None}))
        default = keys.route_key("0.0.0.0/0", VETH_POD)
        assert scheduler.status(default).state is ValueState.PENDING
        assert await replies(pod.name or "", GW_IP) == 0


def _veth_between(sandbox: Sandbox, v4: tuple[str, str], v6: tuple[str, str]) -> tuple[str, str]:
    """Two namespaces joined by a veth, ``eth0`` each, with these IPv4 and IPv6 /24 and /64
    addresses (v6 without duplicate address detection, usable at once)."""
    left, right = sandbox.netns_name(), sandbox.netns_name()
    for name in (left, right):
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
    ip("-n", left, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
    ip("-n", left, "link", "set", "peer0", "netns", right)
    ip("-n", right, "link", "set", "peer0", "name", "eth0")
    for name, a4, a6 in ((left, v4[0], v6[0]), (right, v4[1], v6[1])):
        ip("-n", name, "addr", "add", f"{a4}/24", "dev", "eth0")
        ip("-n", name, "addr", "add", f"{a6}/64", "dev", "eth0", "nodad")
        ip("-n", name, "link", "set", "eth0", "up")
    return left, right


async def test_echo_crosses_a_veth_in_ipv4_and_ipv6(sandbox: Sandbox) -> None:
    left, right = _veth_between(sandbox, ("10.66.0.1", "10.66.0.2"), ("fd66::1", "fd66::2"))
    assert await replies(left, "10.66.0.2", 3) == 3
    assert await replies(right, "fd66::1", 3) == 3
    # an address nobody on the link holds: asked for, never answered
    assert await replies(left, "10.66.0.9", 2) == 0
    assert await replies(left, "fd66::9", 2) == 0


async def test_replies_to_another_probe_in_the_namespace_do_not_count(sandbox: Sandbox) -> None:
    """Every raw ICMP socket of a namespace sees every echo reply arriving there: a probe to a
    silent address, running while a probe to a live one gets its answers, counts none."""
    left, _ = _veth_between(sandbox, ("10.66.1.1", "10.66.1.2"), ("fd66:1::1", "fd66:1::2"))
    for live, silent in (("10.66.1.2", "10.66.1.9"), ("fd66:1::2", "fd66:1::9")):
        answered, unanswered = await asyncio.gather(
            asyncio.to_thread(echo, live, 5, netns=left, interval=0.05),
            asyncio.to_thread(echo, silent, 5, netns=left, interval=0.05, timeout=0.5),
        )
        assert (answered.sent, answered.received) == (5, 5)
        assert (unanswered.sent, unanswered.received) == (5, 0)
        # two probes to one live address: each counts its own replies, not twice as many
        one, other = await asyncio.gather(
            asyncio.to_thread(echo, live, 4, netns=left, interval=0.05),
            asyncio.to_thread(echo, live, 4, netns=left, interval=0.05),
        )
        assert (one.received, other.received) == (4, 4)
