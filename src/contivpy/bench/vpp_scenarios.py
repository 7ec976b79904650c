"""The VPP measurements of the agent's side: the scheduler, the VPP descriptors and the
pipelined client against a simulator process, over a real unix socket.

In: a running :class:`~contivpy.bench.sim_process.SimProcess`, a size N, and ``Problems`` to
record correctness failures in. Out: raw figures. ``create`` times one transaction creating N
taps, each with an address, all members of one bridge domain, and counts and records the API
calls it made (to be replayed by ``papi_replay`` and ``sim_feed``); ``restart`` times an
agent restart against the unchanged simulator (refresh-only start, then a full resync with
the same desired state rebuilt as new objects) and counts the writes the simulator served
meanwhile, which must be none. Only awaited scheduler calls are timed; set-up and checks are
not. ``check_simulator`` checks a simulator's state summary holds the benchmark state.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contivpy.bench.call_recorder import RecordedCall, RecordingChannel
from contivpy.bench.sim_process import SimProcess
from contivpy.bench.verify import Problems
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.models.vpp_interfaces import Interface, InterfaceType, TapLink
from contivpy.models.vpp_keys import bridge_domain_key, interface_key
from contivpy.models.vpp_l2 import BDInterface, BridgeDomain
from contivpy.scheduler import Scheduler, Txn
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
    """A scheduler with the VPP descriptors over a recorded (and counted) client."""

    client: VppClient
    channel: RecordingChannel
    scheduler: Scheduler

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.client.close()


async def start_agent(socket_path: str, concurrency: int) -> Agent:
    """A started agent (refresh-only start, as ``contivpy agent`` does) on ``socket_path``."""
    client = VppClient(socket_path)
    await client.start(connect_timeout=10.0)
    channel = RecordingChannel(client)
    scheduler = Scheduler(concurrency=concurrency)
    register_vpp_descriptors(scheduler, channel)
    await scheduler.start()
    return Agent(client, channel, scheduler)


@dataclass(frozen=True, slots=True)
class CreateRun:
    """Seconds of the create transaction, the API calls it made, and those calls."""

    seconds: float
    calls: int
    writes: int
    recorded: list[RecordedCall]


async def create(
    sim: SimProcess, agent: Agent, n: int, label: str, problems: Problems
) -> CreateRun:
    """Create the benchmark state in one transaction; checked against the simulator."""
    desired = desired_state(n)
    agent.channel.reset()
    gc.collect()
    started = time.perf_counter()
    result = await agent.scheduler.commit(Txn(desired, f"create {n} taps in a bridge domain"))
    seconds = time.perf_counter() - started
    problems.txn(label, result)
    check_simulator(label, await sim.summary(), n, problems)
    channel = agent.channel
    return CreateRun(seconds, channel.total, channel.writes, channel.recorded())


@dataclass(frozen=True, slots=True)
class RestartRun:
    """Seconds from a new agent's start to the end of its full resync; what it sent."""

    seconds: float
    #: configuration requests the simulator served meanwhile
    writes: int
    reads: int


async def restart(sim: SimProcess, n: int, concurrency: int, problems: Problems) -> RestartRun:
    """A second agent against the simulator the first one configured."""
    label = f"agent restart with {n} taps"
    desired = desired_state(n)
    writes_before = await sim.writes()
    gc.collect()
    started = time.perf_counter()
    agent = await start_agent(sim.socket_path, concurrency)
    try:
        result = await agent.scheduler.resync_full(desired, "resync after restart")
        seconds = time.perf_counter() - started
        problems.txn(label, result, writes=0)
        reads = agent.channel.total - agent.channel.writes
    finally:
        await agent.stop()
    writes = await sim.writes() - writes_before
    if writes:
        problems.add(f"{label}: VPP unchanged, yet the simulator served {writes} write requests")
    check_simulator(label, await sim.summary(), n, problems)
    return RestartRun(seconds, writes, reads)


def check_simulator(label: str, summary: Mapping[str, Any], n: int, problems: Problems) -> None:
    """The simulator (its control ``summary``) holds the N tagged taps, each up with its
    address, all members of the one bridge domain."""
    taps = {i["tag"]: i for i in summary["interfaces"] if i["tag"]}
    if len(taps) != n:
        problems.add(f"{label}: {len(taps)} tagged interfaces in VPP, not {n}")
        return
    without = [tag for tag, i in taps.items() if len(i["addresses"]) != 1 or not i["admin_up"]]
    if without:
        problems.add(f"{label}: {len(without)} taps without their address or down")
    domains = [bd for bd in summary["bridge_domains"] if bd["tag"] == BRIDGE_DOMAIN]
    members = {m for bd in domains for m in bd["members"]}
    if len(domains) != 1 or members != {i["sw_if_index"] for i in taps.values()}:
        problems.add(f"{label}: bridge domain {BRIDGE_DOMAIN} does not hold exactly the taps")
