"""What ``contivpy ctl`` prints: debug API responses as text tables or JSON objects.

In: generated response messages (contivpy.agent.v1). Out: text for a terminal (aligned
tables from ``tables``), or JSON-able dicts, one per printed line with ``--json``: field
names as in the proto, and every ``*_json`` text field parsed back into its value under the
name without the suffix (``value_json`` -> ``value``), so a JSON consumer gets one document
rather than JSON nested in strings.
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


def status_text(status: pb.StatusResponse) -> str:
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
    counters = render_table(["COUNTER", "VALUE"], sorted(status.counters.items()))
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


def dump_text(dump: pb.DumpResponse) -> str:
    """One row per key."""
    if not dump.entries:
        return f"({dump.view.name.lower()}: no keys)"
    rows = [(e.key, e.state, e.origin, e.value_json, e.details) for e in dump.entries]
    return render_table(["KEY", "STATE", "ORIGIN", "VALUE", "DETAILS"], rows)


def ops_text(ops: Sequence[pb.Op], *, executed: bool) -> str:
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
    return render_table(headers, rows)


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


def plan_text(plan: pb.TxnRecord) -> str:
    """A dry run: what would be done, in order."""
    if not plan.planned:
        return f"plan ({plan.kind}): nothing to do{_errors_text(plan.errors)}"
    head = f"plan ({plan.kind}): {len(plan.planned)} operation(s)"
    return f"{head}\n{ops_text(plan.planned, executed=False)}{_errors_text(plan.errors)}"


def resync_text(record: pb.TxnRecord) -> str:
    """A resync that ran: what it did."""
    done = [op for op in record.executed if not op.skipped]
    head = (
        f"txn {record.seq} ({record.kind}): {len(done)} operation(s), "
        f"{len(record.errors)} error(s), took {format_duration(record.duration_seconds)}"
    )
    if not record.executed:
        return head + _errors_text(record.errors)
    return f"{head}\n{ops_text(record.executed, executed=True)}{_errors_text(record.errors)}"


def _errors_text(errors: Sequence[pb.OpError]) -> str:
    lines = [
        f"  {e.op} {e.key}: {e.cause} ({'retriable' if e.retriable else 'permanent'})"
        for e in errors
    ]
    return "\n\nerrors:\n" + "\n".join(lines) if lines else ""


def txns_text(records: Sequence[pb.TxnRecord]) -> str:
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
    return render_table(headers, rows)


def txn_detail_text(record: pb.TxnRecord) -> str:
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
    values = render_table(["KEY", "VALUE"], [(v.key, v.value_json) for v in record.values])
    parts = [fields, f"values:\n{values}" if record.values else "values: -"]
    parts.append(
        f"planned:\n{ops_text(record.planned, executed=False)}" if record.planned else "planned: -"
    )
    parts.append(
        f"executed:\n{ops_text(record.executed, executed=True)}"
        if record.executed
        else "executed: -"
    )
    return "\n\n".join(parts) + _errors_text(record.errors)


def events_text(records: Sequence[pb.EventRecord]) -> str:
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
            r.error,
        )
        for r in records
    ]
    headers = ["SEQ", "STARTED", "EVENT", "TOOK", "TXN", "DESCRIPTION", "ERROR"]
    return render_table(headers, rows)


def timeline_text(timeline: pb.KeyTimelineResponse) -> str:
    """One row per revision of the key."""
    if not timeline.revisions:
        return f"(no recorded revisions of {timeline.key})"
    rows = [
        (r.txn_seq, format_time(r.time_unix), r.state, r.value_json, r.details)
        for r in timeline.revisions
    ]
    return render_table(["TXN", "TIME", "STATE", "VALUE", "DETAILS"], rows)


def watch_line(status: pb.ValueStatus) -> str:
    """One status change on one line: state, key, then the reason or the value."""
    note = status.details or status.value_json
    dropped = f"  ({status.dropped} update(s) dropped so far)" if status.dropped else ""
    return f"{status.state:<11}  {status.key}  {note}{dropped}"
