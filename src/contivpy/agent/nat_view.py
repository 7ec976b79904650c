"""The NAT44-ED sessions of this node's VPP, for ``ctl nat sessions``.

In: the agent's VPP channel. Out: a ``NatSessionsView`` read through vppcalls
(``nat44_show_running_config``, ``nat44_user_dump``, then ``nat44_user_session_v3_dump`` per
user), sorted by inside VRF, address, port, protocol and peer; ``NatNotEnabledError`` when
NAT44-ED is off (VPP then holds no NAT state at all). Read-only: nothing is written to VPP.
"""

from __future__ import annotations

from contivpy.api.introspection import (
    NatNotEnabledError,
    NatSessionsView,
    NatSessionView,
)
from contivpy.vppcalls import nat44, nat44_sessions
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.nat44 import NatFlags

#: IP protocol numbers as operators name them; others are shown as numbers
_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 132: "sctp"}


async def nat_sessions(vpp: ApiChannel) -> NatSessionsView:
    """Every session of every user VPP reports."""
    config = await nat44.running_config(vpp)
    if not config.enabled:
        raise NatNotEnabledError("NAT44-ED is not enabled on this node's VPP")
    users = await nat44_sessions.dump_users(vpp)
    views: list[NatSessionView] = []
    for user in users:
        for session in await nat44_sessions.dump_sessions(vpp, user.ip, user.vrf_id):
            views.append(_view(session, user.vrf_id))
    views.sort(key=_order)
    return NatSessionsView(tuple(views), users=len(users), max_sessions=config.sessions)


def _view(session: nat44_sessions.NatSession, vrf_id: int) -> NatSessionView:
    twice_nat = NatFlags.TWICE_NAT in session.flags
    return NatSessionView(
        inside_ip=str(session.inside_ip),
        inside_port=session.inside_port,
        outside_ip=str(session.outside_ip),
        outside_port=session.outside_port,
        protocol=_PROTOCOLS.get(session.protocol, str(session.protocol)),
        inside_vrf=vrf_id,
        ext_host_ip=str(session.ext_host_ip),
        ext_host_port=session.ext_host_port,
        twice_nat=twice_nat,
        # VPP fills these for twice-NAT sessions only
        ext_host_nat_ip=str(session.ext_host_nat_ip) if twice_nat else "",
        ext_host_nat_port=session.ext_host_nat_port if twice_nat else 0,
        static=NatFlags.STATIC in session.flags,
        idle_seconds=session.idle,
        timed_out=session.timed_out,
        total_bytes=session.total_bytes,
        total_packets=session.total_packets,
    )


def _order(view: NatSessionView) -> tuple[int, tuple[int, ...], int, str, tuple[int, ...], int]:
    return (
        view.inside_vrf,
        _ip_key(view.inside_ip),
        view.inside_port,
        view.protocol,
        _ip_key(view.ext_host_ip),
        view.ext_host_port,
    )


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ip.split("."))
