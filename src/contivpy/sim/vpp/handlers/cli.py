"""cli_inband: VPP's debug CLI over the API (``contivpy.sim.vpp.cli`` interprets it).

In: the command line. Out: the reply text, with retval -1 when VPP's parser refuses the
command (the text then says why, as on a real VPP).
"""

from __future__ import annotations

from contivpy.sim.vpp.cli import run_cli
from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message


def cli_inband(state: VppState, msg: Message) -> Fields:
    retval, text = run_cli(state, msg.get_str("cmd"))
    return {"retval": retval, "reply": text}


HANDLERS: dict[str, Handler] = {"cli_inband": cli_inband}
