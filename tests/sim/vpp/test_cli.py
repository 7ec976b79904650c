"""The simulator's CLI (cli_inband) against text a real VPP 26.06 printed for the same state:
the same columns, widths and words, so an operator reading `contivpy ctl vpp cli` on the
simulator reads what a real VPP would show."""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import bridge_domains, interface_ip, interfaces, l2fib, loopback, vxlan
from contivpy.vppcalls.bridge_domains import BridgeDomain, BridgeDomainPort
from contivpy.vppcalls.client import VppClient

# Printed by VPP 26.06 for: loop0 (de:ad:00:00:00:00, up, 10.1.1.1/24) the BVI of bridge
# domain 5; vxlan_tunnel0 (192.168.16.1 -> 192.168.16.2, VNI 10, up) in it with split
# horizon group 1 and a static L2 FIB entry; bridge domain 7 (no learning or flooding, ARP
# termination, MAC age 10). Interface indexes there were 1 (loop0) and 2 (the tunnel); the
# simulator has a NIC before them, so they are put in (single digits: the columns stay).
REAL_BRIDGE_DOMAINS = (
    "  BD-ID   Index   BSN  Age(min)  Learning  U-Forwrd   UU-Flood   Flooding  ARP-Term  "
    "arp-ufwd Learn-co Learn-li   BVI-Intf \n"
    "    5       1      0     off        on        on       flood        on       off       "
    "off        0    16777216    loop0   \n"
    "    7       2      0      10       off        on        drop       off        on       "
    "off        0    16777216     N/A    \n"
)
REAL_L2FIB = (
    "    Mac-Address     BD-Idx If-Idx BSN-ISN Age(min) static filter bvi         "
    "Interface-Name        \n"
    " de:ad:00:00:00:00    1      1      0/0      no      *      -     *               "
    "loop0            \n"
    " 12:2b:00:00:00:02    1      2      0/0      no      *      -     -           "
    "vxlan_tunnel0        \n"
    "L2FIB total/learned entries: 2/0  Last scan time: 0.0000e0sec  Learn limit: 16777216 \n"
)
REAL_VXLAN = (
    "[0] instance 0 src 192.168.16.1 dst 192.168.16.2 src_port 4789 dst_port 4789 vni 10 "
    "fib-idx 0 sw-if-idx 2 encap-dpo-idx 0 \n"
)
REAL_INTERFACE_HEADER = (
    "              Name               Idx    State  MTU (L3/IP4/IP6/MPLS)     Counter"
    "          Count     "
)


async def _real_vpp_scene(vpp: VppClient) -> tuple[int, int]:
    """The state above; the loopback's and the tunnel's sw_if_index."""
    loop = await loopback.create_loopback(vpp, loopback.LoopbackSpec(mac="de:ad:00:00:00:00"))
    await interfaces.set_admin_state(vpp, loop, True)
    await interface_ip.add_address(vpp, loop, ipaddress.ip_interface("10.1.1.1/24"))
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(bd_id=5))
    await bridge_domains.add_port(vpp, BridgeDomainPort(loop, 5, bvi=True))
    tunnel = await vxlan.create_vxlan_tunnel(
        vpp,
        vxlan.VxlanTunnel(
            ipaddress.ip_address("192.168.16.1"), ipaddress.ip_address("192.168.16.2"), 10
        ),
    )
    await interfaces.set_admin_state(vpp, tunnel, True)
    await bridge_domains.add_port(vpp, BridgeDomainPort(tunnel, 5, shg=1))
    await l2fib.add_l2fib_entry(vpp, l2fib.L2FibEntry(5, "12:2b:00:00:00:02", tunnel))
    seven = BridgeDomain(7, flood=False, uu_flood=False, learn=False, arp_term=True, mac_age=10)
    await bridge_domains.add_bridge_domain(vpp, seven)
    return loop, tunnel


async def test_l2_and_vxlan_views_match_a_real_vpp(sim: VppSimulator, vpp: VppClient) -> None:
    loop, tunnel = await _real_vpp_scene(vpp)
    assert sim.cli("show bridge-domain") == REAL_BRIDGE_DOMAINS
    l2fib_text = REAL_L2FIB.replace("    1      2      0/0", f"    1      {tunnel}      0/0")
    l2fib_text = l2fib_text.replace("    1      1      0/0", f"    1      {loop}      0/0")
    assert sim.cli("show l2fib verbose") == l2fib_text
    assert sim.cli("show l2fib") == REAL_L2FIB.splitlines(keepends=True)[-1]
    assert sim.cli("show vxlan tunnel") == REAL_VXLAN.replace("sw-if-idx 2", f"sw-if-idx {tunnel}")
    assert sim.cli("sh ver").startswith("vpp v26.06-release built by ")


async def test_interface_table_and_fib_read_like_a_real_vpp(
    sim: VppSimulator, vpp: VppClient
) -> None:
    loop, _ = await _real_vpp_scene(vpp)
    header, *rows = sim.cli("show interface").splitlines()
    assert header == REAL_INTERFACE_HEADER
    loop0 = next(row for row in rows if row.startswith("loop0 "))
    assert loop0.startswith(f"loop0                             {loop}      up   ")
    assert sim.cli("show interface loop0").splitlines() == [header, loop0]
    fib = sim.cli("show ip fib")
    assert fib.startswith(
        "ipv4-VRF:0, fib_index:0, flow hash:[src dst sport dport proto flowlabel ] epoch:0 "
    )
    assert "10.1.1.1/32\n  unicast-ip4-chain\n  [@0]: dpo-load-balance: [proto:ip4 index:" in fib
    assert "    [0] [@11]: dpo-receive: 10.1.1.1 on loop0\n" in fib
    assert "    [0] [@0]: dpo-drop ip4\n" in fib
    assert sim.cli("show ip table") == "[0] table_id:0 ipv4-VRF:0\n"
    assert sim.cli("show ip6 table") == "[0] table_id:0 ipv6-VRF:0\n"
