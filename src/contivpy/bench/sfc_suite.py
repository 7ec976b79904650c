"""The ``sfc`` benchmark suite (issue 13): ServiceFunctionChains rendered by two node agents.

In: ``SfcSizes`` (``FULL``: 100 chains of 3 CNF pods, 50 re-routes; ``QUICK``: 10 chains, 5
re-routes) and ``Problems``. Out: the suite's metrics in a fixed order (full-size names in both
modes). The cluster (``sfc_cluster``): one embedded etcd, two VPP simulators in processes of
their own, both node agents in this process. The chains and pods: ``sfc_workload``.

1. Both agents started, each knowing the other. Every CNF pod wired (reflected, CNI ADD,
   reflected with its IP; 10 at a time), both agents idle. No chain exists yet.
2. ``sfc_render_100_s``: every chain put into etcd (concurrently); the clock runs from just
   before the first put until both agents hold every chain's path on the expected pods with
   no hop waiting, and are idle (their transactions applied); then both VPPs are read and
   must hold exactly the expected cross-connects and SFC tunnels (``sfc_expect``). Should
   they not yet, the wait goes on (the clock with it); after 30 s it is a problem.
3. ``sfc_reroute_p50_ms`` / ``_p99_ms``: per sample a CNF pod of some chain (chain ``7s mod
   N``, element ``s mod 3``) is deleted (CNI DEL on its node, its reflected object deleted)
   and a replacement with the same labels created on the other node (reflected, ADDed,
   reflected with its IP), one step after the other as Kubernetes would; the clock runs from
   just before the DEL until both agents hold the chain's new path and are idle, and both
   VPPs then hold exactly the expected state of every chain (checked as in step 2). The
   replacement's own ADD is part of the time: the chain cannot move before it exists.
4. ``sfc_restart_vpp_writes``: both agents stopped and started again over the same state,
   etcd and VPPs; the configuration requests both simulators served from before the stops
   until both are idle again with every path rendered (must be 0); VPPs checked again.

A wrong end state, a chain refused or left waiting, or a write at restart is a problem: the
run exits 1 (figures printed anyway).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from contivpy.bench import sfc_expect, sfc_workload
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.pods_suite import percentile
from contivpy.bench.sfc_cluster import NODE_NAMES, SfcCluster, sfc_cluster
from contivpy.bench.sfc_workload import CnfPod, chain_id
from contivpy.bench.verify import Problems

BENCH = "sfc"
_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.001
_RETRY_SECONDS = 0.01  # after a VPP read that did not match yet


@dataclass(frozen=True, slots=True)
class SfcSizes:
    """Sizes of one run."""

    chains: int
    reroutes: int
    concurrency: int = 10  # pods wired at a time before the render (not measured)


FULL = SfcSizes(chains=100, reroutes=50)
QUICK = SfcSizes(chains=10, reroutes=5)


class _Applied:
    """Waits until the chains' paths are applied on both nodes (module docstring, step 2)."""

    def __init__(self, cluster: SfcCluster, problems: Problems) -> None:
        self.cluster = cluster
        self.problems = problems
        agent = cluster.nodes[0].agent
        assert agent is not None
        self.addresses = agent.ipnet.underlay_addresses()

    def owners(self, chains: Mapping[int, list[CnfPod]]) -> dict[str, tuple[str, ...]]:
        return {chain_id(i): tuple(pod.owner for pod in pods) for i, pods in chains.items()}

    def settled(self, owners: Mapping[str, tuple[str, ...]]) -> bool:
        """Both agents hold every path on the expected pods, no hop waiting."""
        for node in self.cluster.nodes:
            sfc = node.agent.sfc if node.agent is not None else None
            if sfc is None or sfc.waiting:
                return False
            for chain, expected in owners.items():
                path = sfc.paths.get(chain)
                if path is None or tuple(i.owner for i in path.instances) != expected:
                    return False
        return True

    async def wait(
        self,
        label: str,
        chains: Mapping[int, list[CnfPod]],
        started: float,
        changed: Collection[int] | None = None,
    ) -> float:
        """Seconds from ``started`` until the paths are applied and VPP holds them.
        ``changed``: the chains whose paths are watched while waiting (default: all); VPP is
        checked for all of them."""
        watched = chains if changed is None else {i: chains[i] for i in changed}
        owners = self.owners(watched)
        want = sfc_expect.expected(chains, NODE_NAMES)
        deadline = started + _WAIT_SECONDS
        differences: list[str] = []
        while True:
            now = time.perf_counter()
            if self.settled(owners):
                await self.cluster.wait_idle()
                if self.settled(owners):
                    elapsed = time.perf_counter() - started
                    differences = await self.differences(want)
                    if not differences:
                        return elapsed
                    await asyncio.sleep(_RETRY_SECONDS)
                    continue
            if now > deadline:
                self._give_up(label, owners, differences)
                return now - started
            await asyncio.sleep(_POLL_SECONDS)

    async def differences(self, want: list[sfc_expect.NodeView]) -> list[str]:
        held = [await sfc_expect.read(observer) for observer in self.cluster.observers]
        return sfc_expect.mismatches(want, held, NODE_NAMES, self.addresses)

    def _give_up(
        self, label: str, owners: Mapping[str, tuple[str, ...]], differences: list[str]
    ) -> None:
        if differences:
            self.problems.add(f"{label}: VPP differs: {'; '.join(differences[:6])}")
            return
        for node in self.cluster.nodes:
            sfc = node.agent.sfc if node.agent is not None else None
            if sfc is None:
                continue
            wrong = []
            for chain, expected in owners.items():
                path = sfc.paths.get(chain)
                if path is None or tuple(i.owner for i in path.instances) != expected:
                    wrong.append(f"{chain}: {path.describe() if path else 'no path'}")
            waiting = [f"{chain}: {hops}" for chain, hops in sfc.waiting.items()]
            self.problems.add(
                f"{label}: after {_WAIT_SECONDS:g} s {node.settings.node_name} holds "
                f"{len(wrong)} paths not on the expected pods, e.g. {wrong[:2]}, and "
                f"{len(waiting)} chains waiting, e.g. {waiting[:2]}"
            )


