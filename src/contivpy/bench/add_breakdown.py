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

An ADD whose AddPod record is not found (the history trimmed) is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contivpy.events.history import EventRecord
from contivpy.scheduler.api import TxnRecord


@dataclass(slots=True)
class AddBreakdown:
    """Milliseconds of each part, one entry per ADD found in the records."""

    to_loop_ms: list[float] = field(default_factory=list)
    controllers_ms: list[float] = field(default_factory=list)
    southbound_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)


def breakdown(
    spans: Mapping[str, tuple[float, float]],
    events: Iterable[EventRecord],
    txns: Iterable[TxnRecord],
) -> AddBreakdown:
    """The parts of each ADD in ``spans`` (pod name → wall-clock start and end)."""
    txn_seconds = {txn.seq: txn.duration for txn in txns}
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
        southbound = txn_seconds.get(event.txn_seq, 0.0) if event.txn_seq is not None else 0.0
        southbound = min(southbound, event.duration)
        parts.to_loop_ms.append((event.started_at - start) * 1000)
        parts.controllers_ms.append((event.duration - southbound) * 1000)
        parts.southbound_ms.append(southbound * 1000)
        parts.reply_ms.append((end - event.started_at - event.duration) * 1000)
    return parts
