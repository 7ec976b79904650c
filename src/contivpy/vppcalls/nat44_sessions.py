"""NAT44-ED sessions, for ``ctl`` and idle-session cleanup.

In: a user (inside address and VRF), or a session to delete. Out: the users VPP tracks and
each user's sessions (``nat44_user_session_v3_dump``), as VPP 26.06 reports them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.nat44 import NatFlags

IPv4 = ipaddress.IPv4Address


@dataclass(frozen=True)
class NatUser:
    """An inside address with sessions."""

    ip: IPv4
    vrf_id: int
    sessions: int
    static_sessions: int


@dataclass(frozen=True)
class NatSession:
    """One translation: inside (address, port) <-> outside (address, port) with a peer."""

    inside_ip: IPv4
    inside_port: int
    outside_ip: IPv4
    outside_port: int
    protocol: int
    ext_host_ip: IPv4
    ext_host_port: int
    ext_host_nat_ip: IPv4
    ext_host_nat_port: int
    flags: NatFlags
    total_bytes: int
    total_packets: int
    #: seconds since the session last saw a packet
    idle: int
    timed_out: bool


async def dump_users(vpp: ApiChannel) -> list[NatUser]:
    """Every user."""
    return [
        NatUser(
            IPv4(d.get_bytes("ip_address")),
            d.get_int("vrf_id"),
            d.get_int("nsessions"),
            d.get_int("nstaticsessions"),
        )
        for d in await vpp.dump("nat44_user_dump")
    ]


async def dump_sessions(vpp: ApiChannel, user: IPv4, vrf_id: int) -> list[NatSession]:
    """The sessions of one user."""
    details = await vpp.dump(
        "nat44_user_session_v3_dump", {"ip_address": user.packed, "vrf_id": vrf_id}
    )
    return [
        NatSession(
            inside_ip=IPv4(d.get_bytes("inside_ip_address")),
            inside_port=d.get_int("inside_port"),
            outside_ip=IPv4(d.get_bytes("outside_ip_address")),
            outside_port=d.get_int("outside_port"),
            protocol=d.get_int("protocol"),
            ext_host_ip=IPv4(d.get_bytes("ext_host_address")),
            ext_host_port=d.get_int("ext_host_port"),
            ext_host_nat_ip=IPv4(d.get_bytes("ext_host_nat_address")),
            ext_host_nat_port=d.get_int("ext_host_nat_port"),
            flags=NatFlags(d.get_int("flags")),
            total_bytes=d.get_int("total_bytes"),
            total_packets=d.get_int("total_pkts"),
            idle=d.get_int("time_since_last_heard"),
            timed_out=d.get_bool("is_timed_out"),
        )
        for d in details
    ]


async def delete_session(vpp: ApiChannel, session: NatSession, vrf_id: int) -> None:
    """Delete a session by its inside (address, port, protocol) and peer."""
    await vpp.call(
        "nat44_del_session",
        {
            "address": session.inside_ip.packed,
            "protocol": session.protocol,
            "port": session.inside_port,
            "vrf_id": vrf_id,
            "flags": int(NatFlags.INSIDE | NatFlags.EXT_HOST_VALID),
            "ext_host_address": session.ext_host_ip.packed,
            "ext_host_port": session.ext_host_port,
        },
    )
