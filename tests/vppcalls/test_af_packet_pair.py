"""Real packets through a real VPP: two namespaces whose only path to each other is VPP.

Each namespace holds one end of a veth as ``eth0`` (IPv4 /24 and IPv6 /64 of one subnet); the
other end stays in the test's namespace, where VPP runs, and VPP attaches to it with af_packet.
Both af_packets in one bridge domain: ICMP echo (our own, :mod:`contivpy.linux.icmp_echo`)
crosses VPP both ways, IPv4 and IPv6 (ARP and neighbour discovery flooded by the domain). One
af_packet out of the domain: no echo comes back. Runs against the VPP named by
``CONTIVPY_VPP_SOCKET`` (``make test-vpp``), which must run in this network namespace; skips,
naming what is missing, on the simulator (it forwards no packets) or without root.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from contivpy.linux.icmp_echo import echo
from contivpy.vppcalls import af_packet, bridge_domains, interfaces
from contivpy.vppcalls.bridge_domains import BridgeDomain, BridgeDomainPort
from contivpy.vppcalls.client import VppClient
from linux.support import Sandbox, ip, needs_netns, unique
from vpp_target.target import (
    SOCKET_VARIABLE,
    VppTarget,
    make_client,
    running_on_real_vpp,
    vpp_target,
)

pytestmark = [
    pytest.mark.realvpp,
    needs_netns,
    pytest.mark.skipif(
        not running_on_real_vpp(),
        reason=f"sends packets through a real VPP: set {SOCKET_VARIABLE} to one running in "
        "this network namespace (the simulator forwards no packets)",
    ),
]

BD_ID = 61
#: (IPv4, IPv6) of eth0 in the left and the right namespace: one subnet, so no router
LEFT = ("10.61.0.1", "fd61::1")
RIGHT = ("10.61.0.2", "fd61::2")


async def replies(netns: str, address: str, count: int = 3) -> int:
    """Echo replies from ``address`` to ``count`` requests sent from ``netns``."""
    return (await asyncio.to_thread(echo, address, count, netns=netns, interval=0.1)).received


async def attach(
    vpp: VppClient, target: VppTarget, sandbox: Sandbox, addresses: tuple[str, str]
) -> tuple[str, int]:
    """A namespace whose eth0 is a veth to VPP: its name and the af_packet's sw_if_index."""
    netns = sandbox.netns_name()
    ip("netns", "add", netns)
    ip("-n", netns, "link", "set", "lo", "up")
    vpp_side = target.host_link(unique("cvt"))
    peer = f"{vpp_side[:11]}-p"  # the name VppTarget.host_link gives the other end
    ip("link", "set", peer, "netns", netns)
    ip("-n", netns, "link", "set", peer, "name", "eth0")
    ip("-n", netns, "addr", "add", f"{addresses[0]}/24", "dev", "eth0")
    # nodad: usable at once, not after duplicate address detection's second or so
    ip("-n", netns, "addr", "add", f"{addresses[1]}/64", "dev", "eth0", "nodad")
    ip("-n", netns, "link", "set", "eth0", "up")
    index = await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec(vpp_side))
    await interfaces.set_admin_state(vpp, index, True)
    return netns, index


async def test_echo_crosses_a_vpp_af_packet_pair_in_one_bridge_domain(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with vpp_target(tmp_path) as target:
        vpp = make_client(target.socket_path)
        await vpp.start(connect_timeout=10)
        try:
            left, left_port = await attach(vpp, target, sandbox, LEFT)
            right, right_port = await attach(vpp, target, sandbox, RIGHT)
            # not bridged yet: VPP drops what reaches an interface outside any domain
            assert await replies(left, RIGHT[0], 2) == 0

            await bridge_domains.add_bridge_domain(vpp, BridgeDomain(bd_id=BD_ID))
            for port in (left_port, right_port):
                await bridge_domains.add_port(vpp, BridgeDomainPort(port, BD_ID))
            assert await replies(left, RIGHT[0]) == 3
            assert await replies(right, LEFT[0]) == 3
            assert await replies(left, RIGHT[1]) == 3
            assert await replies(right, LEFT[1]) == 3

            # the right af_packet leaves the domain: the path is gone, both ways
            await bridge_domains.remove_port(vpp, BridgeDomainPort(right_port, BD_ID))
            assert await replies(left, RIGHT[0], 2) == 0
            assert await replies(right, LEFT[1], 2) == 0
        finally:
            await vpp.close()
