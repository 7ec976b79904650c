"""``ctl nat sessions``' source: the NAT44-ED sessions read from VPP through vppcalls
(nat44_show_running_config, nat44_user_dump, nat44_user_session_v3_dump). Runs on the
simulator, or on a real VPP 26.06 with CONTIVPY_VPP_SOCKET; the session made by real traffic
(VPP's own ping leaving by the output feature) needs the real VPP's CLI."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.agent.nat_view import nat_sessions
from contivpy.api.introspection import NatNotEnabledError, NatSessionView
from contivpy.vppcalls import interfaces, nat44, routes
from contivpy.vppcalls.cli import cli_inband
from contivpy.vppcalls.client import VppClient
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp


async def test_no_sessions_to_show_while_nat_is_disabled(vpp: VppClient) -> None:
    with pytest.raises(NatNotEnabledError, match="NAT44-ED is not enabled"):
        await nat_sessions(vpp)


async def test_enabled_nat_without_traffic_has_no_sessions(vpp: VppClient) -> None:
    await nat44.enable_nat44(vpp, sessions=1000)
    view = await nat_sessions(vpp)
    assert (view.sessions, view.users, view.max_sessions) == ((), 0, 1000)


# Two loopbacks: 10.0.0.1 "inside", 192.168.1.1 the output-feature interface towards a
# gateway with a static neighbor, the pool 192.168.1.100. VPP's own ping from 10.0.0.1 to
# 8.8.8.8 leaves by the output feature and is source-NATed: one ICMP session. The route goes
# through the API: a route the CLI added is not the API's to delete, and the cleanup between
# tests deletes through the API.
_SETUP = (
    "set interface state {inside} up",
    "set interface state {outside} up",
    "set interface ip address {inside} 10.0.0.1/24",
    "set interface ip address {outside} 192.168.1.1/24",
    "nat44 plugin enable sessions 1000",
    "set interface nat44 out {outside} output-feature",
    "nat44 add address 192.168.1.100",
    "set ip neighbor {outside} 192.168.1.2 02:00:00:00:00:02",
)


async def _cli(vpp: VppClient, command: str) -> str:
    reply = await cli_inband(vpp, command)
    assert reply.ok, f"{command}: {reply.text}"
    return reply.text.strip()


async def test_a_real_translated_packet_is_one_session(target: VppTarget, vpp: VppClient) -> None:
    if not target.real:
        pytest.skip("VPP's ping CLI makes the traffic: needs a real VPP (CONTIVPY_VPP_SOCKET)")
    inside = await _cli(vpp, "create loopback interface")
    outside = await _cli(vpp, "create loopback interface")
    for command in _SETUP:
        await _cli(vpp, command.format(inside=inside, outside=outside))
    (out_index,) = [
        i.sw_if_index for i in await interfaces.dump_interfaces(vpp) if i.name == outside
    ]
    gateway = ipaddress.IPv4Address("192.168.1.2")
    path = routes.RoutePath.via_interface(out_index, gateway)
    await routes.add_route(vpp, routes.Route(ipaddress.ip_network("8.8.8.8/32"), (path,)))
    # (once in a few dozen runs VPP's ping sent nothing: another ping, a new identifier)
    for _ in range(3):
        await _cli(vpp, f"ping 8.8.8.8 source {inside} repeat 1")
        view = await nat_sessions(vpp)
        if view.sessions:
            break
    assert (view.users, view.max_sessions) == (1, 1000)
    (session,) = view.sessions
    # the ICMP identifier is the port, and VPP keeps it when the pool's address has it free
    identifier = session.inside_port
    assert session == NatSessionView(
        inside_ip="10.0.0.1",
        inside_port=identifier,
        outside_ip="192.168.1.100",
        outside_port=identifier,
        protocol="icmp",
        inside_vrf=0,
        ext_host_ip="8.8.8.8",
        ext_host_port=identifier,
        idle_seconds=session.idle_seconds,
        total_bytes=session.total_bytes,
        total_packets=1,
    )
    assert session.total_bytes > 0
