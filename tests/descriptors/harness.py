"""An agent for the VPP descriptor tests: scheduler + VPP descriptors over a counted client.

In: a running simulator. Out: ``Agent`` (what one agent process would hold), started by
``start_agent`` (a refresh-only start, as the real agent does) and ended by ``Agent.stop``, so
a test can run a second agent against the same simulator (an agent restart); ``reconnected``
and ``poll`` wait for conditions (a client back after a VPP restart, retries settled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from contivpy.bench.call_counter import CountingChannel
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.scheduler import RetryPolicy, Scheduler, ValueState
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.client import Backoff, VppClient

#: enough attempts for the failures the tests inject (at most 6 on one value)
FAST_RETRY = RetryPolicy(period=0.01, backoff=1.5, max_attempts=8)


@dataclass
class Agent:
    """One agent's scheduler and its (counted) VPP client."""

    client: VppClient
    channel: CountingChannel
    scheduler: Scheduler

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.client.close()

    async def settled(self) -> None:
        """Wait (5 s at most) until no value is waiting for a retry (retries are transactions
        of their own)."""
        await poll(
            lambda: all(s.state is not ValueState.RETRYING for s in self.scheduler.statuses())
        )
        # one more round trip through the queue: a retry may have been queued just now
        await self.scheduler.dry_run_downstream()


def new_client(socket_path: str) -> VppClient:
    return VppClient(
        socket_path,
        call_timeout=2.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )


async def start_agent(sim: VppSimulator, *, concurrency: int = 16) -> Agent:
    client = new_client(sim.socket_path)
    await client.start(connect_timeout=5.0)
    channel = CountingChannel(client)
    scheduler = Scheduler(concurrency=concurrency, retry=FAST_RETRY)
    register_vpp_descriptors(scheduler, channel)
    await scheduler.start()
    return Agent(client, channel, scheduler)


async def reconnected(agent: Agent, sim: VppSimulator) -> None:
    """Wait (5 s at most) until the agent's client talks to the (restarted) simulator."""
    await poll(lambda: agent.client.connected and agent.client.pid == sim.pid)


async def poll(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``condition()`` holds, checking every 10 ms; AssertionError after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")
