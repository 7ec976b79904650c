"""Contract of cli_inband (VPP's debug CLI over the API) on the simulator and on a real VPP:
what VPP holds shows in its own words, and a command VPP cannot parse comes back as VPP's
error text with retval -1, not as an exception."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.vppcalls import bridge_domains, cli, interface_ip, interfaces, loopback
from contivpy.vppcalls.bridge_domains import BridgeDomain, BridgeDomainPort
from contivpy.vppcalls.client import VppClient

pytestmark = pytest.mark.vpp


async def test_show_commands_show_what_vpp_holds(vpp: VppClient) -> None:
    loop = await loopback.create_loopback(vpp, loopback.LoopbackSpec(mac="02:00:00:00:00:b1"))
    await interfaces.set_admin_state(vpp, loop, True)
    await interface_ip.add_address(vpp, loop, ipaddress.ip_interface("10.1.1.1/24"))
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(bd_id=5))
    await bridge_domains.add_port(vpp, BridgeDomainPort(loop, 5, bvi=True))

    version = await cli.cli_inband(vpp, "show version")
    assert version.ok
    assert version.text.startswith("vpp v26.06")

    table = await cli.cli_inband(vpp, "show interface")
    header, *rows = table.text.splitlines()
    assert header.split() == [
        "Name",
        "Idx",
        "State",
        "MTU",
        "(L3/IP4/IP6/MPLS)",
        "Counter",
        "Count",
    ]
    assert any(row.split()[:3] == ["loop0", str(loop), "up"] for row in rows)

    addresses = await cli.cli_inband(vpp, "sh int addr")  # VPP takes unique prefixes
    assert "loop0 (up):\n  L2 bridge bd-id 5 " in addresses.text
    assert "  L3 10.1.1.1/24\n" in addresses.text

    domains = (await cli.cli_inband(vpp, "show bridge-domain")).text.splitlines()
    assert domains[0].split()[:2] == ["BD-ID", "Index"]
    assert domains[1].split()[0] == "5"
    assert domains[1].split()[-1] == "loop0"  # the BVI

    fib = (await cli.cli_inband(vpp, "show ip fib")).text
    assert fib.startswith("ipv4-VRF:0, fib_index:0, ")
    assert "\n10.1.1.1/32\n" in fib
    assert "dpo-receive: 10.1.1.1 on loop0" in fib
    assert (await cli.cli_inband(vpp, "show ip table")).text.startswith("[0] table_id:0 ")

    l2fib = (await cli.cli_inband(vpp, "show l2fib verbose")).text
    assert "02:00:00:00:00:b1" in l2fib  # VPP's own entry for the BVI's MAC
    assert "L2FIB total/learned entries: 1/0" in l2fib
    assert (await cli.cli_inband(vpp, "show vxlan tunnel")).text.startswith("No vxlan tunnels")


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("foo", "unknown input `foo'\n"),
        ("", "unknown input `'\n"),
        ("show foo bar", "show: unknown input `foo bar'\n"),
        ("show ip x", "show ip: unknown input `x'\n"),
        ("show interface nosuch", "show interface: unknown input `nosuch'\n"),
        ("show bridge-domain 9", "show bridge-domain: No such bridge domain 9\n"),
    ],
)
async def test_what_vpp_cannot_parse_is_its_error_text(
    vpp: VppClient, command: str, text: str
) -> None:
    reply = await cli.cli_inband(vpp, command)
    assert (reply.retval, reply.text) == (-1, text)
    assert not reply.ok
