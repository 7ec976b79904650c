"""Text views of the simulated VPP, as ``vppctl`` prints them.

In: a :class:`~contivpy.sim.vpp.state.VppState`. Out: ``show interface addr``: interfaces by
name with their admin state, L2 mode (bridge with BVI marker, or cross-connect), unnumbered
source and L3 addresses (with the table when it is not table 0)::

    local0 (dn):
    loop0 (up):
      L2 bridge bd-id 1 idx 1 shg 0 bvi
      L3 10.1.1.1/24
    tap0 (up):
      unnumbered, use loop0
      L3 10.1.1.1/24
"""

from __future__ import annotations

from contivpy.sim.vpp.model import Interface, PortType
from contivpy.sim.vpp.state import VppState


def _l2_line(state: VppState, iface: Interface) -> str | None:
    if iface.xconnect_to is not None:
        peer = state.interfaces.get(iface.xconnect_to)
        return f"L2 xconnect {peer.name if peer else iface.xconnect_to}"
    if iface.bd_id is None:
        return None
    bd = state.bridge_domains[iface.bd_id]
    member = bd.members[iface.sw_if_index]
    line = f"L2 bridge bd-id {bd.bd_id} idx {bd.bd_id} shg {member.shg}"
    return line + (" bvi" if member.port_type == PortType.BVI else "")


def _l3_lines(state: VppState, iface: Interface) -> list[str]:
    lines = []
    for address in iface.addresses:
        table = iface.table_id(address.version)
        suffix = f" ip{address.version} table-id {table}" if table else ""
        lines.append(f"L3 {address}{suffix}")
    return lines


def show_interface_addr(state: VppState) -> str:
    """``show interface addr``."""
    out = []
    for iface in sorted(state.interfaces.values(), key=lambda i: i.name):
        out.append(f"{iface.name} ({'up' if iface.admin_up else 'dn'}):")
        l2 = _l2_line(state, iface)
        if l2 is not None:
            out.append("  " + l2)
        if iface.unnumbered_of is not None:
            source = state.interfaces.get(iface.unnumbered_of)
            if source is not None:
                out.append(f"  unnumbered, use {source.name}")
                out.extend("  " + line for line in _l3_lines(state, source))
        out.extend("  " + line for line in _l3_lines(state, iface))
    return "\n".join(out) + "\n"
