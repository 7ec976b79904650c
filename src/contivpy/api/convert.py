"""Scheduler and event records, and the agent's views, as debug API messages.

In: the scheduler's records (TxnRecord, OpRecord, OpError, ValueStatus, KeyRevision), event
records, the agent's and scheduler's status, and the views of its pods, nodes, IPAM and NAT
sessions
(whose fields are named as the messages' are). Out: the generated betterproto2 messages of
contivpy.agent.v1. Values become JSON text (``rendering``); states, operations and kinds
become the scheduler's own words (the enums' values), so the wire needs no enum per state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy import scheduler
from contivpy.api.introspection import (
    AgentStatus,
    IpamView,
    NatSessionsView,
    NodeView,
    PodView,
)
from contivpy.api.rendering import render_json
from contivpy.events import history as events

_TxnKind = scheduler.TxnKind
RESYNC_KINDS = (_TxnKind.FULL_RESYNC, _TxnKind.DOWNSTREAM_RESYNC, _TxnKind.REFRESH_START)


def op_error(error: scheduler.OpError | None) -> pb.OpError | None:
    """An operation's error, or None (the field stays unset)."""
    if error is None:
        return None
    return pb.OpError(
        key=error.key, op=error.op.value, cause=error.cause, retriable=error.retriable
    )


def op(record: scheduler.OpRecord) -> pb.Op:
    """One planned or executed operation."""
    return pb.Op(
        key=record.key,
        op=record.op.value,
        prev_value_json=render_json(record.prev_value),
        new_value_json=render_json(record.new_value),
        derived=record.derived,
        property=record.property,
        recreate=record.recreate,
        revert=record.revert,
        started_seconds=record.started,
        duration_seconds=record.duration,
        error=op_error(record.error),
        skipped=record.skipped,
    )


def txn_record(record: scheduler.TxnRecord) -> pb.TxnRecord:
    """One transaction with its values, planned and executed operations and errors."""
    return pb.TxnRecord(
        seq=record.seq,
        kind=record.kind.value,
        description=record.description,
        started_at_unix=record.started_at,
        duration_seconds=record.duration,
        values=[pb.TxnValue(key=k, value_json=render_json(v)) for k, v in record.values],
        planned=[op(o) for o in record.planned],
        executed=[op(o) for o in record.executed],
        errors=[e for e in map(op_error, record.errors) if e is not None],
        dry_run=record.dry_run,
        reverted=record.reverted,
    )


def value_status(status: scheduler.ValueStatus, dropped: int = 0) -> pb.ValueStatus:
    """The status of one key."""
    return pb.ValueStatus(
        key=status.key,
        state=status.state.value,
        details=status.details,
        value_json=render_json(status.value),
        derived_from=status.derived_from or "",
        last_op=status.last_op.value if status.last_op is not None else "",
        last_txn=status.last_txn,
        error=op_error(status.error),
        dropped=dropped,
    )


def key_revision(revision: scheduler.KeyRevision) -> pb.KeyRevision:
    """One point of a key's timeline."""
    return pb.KeyRevision(
        txn_seq=revision.txn_seq,
        time_unix=revision.time,
        state=revision.state.value,
        value_json=render_json(revision.value),
        details=revision.details,
    )


def event_record(record: events.EventRecord) -> pb.EventRecord:
    """One processed event."""
    return pb.EventRecord(
        seq=record.seq,
        name=record.name,
        description=record.description,
        handlers=list(record.handlers),
        changes=list(record.changes),
        txn_seq=record.txn_seq,
        started_at_unix=record.started_at,
        duration_seconds=record.duration,
        error=record.error,
        blocking=record.blocking,
    )


def last_resync(record: scheduler.TxnRecord | None) -> pb.LastResync:
    """The scheduler's newest resync; all zero when there is none yet."""
    if record is None:
        return pb.LastResync()
    return pb.LastResync(at_unix=record.started_at, kind=record.kind.value, seq=record.seq)


def scheduler_counters(stats: scheduler.SchedulerStats) -> dict[str, int]:
    """The scheduler's counters under "scheduler." names."""
    counters = {f"scheduler.txns.{kind}": n for kind, n in stats.txns.items()}
    counters.update({f"scheduler.ops.{kind}": n for kind, n in stats.ops.items()})
    counters["scheduler.op_failures"] = stats.op_failures
    counters["scheduler.retries_scheduled"] = stats.retries_scheduled
    counters["scheduler.retries_dropped"] = stats.retries_dropped
    counters["scheduler.status_drops"] = stats.status_drops
    return counters


def status_response(
    agent: AgentStatus,
    stats: scheduler.SchedulerStats,
    resync: pb.LastResync,
    now: float,
    *,
    txn_queue_capacity: int,
) -> pb.StatusResponse:
    """Everything Status shows."""
    counters = dict(agent.counters)
    counters.update(scheduler_counters(stats))
    return pb.StatusResponse(
        agent=pb.AgentInfo(
            node_name=agent.node_name,
            version=agent.version,
            uptime_seconds=max(0.0, now - agent.started_at),
            started_at_unix=agent.started_at,
            # The same names in both enums (tests/api check that every phase maps).
            phase=pb.AgentPhase[agent.phase.name],
            waiting_for=agent.waiting_for,
        ),
        vpp=pb.VppConnection(
            connected=agent.vpp_connected,
            pid=agent.vpp_pid,
            last_restart_unix=agent.vpp_last_restart,
            restarts=agent.vpp_restarts,
        ),
        last_resync=resync,
        event_queue=pb.QueueStats(
            depth=agent.event_queue_depth,
            capacity=agent.event_queue_capacity,
            overflows=agent.event_queue_overflows,
        ),
        txn_queue=pb.QueueStats(
            depth=stats.queue_depth, capacity=txn_queue_capacity, overflows=stats.queue_overflows
        ),
        counters=counters,
        store=pb.StoreConnection(endpoint=agent.store_endpoint),
    )


def _fields(view: Any, **nested: object) -> dict[str, Any]:
    """A view's fields by name (tuples as lists, mappings as dicts) for the message whose
    fields are named alike; ``nested`` gives the fields that are messages themselves."""
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(view):
        value = getattr(view, field.name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        fields[field.name] = value
    return {**fields, **nested}


def pod(view: PodView) -> pb.Pod:
    """A pod wired on the node, with its VPP interfaces."""
    interfaces = [pb.PodInterface(**_fields(i)) for i in view.interfaces]
    return pb.Pod(**_fields(view, interfaces=interfaces))


def node(view: NodeView) -> pb.NodeEntry:
    """A node with an ID, and the node's tunnel to it."""
    return pb.NodeEntry(**_fields(view))


def ipam(view: IpamView) -> pb.IpamResponse:
    """The node's address plan and who holds which IP."""
    allocations = [pb.IpAllocation(**_fields(a)) for a in view.allocations]
    return pb.IpamResponse(**_fields(view, allocations=allocations))


def nat_sessions(view: NatSessionsView) -> pb.NatSessionsResponse:
    """The NAT44-ED sessions VPP holds."""
    sessions = [pb.NatSession(**_fields(s)) for s in view.sessions]
    return pb.NatSessionsResponse(**_fields(view, sessions=sessions))
