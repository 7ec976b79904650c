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

and ``show memif``: the socket files (whether VPP listens there, for how many masters) and
each memif: its peer's names while connected, socket, id and mode, flags, the rings and
buffer size the connection runs with, why it last disconnected or was refused, and each ring
while connected. Never a secret::

    sockets
      id  listener    filename
      0   no          /run/vpp/memif.sock
      1   yes (1)     /var/run/contiv/memif/abc/memif.sock

    interface memif1/1
      remote-name "VPP 26.06-release"
      remote-interface "memif0/0"
      socket-id 1 id 1 mode ethernet
      flags admin-up connected
      num-s2m-rings 1 num-m2s-rings 1 buffer-size 0 num-regions 1
      slave-to-master ring 0:
        ring-size 1024
      master-to-slave ring 0:
        ring-size 1024
"""

from __future__ import annotations

from contivpy.sim.vpp.model import Interface, Kind, MemifInfo, PortType
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


_MEMIF_MODES = {0: "ethernet", 1: "ip", 2: "punt-inject"}


def _memif_lines(iface: Interface, info: MemifInfo) -> list[str]:
    lines = [f"interface {iface.name}"]
    if info.connected and info.remote_name:
        lines.append(f'  remote-name "{info.remote_name}"')
    if info.connected and info.remote_interface:
        lines.append(f'  remote-interface "{info.remote_interface}"')
    mode = _MEMIF_MODES.get(info.mode, str(info.mode))
    lines.append(f"  socket-id {info.socket_id} id {info.id} mode {mode}")
    flags = [
        name
        for name, present in (
            ("admin-up", iface.admin_up),
            ("slave", info.is_slave),
            ("connected", info.connected),
            ("zero-copy", info.zero_copy),
        )
        if present
    ]
    lines.append("  flags" + "".join(" " + flag for flag in flags))
    run = info.run
    # s2m rings are the slave's tx queues (the master's rx), m2s the slave's rx
    s2m, m2s = (
        (0, 0)
        if run is None
        else ((run.tx_queues, run.rx_queues) if info.is_slave else (run.rx_queues, run.tx_queues))
    )
    buffer_size = 0 if run is None else run.buffer_size
    regions = 1 if info.connected else 0
    lines.append(
        f"  num-s2m-rings {s2m} num-m2s-rings {m2s} buffer-size {buffer_size} num-regions {regions}"
    )
    if info.local_disc_reason:
        lines.append(f'  local-disc-reason "{info.local_disc_reason}"')
    if info.remote_disc_reason:
        lines.append(f'  remote-disc-reason "{info.remote_disc_reason}"')
    if info.connected and run is not None:
        for direction, count in (("slave-to-master", s2m), ("master-to-slave", m2s)):
            for ring in range(count):
                lines.append(f"  {direction} ring {ring}:")
                lines.append(f"    ring-size {run.queue_ring_size}")
    return lines


def show_memif(state: VppState) -> str:
    """``show memif`` (without file descriptors, regions' offsets or counters)."""
    memifs = [(i, i.memif) for i in state.of_kind(Kind.MEMIF) if i.memif is not None]
    out = ["sockets", f"  {'id':<3} {'listener':<11} filename"]
    for socket_id, filename in sorted(state.memif_sockets.items()):
        masters = sum(1 for _, m in memifs if m.socket_id == socket_id and not m.is_slave)
        listener = f"yes ({masters})" if masters else "no"
        out.append(f"  {socket_id:<3} {listener:<11} {filename}")
    for iface, info in memifs:
        out.append("")
        out.extend(_memif_lines(iface, info))
    return "\n".join(out) + "\n"