async def run(sizes: SfcSizes, problems: Problems) -> list[Metric]:
    """The four steps of the module docstring; returns the metrics (also after a problem)."""
    chains = sfc_workload.placements(sizes.chains)
    async with sfc_cluster() as cluster:
        await cluster.start_agents()
        applied = _Applied(cluster, problems)
        other = cluster.nodes[1].agent
        assert other is not None
        if other.ipnet.underlay_addresses() != applied.addresses:
            problems.add("the two agents disagree on the nodes' underlay addresses")
        pods = [pod for chain in chains.values() for pod in chain]
        await sfc_workload.wire_all(cluster, pods, sizes.concurrency)
        await cluster.wait_idle()

        started = time.perf_counter()
        await asyncio.gather(*(sfc_workload.put_chain(cluster, i) for i in chains))
        render_s = await applied.wait(f"render of {sizes.chains} chains", chains, started)
        want = sfc_expect.expected(chains, NODE_NAMES)
        xconnects = sum(len(view.xconnects) for view in want)
        tunnels = sum(len(view.peers) for view in want)

        reroutes_ms = []
        for sample in range(sizes.reroutes):
            index, element = (7 * sample) % sizes.chains, sample % len(sfc_workload.ROLES)
            gone = chains[index][element]
            chains[index][element] = gone.replacement()
            label = f"re-route {sample} (chain {index}: {gone.name} to {gone.replacement().name})"
            started = time.perf_counter()
            await sfc_workload.unwire(cluster, gone)
            await sfc_workload.wire(cluster, chains[index][element])
            reroutes_ms.append(await applied.wait(label, chains, started, (index,)) * 1000)

        writes_before = await cluster.writes()
        await cluster.stop_agents()
        await cluster.start_agents()
        await applied.wait("agent restarts", chains, time.perf_counter())
        restart_writes = await cluster.writes() - writes_before
        if restart_writes:
            problems.add(
                f"agent restarts: VPPs unchanged, yet the simulators served {restart_writes} "
                "write requests"
            )
        for node in cluster.nodes:
            if node.agent is not None and node.agent.sfc.problems:
                problems.add(f"{node.settings.node_name} refused chains: {node.agent.sfc.problems}")

    n, r, slowest = sizes.chains, len(reroutes_ms), max(reroutes_ms, default=0.0)
    setting = (
        f"{n:,} chains of 3 CNF pods (stub taps) on 2 nodes: {xconnects:,} cross-connects and "
        f"{tunnels:,} SFC tunnel ends in all"
    )
    reroute = (
        f"{r:,} re-routes (a chain's pod DELed and deleted, a replacement reflected, ADDed and "
        "reflected with its IP on the other node) -> the new path applied on both nodes"
    )
    return [
        Metric(
            "sfc_render_100_s",
            render_s,
            "s",
            Target("<=", 2),
            f"{setting}; pods wired first: chains put -> every path rendered, both agents "
            "idle, both VPPs verified",
        ),
        Metric(
            "sfc_reroute_p50_ms",
            percentile(reroutes_ms, 0.50),
            "ms",
            None,
            f"median of {reroute}",
        ),
        Metric(
            "sfc_reroute_p99_ms",
            percentile(reroutes_ms, 0.99),
            "ms",
            Target("<=", 100),
            f"99th percentile (nearest rank) of {reroute}; slowest {slowest:.1f} ms",
        ),
        Metric(
            "sfc_restart_vpp_writes",
            restart_writes,
            "writes",
            Target("==", 0),
            f"configuration requests both simulators served while both agents restarted "
            f"with the {n:,} chains rendered",
        ),
    ]
