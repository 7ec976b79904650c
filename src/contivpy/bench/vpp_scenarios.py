"""The VPP measurements: the scheduler, the VPP descriptors and the client against the VPP
simulator, in this process, over a real unix socket.

In: a size N, the simulated per-message latency, and ``Problems`` to record correctness
failures in. Out: raw figures. ``create`` times one transaction creating N taps, each with
an address, all members of one bridge domain (with the scheduler's concurrency bound, or one
op at a time), and counts the API calls it made; ``restart`` times an agent restart against
the unchanged simulator (refresh-only start, then a full resync with the same desired state,
rebuilt as new objects) and counts the writes it made, which must be none. Only awaited
scheduler calls are timed; set-up and checks are not.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from contivpy.bench.call_counter import CountingChannel
from contivpy.bench.verify import Problems
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.models.vpp_interfaces import Interface, InterfaceType, TapLink
from contivpy.models.vpp_keys import bridge_domain_key, interface_key
from contivpy.models.vpp_l2 import BDInterface, BridgeDomain
from contivpy.scheduler import Scheduler
from contivpy.sim.vpp.server import VppSimulator
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.client import VppClient

BRIDGE_DOMAIN = "bd-bench"


def tap_name(i: int) -> str:
    """Name of the i-th benchmark tap."""
    return f"pod-tap{i:05d}"


def desired_state(n: int) -> dict[str, object]:
    """N taps with one address each, all members of one bridge domain (new objects per call)."""
    desired: dict[str, object] = {}
    for i in range(n):
        address = f"10.{(i >> 8) & 0xFF}.{i & 0xFF}.1/32"
        desired[interface_key(tap_name(i))] = Interface(
            tap_name(i),
            InterfaceType.TAP,
            ip_addresses=(address,),
            link=TapLink(host_if_name=f"tap{i:05d}", rx_ring_size=1024, tx_ring_size=1024),
        )
    members = tuple(BDInterface(tap_name(i)) for i in range(n))
    desired[bridge_domain_key(BRIDGE_DOMAIN)] = BridgeDomain(BRIDGE_DOMAIN, interfaces=members)
    return desired


@dataclass(slots=True)
class Agent:
    """A scheduler with the VPP descriptors over a counted client."""

    client: VppClient
    channel: CountingChannel
    scheduler: Scheduler

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.client.close()


async def start_agent(sim: VppSimulator, concurrency: int) -> Agent:
    """A started agent (refresh-only start, as ``contivpy agent`` does) over ``sim``."""
    client = VppClient(sim.socket_path)
    await client.start(connect_timeout=10.0)
    channel = CountingChannel(client)
    scheduler = Scheduler(concurrency=concurrency)
    register_vpp_descriptors(scheduler, channel)
    await scheduler.start()
    return Agent(client, channel, scheduler)


@contextlib.asynccontextmanager
async def simulator(latency: float) -> AsyncIterator[VppSimulator]:
    """A simulator with vhost-net (taps work) on a socket in a fresh directory."""
    with tempfile.TemporaryDirectory(prefix="contivpy-bench-") as directory:
        sim = VppSimulator(os.path.join(directory, "api.sock"), vhost_net=True)
        if latency:
            sim.set_latency(latency)
        async with sim:
            yield sim


@dataclass(frozen=True, slots=True)
class CreateRun:
    """Seconds of the create transaction and the API requests it made."""

    seconds: float
    calls: int
    writes: int


async def create(
    sim: VppSimulator, agent: Agent, n: int, label: str, problems: Problems
) -> CreateRun:
    """Create the benchmark state in one transaction; checked against the simulator."""
    desired = desired_state(n)
    agent.channel.reset()
    gc.collect()
    t0 = time.perf_counter()
    result = await agent.scheduler.resync_full(desired, f"create {n} taps in a bridge domain")
    seconds = time.perf_counter() - t0
    problems.txn(label, result)
    check_simulator(label, sim.state, n, problems)
    return CreateRun(seconds, agent.channel.total, agent.channel.writes)


@dataclass(frozen=True, slots=True)
class RestartRun:
    """Seconds from a new agent's start to the end of its full resync, and its writes."""

    seconds: float
    writes: int
    reads: int


async def restart(sim: VppSimulator, n: int, concurrency: int, problems: Problems) -> RestartRun:
    """A second agent against the simulator the first one configured."""
    label = f"agent restart with {n} taps"
    desired = desired_state(n)
    gc.collect()
    t0 = time.perf_counter()
    agent = await start_agent(sim, concurrency)
    try:
        result = await agent.scheduler.resync_full(desired, "resync after restart")
        seconds = time.perf_counter() - t0
        problems.txn(label, result, writes=0)
        writes = agent.channel.writes
        if writes:
            problems.add(f"{label}: VPP unchanged, yet {writes} write requests were sent")
        check_simulator(label, sim.state, n, problems)
        reads = agent.channel.total - writes
    finally:
        await agent.stop()
    return RestartRun(seconds, writes, reads)


def check_simulator(label: str, state: VppState, n: int, problems: Problems) -> None:
    """The simulator holds the N tagged taps, each with its address, all in the bridge domain."""
    taps = {i.tag: i for i in state.interfaces.values() if i.tag}
    if len(taps) != n:
        problems.add(f"{label}: {len(taps)} tagged interfaces in VPP, not {n}")
        return
    without = [tag for tag, i in taps.items() if len(i.addresses) != 1 or not i.admin_up]
    if without:
        problems.add(f"{label}: {len(without)} taps without their address or down")
    domains = [bd for bd in state.bridge_domains.values() if bd.tag == BRIDGE_DOMAIN]
    members = {m for bd in domains for m in bd.members}
    if len(domains) != 1 or members != {i.sw_if_index for i in taps.values()}:
        problems.add(f"{label}: bridge domain {BRIDGE_DOMAIN} does not hold exactly the taps")
