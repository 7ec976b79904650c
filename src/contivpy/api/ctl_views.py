"""What ``contivpy ctl`` prints: debug API responses as text tables or JSON objects.

In: generated response messages (contivpy.agent.v1). Out: text for a terminal (aligned
tables from ``tables``), or JSON-able dicts, one per printed line with ``--json``: field
names as in the proto, and every ``*_json`` text field parsed back into its value under the
name without the suffix (``value_json`` -> ``value``), so a JSON consumer gets one document
rather than JSON nested in strings.

Table cells are cut at ``CELL_WIDTH`` characters (with "…") so one long value does not push
the other columns off the screen; ``width=0`` (``ctl --wide``) keeps them whole.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence

import betterproto2

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.tables import (
    EMPTY,
    format_duration,
    format_time,
    render_fields,
    render_table,
)

CELL_WIDTH = 60

# --- JSON ---------------------------------------------------------------------------------


def as_json(message: betterproto2.Message) -> dict[str, object]:
    """A message as a JSON-able dict (see the module docstring)."""
    data = message.to_dict(
        output_format=betterproto2.OutputFormat.PYTHON,
        casing=betterproto2.Casing.SNAKE,
        include_default_values=True,
    )
    unwrapped = _unwrap(data)
    assert isinstance(unwrapped, dict)
    return unwrapped


def _unwrap(value: object) -> object:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            if key.endswith("_json") and isinstance(item, str):
                out[key.removesuffix("_json")] = json.loads(item) if item else None
            else:
                out[key] = _unwrap(item)
        return out
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.name
    return value


def json_line(data: dict[str, object]) -> str:
    """One JSON object on one line."""
    return json.dumps(data, ensure_ascii=False)


# --- text ---------------------------------------------------------------------------------


def status_text(status: pb.StatusResponse, *, width: int = CELL_WIDTH) -> str:
    """The agent at a glance (what it waits for, while it starts), then its counters."""
    agent = status.agent or pb.AgentInfo()
    store = status.store or pb.StoreConnection()
    vpp = status.vpp or pb.VppConnection()
    resync = status.last_resync or pb.LastResync()
    events = status.event_queue or pb.QueueStats()
    txns = status.txn_queue or pb.QueueStats()
    vpp_text = "connected" if vpp.connected else "NOT connected"
    if vpp.pid:
        vpp_text += f", pid {vpp.pid}"
    vpp_text += f", {vpp.restarts} restart(s)"
    if vpp.last_restart_unix:
        vpp_text += f", last at {format_time(vpp.last_restart_unix)}"
    resync_text = (
        f"{resync.kind} (txn {resync.seq}) at {format_time(resync.at_unix)}"
        if resync.at_unix
        else "none recorded"
    )
    fields = render_fields(
        [
            ("node", agent.node_name),
            ("version", agent.version),
            ("phase", phase_text(agent)),
            (
                "uptime",
                f"{format_duration(agent.uptime_seconds)} "
                f"(since {format_time(agent.started_at_unix)})",
            ),
            ("vpp", vpp_text),
            ("etcd", store.endpoint or "not connected"),
            ("last resync", resync_text),
            ("event queue", _queue_text(events)),
            ("txn queue", _queue_text(txns)),
        ]
    )
    counters = render_table(["COUNTER", "VALUE"], sorted(status.counters.items()), max_width=width)
    return f"{fields}\n\n{counters}"


def phase_text(agent: pb.AgentInfo) -> str:
    """ "waiting for VPP at /run/vpp/api.sock", "first resync", "running", ..."""
    if agent.waiting_for:
        return f"waiting for {agent.waiting_for}"
    if agent.phase is pb.AgentPhase.UNSPECIFIED:
        return "unknown (the agent does not report it)"
    return agent.phase.name.lower().replace("_", " ")


def _queue_text(queue: pb.QueueStats) -> str:
    depth = f"{queue.depth}/{queue.capacity}" if queue.capacity else str(queue.depth)
    return f"{depth} queued, {queue.overflows} overflow(s)"


def dump_text(dump: pb.DumpResponse, *, width: int = CELL_WIDTH) -> str:
    """One row per key."""
    if not dump.entries:
        return f"({dump.view.name.lower()}: no keys)"
    rows = [(e.key, e.state, e.origin, e.value_json, e.details) for e in dump.entries]
    return render_table(["KEY", "STATE", "ORIGIN", "VALUE", "DETAILS"], rows, max_width=width)


def ops_text(ops: Sequence[pb.Op], *, executed: bool, width: int = CELL_WIDTH) -> str:
    """Operations in order; executed ones with their timing and outcome."""
    headers = ["#", "OP", "KEY", "VALUE", "NOTES"]
    if executed:
        headers[4:4] = ["START", "TOOK"]
    rows = []
    for number, op in enumerate(ops, 1):
        value = op.prev_value_json if op.op == "delete" else op.new_value_json
        row: list[object] = [number, op.op, op.key, value, _op_notes(op)]
        if executed:
            row[4:4] = [format_duration(op.started_seconds), format_duration(op.duration_seconds)]
        rows.append(row)
    return render_table(headers, rows, max_width=width)


def _op_notes(op: pb.Op) -> str:
    notes = [
        name
        for name, flag in (
            ("derived", op.derived),
            ("property", op.property),
            ("recreate", op.recreate),
            ("revert", op.revert),
        )
        if flag
    ]
    if op.error is not None:
        notes.append(f"FAILED: {op.error.cause}")
    if op.skipped:
        notes.append(f"skipped: {op.skipped}")
    return ", ".join(notes)


def plan_text(plan: pb.TxnRecord, *, width: int = CELL_WIDTH) -> str:
    """A dry run: what would be done, in order."""
    if not plan.planned:
        return f"plan ({plan.kind}): nothing to do{_errors_text(plan.errors)}"
    head = f"plan ({plan.kind}): {len(plan.planned)} operation(s)"
    ops = ops_text(plan.planned, executed=False, width=width)
    return f"{head}\n{ops}{_errors_text(plan.errors)}"


def resync_text(record: pb.TxnRecord, *, width: int = CELL_WIDTH) -> str:
    """A resync that ran: what it did."""
    done = [op for op in record.executed if not op.skipped]
    head = (
        f"txn {record.seq} ({record.kind}): {len(done)} operation(s), "
        f"{len(record.errors)} error(s), took {format_duration(record.duration_seconds)}"
    )
    if not record.executed:
        return head + _errors_text(record.errors)
    ops = ops_text(record.executed, executed=True, width=width)
    return f"{head}\n{ops}{_errors_text(record.errors)}"


def _errors_text(errors: Sequence[pb.OpError]) -> str:
    lines = [
        f"  {e.op} {e.key}: {e.cause} ({'retriable' if e.retriable else 'permanent'})"
        for e in errors
    ]
    return "\n\nerrors:\n" + "\n".join(lines) if lines else ""


def txns_text(records: Sequence[pb.TxnRecord], *, width: int = CELL_WIDTH) -> str:
    """One row per transaction."""
    if not records:
        return "(no transactions)"
    rows = [
        (
            r.seq,
            format_time(r.started_at_unix),
            r.kind,
            format_duration(r.duration_seconds),
            len(r.planned),
            len(r.executed),
            len(r.errors),
            r.description,
        )
        for r in records
    ]
    headers = ["SEQ", "STARTED", "KIND", "TOOK", "PLANNED", "EXECUTED", "ERRORS", "DESCRIPTION"]
    return render_table(headers, rows, max_width=width)


def txn_detail_text(record: pb.TxnRecord, *, width: int = CELL_WIDTH) -> str:
    """One transaction in full: values, planned and executed operations, errors."""
    fields = render_fields(
        [
            ("txn", record.seq),
            ("kind", record.kind),
            ("description", record.description),
            ("started", format_time(record.started_at_unix)),
            ("took", format_duration(record.duration_seconds)),
            ("reverted", "yes" if record.reverted else "no"),
        ]
    )
    values = render_table(
        ["KEY", "VALUE"], [(v.key, v.value_json) for v in record.values], max_width=width
    )
    parts = [fields, f"values:\n{values}" if record.values else "values: -"]
    parts.append(
        f"planned:\n{ops_text(record.planned, executed=False, width=width)}"
        if record.planned
        else "planned: -"
    )
    parts.append(
        f"executed:\n{ops_text(record.executed, executed=True, width=width)}"
        if record.executed
        else "executed: -"
    )
    return "\n\n".join(parts) + _errors_text(record.errors)


def events_text(records: Sequence[pb.EventRecord], *, width: int = CELL_WIDTH) -> str:
    """One row per event."""
    if not records:
        return "(no events)"
    rows = [
        (
            r.seq,
            format_time(r.started_at_unix),
            r.name,
            format_duration(r.duration_seconds),
            r.txn_seq if r.txn_seq is not None else EMPTY,
            r.description,
            "; ".join(r.changes),
            r.error,
        )
        for r in records
    ]
    headers = ["SEQ", "STARTED", "EVENT", "TOOK", "TXN", "DESCRIPTION", "CHANGES", "ERROR"]
    return render_table(headers, rows, max_width=width)


def timeline_text(timeline: pb.KeyTimelineResponse, *, width: int = CELL_WIDTH) -> str:
    """One row per revision of the key."""
    if not timeline.revisions:
        return f"(no recorded revisions of {timeline.key})"
    rows = [
        (r.txn_seq, format_time(r.time_unix), r.state, r.value_json, r.details)
        for r in timeline.revisions
    ]
    return render_table(["TXN", "TIME", "STATE", "VALUE", "DETAILS"], rows, max_width=width)


def watch_line(status: pb.ValueStatus) -> str:
    """One status change on one line: state, key, then the reason or the value."""
    note = status.details or status.value_json
    dropped = f"  ({status.dropped} update(s) dropped so far)" if status.dropped else ""
    return f"{status.state:<11}  {status.key}  {note}{dropped}"


def pods_text(pods: Sequence[pb.Pod], *, width: int = CELL_WIDTH) -> str:
    """One row per VPP interface of each pod (the pod's columns on its first row only)."""
    if not pods:
        return "(no pods wired on this node)"
    rows: list[tuple[object, ...]] = []
    for pod in pods:
        first: tuple[object, ...] = (f"{pod.namespace}/{pod.name}", pod.node, ", ".join(pod.ips))
        if not pod.interfaces:
            rows.append((*first, "", "", "", "", "", ""))
        for number, interface in enumerate(pod.interfaces):
            rows.append(
                (
                    *(first if number == 0 else ("", "", "")),
                    interface.pod_interface,
                    interface.kind,
                    interface.name,
                    interface.sw_if_index if interface.sw_if_index is not None else "",
                    interface.vpp_name,
                    interface.state,
                )
            )
    headers = ["POD", "NODE", "IP", "IF", "KIND", "VPP INTERFACE", "IDX", "VPP NAME", "STATE"]
    return render_table(headers, rows, max_width=width)


def nodes_text(nodes: Sequence[pb.NodeEntry], *, width: int = CELL_WIDTH) -> str:
    """One row per node; the VXLAN columns are this node's tunnel to it."""
    if not nodes:
        return "(no node has an ID yet)"
    rows = [
        (
            n.id,
            f"{n.name} (this node)" if n.this_node else n.name,
            ", ".join(n.vpp_addresses),
            ", ".join(n.mgmt_addresses),
            n.pod_subnet,
            n.vxlan_tunnel,
            n.vxlan_dst,
            n.vxlan_vni or "",
            n.vxlan_state,
        )
        for n in nodes
    ]
    headers = ["ID", "NODE", "NODE IP", "MGMT IP", "POD SUBNET", "VXLAN", "PEER", "VNI", "STATE"]
    return render_table(headers, rows, max_width=width)


def ipam_text(ipam: pb.IpamResponse, *, width: int = CELL_WIDTH) -> str:
    """This node's plan, then the cluster settings, then who holds which IP."""
    if not ipam.ready:
        head = f"node {ipam.node_name} has no node ID yet: no address plan"
    else:
        head = render_fields(
            [
                ("node", f"{ipam.node_name} (ID {ipam.node_id})"),
                ("node IP", ipam.node_ip),
                ("pod subnet", ipam.pod_subnet),
                ("pod gateway", ipam.pod_gateway),
                ("NAT loopback", ipam.nat_loopback),
                ("VPP-host subnet", ipam.vpp_host_subnet),
                (
                    "host interconnect",
                    f"{ipam.host_vpp_address} (VPP), {ipam.host_linux_address} (host)",
                ),
                ("VXLAN BVI", ipam.vxlan_address),
                ("VRFs", f"main {ipam.main_vrf_id}, pods {ipam.pod_vrf_id}"),
            ]
        )
    config = render_fields(sorted(ipam.config.items()))
    rows = [(a.ip, a.pod, a.interface or "(main)", a.network) for a in ipam.allocations]
    allocations = (
        render_table(["IP", "POD", "INTERFACE", "NETWORK"], rows, max_width=width)
        if rows
        else "(no pod IPs allocated)"
    )
    return f"{head}\n\nconfig:\n{config}\n\nallocations:\n{allocations}"


def _endpoint(ip: str, port: int) -> str:
    return f"{ip}:{port}"


def nat_sessions_text(reply: pb.NatSessionsResponse, *, width: int = CELL_WIDTH) -> str:
    """One row per NAT44-ED session, then the totals."""
    sessions = reply.sessions
    total = (
        f"{len(sessions)} session(s) of {reply.users} inside address(es); "
        f"VPP's limit {reply.max_sessions} per thread"
    )
    if not sessions:
        return f"(no NAT44-ED sessions)\n{total}"
    rows = [
        (
            s.protocol,
            _endpoint(s.inside_ip, s.inside_port),
            _endpoint(s.outside_ip, s.outside_port),
            _endpoint(s.ext_host_ip, s.ext_host_port),
            _endpoint(s.ext_host_nat_ip, s.ext_host_nat_port) if s.twice_nat else "",
            s.inside_vrf,
            "timed out" if s.timed_out else f"{s.idle_seconds}s",
            s.total_packets,
            "static" if s.static else "dynamic",
        )
        for s in sessions
    ]
    headers = ["PROTO", "INSIDE", "OUTSIDE", "EXTERNAL HOST", "TWICE-NAT AS", "VRF", "IDLE"]
    headers += ["PACKETS", "KIND"]
    return f"{render_table(headers, rows, max_width=width)}\n{total}"
