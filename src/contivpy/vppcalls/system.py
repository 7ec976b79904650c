"""VPP as a whole: its version and its process id.

In: an :class:`~contivpy.vppcalls.channel.ApiChannel`. Out: :class:`VppVersion`
(show_version) and the pid from control_ping (a new pid means VPP restarted).
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel


@dataclass(frozen=True)
class VppVersion:
    """What show_version reports."""

    program: str
    version: str
    build_date: str
    build_directory: str


async def show_version(vpp: ApiChannel) -> VppVersion:
    """The VPP's program name, version and build."""
    reply = await vpp.call("show_version")
    return VppVersion(
        program=reply.get_str("program"),
        version=reply.get_str("version"),
        build_date=reply.get_str("build_date"),
        build_directory=reply.get_str("build_directory"),
    )


async def vpp_pid(vpp: ApiChannel) -> int:
    """The VPP process id (control_ping_reply's vpe_pid)."""
    return (await vpp.call("control_ping")).get_int("vpe_pid")
