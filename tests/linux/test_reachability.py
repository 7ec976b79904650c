"""Packets flow: two namespaces wired by the scheduler can ping each other.

The pod side is what IPNet puts for a pod (eth0 with <podIP>/32, a link route to the
gateway, a default route via it, a static ARP for it); a second namespace plays VPP's part:
the other veth end carries the gateway's IP and MAC and a link route back to the pod.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest

from contivpy.linux import keys
from contivpy.linux.models import LinuxInterface, LinuxRoute, LinuxRouteScope
from contivpy.linux.netlink import Netlink
from contivpy.scheduler import Txn, ValueState
from linux.support import Sandbox, needs_netns
from linux.wiring import (
    GW_IP,
    GW_MAC,
    POD_IP,
    VETH_HOST,
    VETH_POD,
    linux_scheduler,
    pod_values,
)

pytestmark = [
    needs_netns,
    pytest.mark.skipif(shutil.which("ping") is None, reason="needs `ping` (iputils-ping)"),
]


def ping(netns: str, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-c1", "-W1", address],
        capture_output=True,
        text=True,
        check=False,
    )


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

        there = ping(pod.name or "", GW_IP)
        assert there.returncode == 0, there.stdout + there.stderr
        back = ping(node.name or "", POD_IP)
        assert back.returncode == 0, back.stdout + back.stderr

        # without the link route to the gateway, the gateway is unreachable (and the default
        # route via it waits)
        link_route = keys.route_key(f"{GW_IP}/32", VETH_POD)
        await scheduler.commit(Txn({link_route: None}))
        default = keys.route_key("0.0.0.0/0", VETH_POD)
        assert scheduler.status(default).state is ValueState.PENDING
        assert ping(pod.name or "", GW_IP).returncode != 0
