"""Smoke test of ``contivpy bench scheduler``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a numeric
value, the unchanged resync made no VPP write, and the run exited 0. Also: the benchmark's
scheduler runs the agent's VPP descriptors (what it creates is in the simulated VPP), and the
check notices a VPP that does not hold what was desired (a broken run must fail).
"""

from __future__ import annotations

from bench.quick_run import run_quick
from contivpy.bench import sim_check
from contivpy.bench.scenarios import running
from contivpy.bench.sim_channel import SimChannel
from contivpy.bench.verify import Problems
from contivpy.bench.workload import BRIDGE_DOMAIN, interface_name, with_bridge_domain
from contivpy.scheduler import Txn
from contivpy.vppcalls import bridge_domains

METRICS = (
    "txn_create_n1000_s",
    "txn_create_n10000_s",
    "small_txn_ms_at_1k",
    "small_txn_ms_at_10k",
    "small_txn_ratio",
    "resync_10k_s",
    "resync_10k_writes",
    "concurrent_c1_s",
    "concurrent_c16_s",
    "concurrent_speedup",
    "concurrent_c16_max_in_flight",
    "peak_rss_mb",
)


def test_quick_bench_emits_every_metric_once() -> None:
    by_name = run_quick("scheduler", METRICS, timeout=20)
    assert by_name["resync_10k_writes"]["value"] == 0


async def test_the_benchmark_state_lands_in_the_simulated_vpp() -> None:
    vpp = SimChannel()
    desired = with_bridge_domain(3)
    async with running(vpp) as scheduler:
        result = await scheduler.commit(Txn(desired))
    problems = Problems()
    assert problems.txn("create", result, writes=7)
    taps = {i.tag: i for i in vpp.state.interfaces.values() if i.tag}
    assert sorted(taps) == [interface_name(i) for i in range(3)]
    assert all(t.admin_up and t.mtu[0] == 1500 for t in taps.values())
    (domain,) = (d for d in vpp.state.bridge_domains.values() if d.settings.tag == BRIDGE_DOMAIN)
    assert set(domain.members) == {t.sw_if_index for t in taps.values()}
    assert sim_check.check(problems, "create", vpp.state, desired)
    assert not problems


async def test_check_flags_a_vpp_that_differs() -> None:
    vpp = SimChannel()
    desired = with_bridge_domain(3)
    async with running(vpp) as scheduler:
        await scheduler.commit(Txn(desired))
    # Someone else takes a member out of the domain, behind the scheduler's back.
    member = next(i for i in vpp.state.interfaces.values() if i.tag == interface_name(1))
    assert member.bd_id is not None
    await bridge_domains.remove_port(
        vpp, bridge_domains.BridgeDomainPort(member.sw_if_index, member.bd_id)
    )
    problems = Problems()
    assert not sim_check.check(problems, "drift", vpp.state, desired)
    assert "1 member(s) missing" in problems.items[0]
