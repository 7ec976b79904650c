"""Where an exec'd CNI ADD's time goes, from the agent's own records.

In: each ADD's wall-clock span (the plugin process's start and exit, ``AddRun.spans``), the
agent's event history (``EventRecord``: when its loop took the AddPod, how long it took) and
its scheduler transactions (``TxnRecord``: how long the southbound took). Out: per ADD, four
consecutive parts that add up to the ADD's time:

- ``to_loop``: the plugin's start (interpreter, imports, config), the gRPC connection and
  the agent's queue, until the event loop takes the AddPod (the plugin's start alone is the
  suite's ``cni_exec_start_p50_ms``);
- ``controllers``: the controllers' work on the event (IPAM, pod registry, rendering), the
  event's duration less its transaction's;
- ``southbound``: the scheduler transaction — the VPP API calls, and netlink when the agent
  configures Linux;
- ``reply``: from the event's end to the plugin's exit (the reply and the result printed).

The southbound part is split further by the transaction's executed operations (each has its
key, its start within the transaction and its duration): ``southbound_vpp`` is the time at
least one VPP call was in flight (the union of those operations' intervals; they run
concurrently), ``southbound_netlink`` the same for Linux operations (keys ``config/linux/...``
and ``linux/...``), and ``southbound_other`` the transaction's time with no call in flight
(planning, dependencies waited for, records). VPP and netlink calls may overlap, so the three
can add up to more than ``southbound``.

An ADD whose AddPod record is not found (the history trimmed) is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contivpy.events.history import EventRecord
from contivpy.scheduler.api import OpRecord, TxnRecord

#: scheduler keys of Linux values (contivpy.linux.keys: base values and derived ones)
_LINUX_KEYS = ("config/linux/", "linux/")


@dataclass(slots=True)
class AddBreakdown:
    """Milliseconds of each part, one entry per ADD found in the records."""

    to_loop_ms: list[float] = field(default_factory=list)
    controllers_ms: list[float] = field(default_factory=list)
    southbound_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    southbound_vpp_ms: list[float] = field(default_factory=list)
    southbound_netlink_ms: list[float] = field(default_factory=list)
    southbound_other_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SouthboundParts:
    """Seconds of one transaction: all of it, with a VPP call, with a netlink call, with
    no call in flight."""

    total: float
    vpp: float
    netlink: float
    idle: float


def _covered(ops: Iterable[OpRecord]) -> float:
    """Seconds in which at least one of ``ops`` ran (the union of their intervals)."""
    covered, reached = 0.0, float("-inf")
    for start, end in sorted((op.started, op.started + op.duration) for op in ops):
        if end > reached:
            covered += end - max(start, reached)
            reached = end
    return covered


def southbound_parts(txn: TxnRecord) -> SouthboundParts:
    """Where the transaction's time went (see the module docstring)."""
    calls = [op for op in txn.executed if not op.property and not op.skipped]
    linux = [op for op in calls if op.key.startswith(_LINUX_KEYS)]
    vpp = [op for op in calls if not op.key.startswith(_LINUX_KEYS)]
    idle = max(0.0, txn.duration - _covered(calls))
    return SouthboundParts(txn.duration, _covered(vpp), _covered(linux), idle)


def breakdown(
    spans: Mapping[str, tuple[float, float]],
    events: Iterable[EventRecord],
    txns: Iterable[TxnRecord],
) -> AddBreakdown:
    """The parts of each ADD in ``spans`` (pod name → wall-clock start and end)."""
    southbounds = {txn.seq: southbound_parts(txn) for txn in txns}
    add_events: dict[str, EventRecord] = {}
    for record in events:
        if record.name == "AddPod" and not record.error:
            # "pod default/NAME container CID": the pod's name is the part after the "/".
            pod = record.description.split()[1] if record.description.startswith("pod ") else ""
            add_events[pod.partition("/")[2]] = record
    parts = AddBreakdown()
    for pod, (start, end) in spans.items():
        event = add_events.get(pod)
        if event is None:
            continue
        txn = southbounds.get(event.txn_seq) if event.txn_seq is not None else None
        txn = txn or SouthboundParts(0.0, 0.0, 0.0, 0.0)
        southbound = min(txn.total, event.duration)
        parts.to_loop_ms.append((event.started_at - start) * 1000)
        parts.controllers_ms.append((event.duration - southbound) * 1000)
        parts.southbound_ms.append(southbound * 1000)
        parts.reply_ms.append((end - event.started_at - event.duration) * 1000)
        parts.southbound_vpp_ms.append(txn.vpp * 1000)
        parts.southbound_netlink_ms.append(txn.netlink * 1000)
        parts.southbound_other_ms.append(txn.idle * 1000)
    return parts
