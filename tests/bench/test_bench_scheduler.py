"""Smoke test of ``contivpy bench scheduler``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a numeric
value, the unchanged resync made no southbound write, and the run exited 0. Also: the
verifier notices a southbound that does not hold what was desired (a broken run must fail).
"""

from __future__ import annotations

from bench.quick_run import run_quick
from contivpy.bench.scenarios import running
from contivpy.bench.southbound import Southbound
from contivpy.bench.verify import Problems
from contivpy.bench.workload import BRIDGE_DOMAIN, interface_name, with_bridge_domain
from contivpy.models.vpp_keys import bd_member_key
from contivpy.scheduler import Txn

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
    by_name = run_quick("scheduler", METRICS, timeout=15)
    assert by_name["resync_10k_writes"]["value"] == 0


async def test_verifier_flags_a_southbound_that_differs() -> None:
    sb = Southbound()
    desired = with_bridge_domain(3)
    async with running(sb) as scheduler:
        result = await scheduler.commit(Txn(desired))
    problems = Problems()
    assert problems.txn("create", result, writes=7)
    assert problems.southbound("create", sb, desired)
    sb.drift_remove(bd_member_key(BRIDGE_DOMAIN, interface_name(1)))  # behind the scheduler
    assert not problems.southbound("drift", sb, desired)
    assert "1 member(s) missing" in problems.items[0]
