"""The ``services`` suite's correctness checks and waits against its node agent.

In: the agent, a label for the phase, ``Problems``. Out:

- ``settled``: waits until a condition on the agent's state holds (the change arrived
  through etcd and was folded), then until the agent's event loop is idle (its transaction
  applied), as the other suites do; seconds from ``started``; after ``_WAIT_SECONDS`` it is a
  problem;
- ``check``: the phase left no failed transaction or event, no refused object, and VPP as
  desired: a dry-run downstream resync (VPP read back and compared with the desired state)
  plans nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from contivpy.agent.node_agent import NodeAgent
from contivpy.bench.verify import Problems

_WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.001
_SHOWN = 5


async def settled(
    agent: NodeAgent, label: str, done: Callable[[], bool], started: float, problems: Problems
) -> float:
    """Seconds from ``started`` until ``done()`` holds and the agent is idle (module doc)."""
    deadline = started + _WAIT_SECONDS
    while True:
        if done():
            await agent.loop.wait_idle()
            if done():
                return time.perf_counter() - started
        now = time.perf_counter()
        if now > deadline:
            problems.add(f"{label}: not applied after {_WAIT_SECONDS:g} s")
            return now - started
        await asyncio.sleep(_POLL_SECONDS)


async def check(agent: NodeAgent, label: str, since: float, problems: Problems) -> None:
    """No failed transaction since ``since`` (wall clock), no refused object, no failed
    event, and VPP as desired (module doc)."""
    await agent.loop.wait_idle()
    for record in agent.scheduler.txn_history(since=since):
        if record.errors:
            shown = "; ".join(str(e) for e in record.errors[:_SHOWN])
            problems.add(f"{label}: transaction {record.seq} failed: {shown}")
    if agent.loop.stats.failed:
        problems.add(f"{label}: {agent.loop.stats.failed} events failed")
    for owner, refused in (
        ("services", agent.services.problems),
        ("policies", agent.policies.problems),
    ):
        if refused:
            problems.add(f"{label}: {owner} refused {len(refused)}: {list(refused.items())[:2]}")
    record = await agent.scheduler.dry_run_downstream()
    if record.planned:
        shown = "; ".join(str(op) for op in record.planned[:_SHOWN])
        problems.add(
            f"{label}: VPP differs from the desired state, a resync would make "
            f"{len(record.planned)} operations: {shown}"
        )
