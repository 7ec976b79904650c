"""Desired states and kernel snapshots shared by the Linux scheduler tests.

In: namespaces and names from a test's sandbox. Out: the pod-side values IPNet puts for one
pod in veth mode (Contiv-VPP §4.7) and :func:`pod_kernel`, what the kernel holds in the pod's
namespace, as comparable plain data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from contivpy.linux import keys
from contivpy.linux.models import (
    LinuxARP,
    LinuxInterface,
    LinuxInterfaceType,
    LinuxRoute,
    LinuxRouteScope,
)
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NetnsRef
from contivpy.linux.registration import register_linux_descriptors
from contivpy.scheduler import Descriptor, RetryPolicy, Scheduler
from linux.support import unique

POD_IP = "10.1.1.5"
GW_IP = "10.1.1.1"
POD_MAC = "02:fe:12:34:56:78"
GW_MAC = "02:fe:00:00:00:01"
FAST = RetryPolicy(period=0.01, backoff=2.0, max_attempts=1)

VETH_POD = "veth1-c1"  # sorts first: makes the pair in the pod's namespace
VETH_HOST = "veth2-c1"


def pod_values(
    pod: NetnsRef, host_end: str, host_netns: NetnsRef | None = None
) -> dict[str, object]:
    """eth0 in the pod with <podIP>/32 and its MAC, the other end ``host_end`` outside, a
    link-scope route to the gateway /32, a default route via it, a static ARP for it."""
    values: dict[str, object] = {
        keys.netns_key(pod): pod,
        keys.interface_key(VETH_POD): LinuxInterface(
            VETH_POD,
            LinuxInterfaceType.VETH,
            host_if_name="eth0",
            namespace=pod,
            phys_address=POD_MAC,
            ip_addresses=(f"{POD_IP}/32",),
            veth_peer=VETH_HOST,
        ),
        keys.interface_key(VETH_HOST): LinuxInterface(
            VETH_HOST,
            LinuxInterfaceType.VETH,
            host_if_name=host_end,
            namespace=host_netns,
            veth_peer=VETH_POD,
        ),
        keys.route_key(f"{GW_IP}/32", VETH_POD): LinuxRoute(
            f"{GW_IP}/32", VETH_POD, scope=LinuxRouteScope.LINK, namespace=pod
        ),
        keys.route_key("0.0.0.0/0", VETH_POD): LinuxRoute(
            "0.0.0.0/0", VETH_POD, gw_addr=GW_IP, namespace=pod
        ),
        keys.arp_key(VETH_POD, GW_IP): LinuxARP(VETH_POD, GW_IP, GW_MAC),
    }
    if host_netns is not None:
        values[keys.netns_key(host_netns)] = host_netns
    return values


@dataclass(frozen=True)
class PodKernel:
    """What the kernel holds in a pod's namespace (kernel-made entries left out)."""

    links: frozenset[tuple[str, str, bool, str]]  # (name, kind, up, mac)
    addresses: frozenset[tuple[str, str]]  # (link, ip/len), link-local left out
    routes: frozenset[tuple[str, str, str, int]]  # (dst, gateway, link, scope)
    neighbours: frozenset[tuple[str, str, str]]  # (link, ip, mac), permanent only


async def pod_kernel(netlink: Netlink, pod: NetnsRef) -> PodKernel:
    """Read the pod's namespace back (through netlink, not through the scheduler)."""
    links = await netlink.links(pod)
    names = {link.index: link.name for link in links}
    return PodKernel(
        links=frozenset((link.name, link.kind, link.admin_up, link.mac) for link in links),
        addresses=frozenset(
            (names[a.link_index], a.address)
            for a in await netlink.addresses(pod)
            if not a.is_link_local and names[a.link_index] != "lo"
        ),
        routes=frozenset(
            (r.dst, r.gateway, names.get(r.link_index, ""), r.scope)
            for r in await netlink.routes(pod)
            if not r.kernel_added
        ),
        neighbours=frozenset(
            (names[n.link_index], n.ip, n.mac) for n in await netlink.neighbours(pod) if n.permanent
        ),
    )


@asynccontextmanager
async def linux_scheduler(
    netlink: Netlink, owner: str = "", *extra: Descriptor
) -> AsyncIterator[Scheduler]:
    """A started scheduler with the Linux descriptors (and ``extra`` ones); ``owner``
    defaults to a unique one, so a concurrent test run's links are never taken for ours."""
    scheduler = Scheduler(retry=FAST, concurrency=8)
    register_linux_descriptors(scheduler, netlink, owner or unique("test-"))
    for descriptor in extra:
        scheduler.register(descriptor)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
