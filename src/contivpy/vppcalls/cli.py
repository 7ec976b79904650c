"""VPP's debug CLI over the binary API: ``cli_inband``.

In: a VppClient and one CLI command line as ``vppctl`` takes it (``show interface``). Out:
:class:`CliReply`, VPP's text and whether VPP accepted the command. VPP answers a command it
cannot parse with retval -1 and its own error text in the reply (``show: unknown input
`foo'``); that text is the answer an operator needs, so it is returned rather than raised.
Other failures (not connected, a protocol error) raise as every call does.

The command goes to VPP as it is: any CLI command, configuration ones included, which change
VPP behind the agent's back (a later resync repairs what the agent owns).
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.client import VppClient

#: VPP's limit is its API message size; a command line is short
MAX_COMMAND_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class CliReply:
    """What VPP printed, and its retval (0: the command ran; -1: VPP refused it)."""

    text: str
    retval: int

    @property
    def ok(self) -> bool:
        return self.retval == 0


async def cli_inband(vpp: VppClient, command: str) -> CliReply:
    """Run one CLI command in VPP and return its output."""
    if len(command) > MAX_COMMAND_LENGTH:
        raise ValueError(f"CLI command longer than {MAX_COMMAND_LENGTH} characters")
    reply = await vpp.call("cli_inband", {"cmd": command}, check=False)
    return CliReply(text=reply.get_str("reply"), retval=reply.retval or 0)
