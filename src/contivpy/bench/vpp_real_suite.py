"""The ``vpp`` benchmark suite on a real VPP: ``contivpy bench vpp --vpp-socket PATH``.

In: a running VPP's API socket, :class:`RealSizes` (``FULL`` or ``QUICK``) and ``Problems``.
Out: the suite's metrics under the simulator suite's names, plus the same three for routes:

- ``create_1000_s``: one scheduler transaction creating N loopbacks (a real VPP without
  /dev/vhost-net cannot make taps), each up with one address, through the VPP descriptors and
  the pipelined ``VppClient`` (16 operations in flight);
- ``pipelined_calls_per_s`` / ``sequential_calls_per_s`` / ``pipelined_speedup`` (target >= 5):
  the calls of that transaction per second, against the same calls made one at a time by
  vpp_papi's synchronous ``VPPApiClient`` on the same VPP (created interfaces' indexes mapped,
  since a cleaned VPP may number them differently);
- ``sim_msgs_per_s``: the same calls pre-packed and sent at once: the real VPP's own rate
  (the name is the simulator suite's; here it measures VPP);
- ``route_create_1000_s``, ``route_pipelined_calls_per_s``, ``route_sequential_calls_per_s``,
  ``route_pipelined_speedup``: the same for N routes through one next hop;
- ``vpp_restart_writes``: writes a new agent sent while it started (refresh-only) and ran a
  full resync of the loopback state against the VPP that already had it; target 0.

Between runs the VPP is cleaned of what the benchmark made (interfaces and bridge domains
tagged ``bench-``, routes in its prefixes), newest interface first, so VPP hands the same
indexes out again; nothing else on the VPP is touched. Each timed scenario runs ``repeats``
times and the median is reported.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contivpy.bench import papi_replay, sim_feed, vpp_scenarios
from contivpy.bench.call_recorder import RecordedCall
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.verify import Problems
from contivpy.models.vpp_interfaces import Interface, InterfaceType
from contivpy.models.vpp_keys import interface_key, route_key
from contivpy.models.vpp_l3 import Route
from contivpy.scheduler import Txn
from contivpy.vppcalls import bridge_domains, interface_ip, interfaces, loopback, routes
from contivpy.vppcalls.client import VppClient

BENCH = "vpp"
PREFIX = "bench-"
BRIDGE_DOMAIN = "bench-bd"
GATEWAY = "bench-gw"
_ROUTES = ipaddress.ip_network("10.64.0.0/10")


@dataclass(frozen=True, slots=True)
class RealSizes:
    """Sizes of one run."""

    loopbacks: int
    routes: int
    repeats: int = 3
    concurrency: int = 16


FULL = RealSizes(loopbacks=1_000, routes=1_000)
QUICK = RealSizes(loopbacks=50, routes=50, repeats=1)


def loopback_state(n: int) -> dict[str, object]:
    """N loopbacks, up, one address each.

    No bridge domain, unlike the simulator suite's taps: VPP picks a new domain's id from a
    random sequence, so the pre-packed feed (sent before any answer) could not name it.
    """
    desired: dict[str, object] = {}
    for i in range(n):
        name = f"{PREFIX}lo{i:05d}"
        address = f"10.{(i >> 8) & 0xFF}.{i & 0xFF}.1/32"
        desired[interface_key(name)] = Interface(
            name, InterfaceType.LOOPBACK, ip_addresses=(address,)
        )
    return desired


def route_state(n: int) -> dict[str, object]:
    """One loopback on 10.200.0.1/24 and N /24 routes through 10.200.0.2 on it."""
    desired: dict[str, object] = {
        interface_key(GATEWAY): Interface(
            GATEWAY, InterfaceType.LOOPBACK, ip_addresses=("10.200.0.1/24",)
        )
    }
    subnets = _ROUTES.subnets(new_prefix=24)
    for _ in range(n):
        route = Route(str(next(subnets)), next_hop="10.200.0.2", outgoing_interface=GATEWAY)
        desired[route_key(0, route.dst_network, route.next_hop, GATEWAY)] = route
    return desired


async def _start_agent(socket_path: str, concurrency: int) -> vpp_scenarios.Agent:
    """A started agent, as the simulator suite's, and its garbage frozen afterwards as
    ``contivpy agent`` does once it is up (what lives as long as the agent stays out of the
    collector's passes)."""
    agent = await vpp_scenarios.start_agent(socket_path, concurrency)
    gc.freeze()
    return agent


async def clean(socket_path: str) -> None:
    """Delete what the benchmark made (see the module docstring); nothing else."""
    client = VppClient(socket_path, call_timeout=30.0)
    await client.start(connect_timeout=10.0)
    try:
        for route in await routes.dump_routes(client, 0, False, routes.SOURCE_API):
            if route.prefix.subnet_of(_ROUTES):  # type: ignore[arg-type]
                await routes.delete_route(client, route)
        for bd in await bridge_domains.dump_bridge_domains(client):
            if bd.domain.tag.startswith(PREFIX):
                for member in bd.members:
                    await bridge_domains.remove_port(
                        client, bridge_domains.BridgeDomainPort(member.sw_if_index, bd.domain.bd_id)
                    )
                await bridge_domains.delete_bridge_domain(client, bd.domain.bd_id)
        ours = [i for i in await interfaces.dump_interfaces(client) if i.tag.startswith(PREFIX)]
        # Newest first: VPP hands freed indexes out last-freed first, so the next run's
        # creates get the same indexes as this one's.
        for found in sorted(ours, key=lambda i: i.sw_if_index, reverse=True):
            await loopback.delete_loopback(client, found.sw_if_index)
    finally:
        await client.close()


async def _count(socket_path: str) -> tuple[int, int, int]:
    """Benchmark loopbacks that are up with one address, bridge domain members, API routes."""
    client = VppClient(socket_path, call_timeout=30.0)
    await client.start(connect_timeout=10.0)
    try:
        loops = [
            i
            for i in await interfaces.dump_interfaces(client)
            if i.tag.startswith(f"{PREFIX}lo") and i.admin_up
        ]
        addressed = 0
        for i in loops:
            if len(await interface_ip.dump_addresses(client, i.sw_if_index, False)) == 1:
                addressed += 1
        members = sum(
            len(bd.members)
            for bd in await bridge_domains.dump_bridge_domains(client)
            if bd.domain.tag == BRIDGE_DOMAIN
        )
        api_routes = [
            r
            for r in await routes.dump_routes(client, 0, False, routes.SOURCE_API)
            if r.prefix.subnet_of(_ROUTES)  # type: ignore[arg-type]
        ]
        return addressed, members, len(api_routes)
    finally:
        await client.close()


@dataclass(frozen=True, slots=True)
class _Timed:
    seconds: float
    calls: int
    writes: int = 0


def _median(runs: Sequence[_Timed]) -> _Timed:
    return sorted(runs, key=lambda r: r.seconds)[(len(runs) - 1) // 2]


async def _pipelined(
    socket_path: str, desired: dict[str, object], concurrency: int, label: str, problems: Problems
) -> tuple[_Timed, list[RecordedCall]]:
    agent = await _start_agent(socket_path, concurrency)
    try:
        agent.channel.reset()
        gc.collect()
        started = time.perf_counter()
        result = await agent.scheduler.commit(Txn(desired, label))
        seconds = time.perf_counter() - started
        problems.txn(label, result)
        channel = agent.channel
        return _Timed(seconds, channel.total, channel.writes), channel.recorded()
    finally:
        await agent.stop()


async def _restart_writes(
    socket_path: str, desired: dict[str, object], concurrency: int, problems: Problems
) -> int:
    label = "agent restart against the configured VPP"
    agent = await _start_agent(socket_path, concurrency)
    try:
        result = await agent.scheduler.resync_full(desired, "resync after restart")
        problems.txn(label, result, writes=0)
        return agent.channel.writes
    finally:
        await agent.stop()


async def _scenario(
    socket_path: str,
    build: Callable[[int], dict[str, object]],
    n: int,
    sizes: RealSizes,
    expect: Callable[[tuple[int, int, int]], bool],
    label: str,
    problems: Problems,
) -> tuple[_Timed, _Timed, _Timed, int]:
    """Pipelined, sequential and pre-packed runs (medians) and the restart's writes."""
    creates: list[_Timed] = []
    replays: list[_Timed] = []
    feeds: list[_Timed] = []
    recorded: list[RecordedCall] = []
    restart_writes = 0
    for repeat in range(sizes.repeats):
        await clean(socket_path)
        run, calls = await _pipelined(socket_path, build(n), sizes.concurrency, label, problems)
        creates.append(run)
        if repeat == 0:
            recorded = calls
            if not expect(await _count(socket_path)):
                problems.add(f"{label}: VPP does not hold the state after the pipelined run")
            restart_writes = await _restart_writes(
                socket_path, build(n), sizes.concurrency, problems
            )
    for _ in range(sizes.repeats):
        await clean(socket_path)
        replay = await asyncio.to_thread(
            papi_replay.replay, socket_path, recorded, map_indexes=True
        )
        if replay.refused:
            problems.add(
                f"{label}, vpp_papi replay: {len(replay.refused)} refused: {replay.refused[:5]}"
            )
        if not expect(await _count(socket_path)):
            problems.add(f"{label}: VPP does not hold the state after the vpp_papi replay")
        replays.append(_Timed(replay.seconds, replay.calls))
    for _ in range(sizes.repeats):
        await clean(socket_path)
        fed = await sim_feed.feed(socket_path, recorded)
        if fed.refused:
            problems.add(f"{label}, pre-packed feed: {len(fed.refused)} refused: {fed.refused[:5]}")
        feeds.append(_Timed(fed.seconds, fed.calls))
    await clean(socket_path)
    return _median(creates), _median(replays), _median(feeds), restart_writes


async def run(socket_path: str, sizes: RealSizes, problems: Problems) -> list[Metric]:
    """Run both scenarios against the VPP at ``socket_path``."""
    n, m = sizes.loopbacks, sizes.routes
    runs = f"median of {sizes.repeats} runs" if sizes.repeats > 1 else "one run"
    loops, loops_seq, loops_fed, restart = await _scenario(
        socket_path,
        loopback_state,
        n,
        sizes,
        lambda c: c[0] == n,
        f"create {n} loopbacks",
        problems,
    )
    rts, rts_seq, _rts_fed, _ = await _scenario(
        socket_path,
        route_state,
        m,
        sizes,
        lambda c: c[2] == m,
        f"create {m} routes",
        problems,
    )
    what = f"{n:,} loopbacks (up, 1 address each)"
    metrics = [
        Metric(
            "create_1000_s",
            loops.seconds,
            "s",
            None,
            f"one scheduler transaction: {what}; real VPP; {runs}",
        ),
    ]
    metrics += _rates("", loops, loops_seq, runs)
    metrics.append(
        Metric(
            "sim_msgs_per_s",
            loops_fed.calls / loops_fed.seconds,
            "calls/s",
            None,
            f"the real VPP alone: the same {loops_fed.calls:,} calls pre-packed and sent "
            f"at once ({runs})",
        )
    )
    metrics.append(
        Metric(
            "route_create_1000_s",
            rts.seconds,
            "s",
            None,
            f"one transaction: {m:,} /24 routes via one next hop; {runs}",
        )
    )
    metrics += _rates("route_", rts, rts_seq, runs)
    metrics.append(
        Metric(
            "vpp_restart_writes",
            restart,
            "writes",
            Target("==", 0),
            f"writes a new agent sent (refresh-only start, then a full resync of the "
            f"{n:,} loopbacks)",
        )
    )
    return metrics


def _rates(prefix: str, pipelined: _Timed, sequential: _Timed, runs: str) -> list[Metric]:
    pipelined_rate = pipelined.calls / pipelined.seconds
    sequential_rate = sequential.calls / sequential.seconds
    return [
        Metric(
            f"{prefix}pipelined_calls_per_s",
            pipelined_rate,
            "calls/s",
            None,
            f"{pipelined.calls:,} API calls ({pipelined.writes:,} writes), pipelined VppClient",
        ),
        Metric(
            f"{prefix}sequential_calls_per_s",
            sequential_rate,
            "calls/s",
            None,
            f"the same calls one at a time with vpp_papi's VPPApiClient "
            f"({sequential.seconds:.3f} s; {runs})",
        ),
        Metric(
            f"{prefix}pipelined_speedup",
            pipelined_rate / sequential_rate,
            "x",
            Target(">=", 5),
            f"{prefix}pipelined_calls_per_s / {prefix}sequential_calls_per_s",
        ),
    ]
