"""One node agent start, timed, in a process of its own (run by ``eventlog_agent``).

In: ``python -m contivpy.bench.eventlog_agent_proc CONFIG_JSON`` — etcd's endpoint, the
reflector's prefix, the node name, the VPP socket, the state directory, and ``expect``: what
the fold must have found (node ID, nodes with an ID, local pods registered, local pod IPs).
Out: one JSON line on stdout, a ``FoldRun``: the fold's seconds, the first DBResync's own
processing seconds, the process's RSS (peak after the fold; before the agent was built), the
scheduler's values, and the checks that failed. Logs go to stderr.

What is timed: from just before ``NodeAgent`` is built (its etcd connection is open, as the
``contivpy agent`` command opens it first) until the event history records the first DBResync
as processed: the VPP connection and the scheduler's refresh of what VPP holds, the
``DbWatcher``'s list of the whole prefix and its decoding, and the DBResync through nodesync,
podmanager, ipam and ipnet with the transaction that applies it. The agent is the real
``NodeAgent`` with the Linux side off (pods have no network namespaces here).

This module imports only what the agent does (not the reflector, the stand-in or the
benchmark's cluster), so the RSS is an agent's. RSS comes from ``/proc/self/status``: the
``getrusage`` peak of a child process includes its parent's at fork time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.bench import environment
from contivpy.logs import configure_logging
from contivpy.scheduler import ValueState
from contivpy.settings import AgentSettings
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


@dataclasses.dataclass(frozen=True, slots=True)
class FoldRun:
    """One agent start, as the agent's process measured it."""

    seconds: float  # agent built -> its first DBResync processed
    resync_seconds: float  # that DBResync's processing in the event loop
    rss_mb: float  # peak RSS of the agent's process after the fold
    baseline_rss_mb: float  # RSS before the agent was built (interpreter, imports, etcd client)
    values: int  # keys the scheduler knows after the fold
    problems: list[str]


def _rss_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process image, in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return environment.peak_rss_mb()  # not Linux: the closest there is


async def _fold(config: dict[str, Any]) -> FoldRun:
    state_dir = Path(config["state_dir"])
    agent_config = AgentConfig(
        AgentSettings(node_name=config["node"]).validate(),
        AgentPaths(
            state_dir=state_dir,
            vpp_socket=Path(config["vpp_socket"]),
            cni_socket=state_dir / "cni.sock",
            debug_socket=None,
        ),
        ksr_prefix=config["prefix"],
        configure_linux=False,
    )
    async with EtcdStore(StoreSettings(endpoints=(config["etcd"],))) as store:
        baseline = _rss_mb("VmRSS")
        started = time.time()  # the event history's clock
        agent = NodeAgent(agent_config, store)
        try:
            await agent.start(vpp_timeout=10)
            # wait_ready returns once the first DBResync has *begun* (EventLoop.started turns
            # true before the controllers run); idle, the loop has finished it too.
            await agent.wait_ready()
            await agent.loop.wait_idle()
            return _checked(agent, config["expect"], started, _rss_mb("VmHWM"), baseline)
        finally:
            await agent.stop()


def _checked(
    agent: NodeAgent, expect: dict[str, int], started: float, rss: float, baseline: float
) -> FoldRun:
    """The run's figures, with what the fold got wrong. The fold ends when the first DBResync
    was recorded as processed (not when the loop next idled: the agent's own node record
    comes back from etcd as events after it)."""
    problems = []
    resyncs = [r for r in agent.history.records() if r.name == "DBResync"]
    if not resyncs or resyncs[0].error:
        problems.append(f"the first DBResync failed: {resyncs[0].error if resyncs else '?'}")
        return FoldRun(math.nan, math.nan, rss, baseline, 0, problems)
    first = resyncs[0]
    found = {
        "node ID": agent.nodesync.node_id,
        "nodes with an ID": len(agent.nodesync.nodes),
        "local pods registered": len(agent.pods.pods),
        "local pod IPs": len(agent.ipam.allocations()),
    }
    for what, value in found.items():
        if value != expect[what]:
            problems.append(f"{what}: {value}, not {expect[what]}")
    statuses = agent.scheduler.statuses()
    unsettled = [
        f"{s.key} {s.state.value}"
        for s in statuses
        if s.state not in (ValueState.CONFIGURED, ValueState.OBTAINED)
    ]
    if unsettled:
        problems.append(f"{len(unsettled)} values not configured, e.g. {unsettled[0]}")
    seconds = first.started_at + first.duration - started
    return FoldRun(seconds, first.duration, rss, baseline, len(statuses), problems)


def main(argv: Sequence[str]) -> int:
    """The process's entry: ``CONFIG_JSON`` (see the module doc)."""
    configure_logging("warning")  # stdout carries the result
    run = uvloop.run(_fold(json.loads(argv[0])))
    sys.stdout.write(json.dumps(dataclasses.asdict(run)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
