"""What waits in the scheduler's queue, and the scheduler's counters.

In: nothing (definitions). Out: ``Request`` (a transaction with how to process it and who
waits for it), ``SchedulerStats``, and the small rules the queue applies to requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from contivpy.scheduler.api import Key, Txn, TxnKind, TxnResult


@dataclass(slots=True)
class SchedulerStats:
    """Counters since start (exported as metrics by the agent)."""

    txns: dict[str, int] = field(default_factory=dict)  # by TxnKind value, batches
    # transactions recorded (each of a batch), by (TxnKind value, "ok" or "failed")
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)  # by OpKind value, executed
    ops_failed: dict[str, int] = field(default_factory=dict)  # by OpKind value
    op_failures: int = 0
    retries_scheduled: int = 0
    retries_dropped: int = 0  # the key changed or recovered before the retry ran
    queue_overflows: int = 0
    status_drops: int = 0
    queue_depth: int = 0


@dataclass(slots=True)
class Request:
    """One queued transaction."""

    kind: TxnKind
    txn: Txn
    future: asyncio.Future[TxnResult] | None  # None: internal (a retry), nobody waits
    dry_run: bool = False
    retry_keys: tuple[tuple[Key, int], ...] = ()  # (key, desired_rev) for RETRY
    current: bool = False  # FULL_RESYNC of the desired state as it is when processed


def batchable(request: Request) -> bool:
    """Plain changes may share a batch with others; resyncs, retries and dry runs may not."""
    return request.kind is TxnKind.NB_CHANGE and not request.dry_run and not request.txn.full


def fail(request: Request, error: BaseException) -> None:
    """Hand an error to whoever waits for the request."""
    future = request.future
    if future is not None and not future.done():
        future.set_exception(error)
