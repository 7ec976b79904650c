"""Smoke test of ``contivpy bench pods``: the quick run (20 pods) in a subprocess, as a user
runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, the restarted agent wrote nothing to VPP, every target is stated, and the run
exited 0 (which means every ADD succeeded with its own IP and VPP held a tap per pod after
each phase). Also: the percentile the suite reports is the nearest-rank one.
"""

from __future__ import annotations

import math

from bench_smoke.quick_run import run_quick
from contivpy.bench.pods_suite import percentile

METRICS = {
    "cni_add_p50_ms": "<= 20 ms",
    "cni_add_p99_ms": "<= 60 ms",
    "add_250_total_s": None,
    "restart_steady_s": "<= 2 s",
    "restart_vpp_writes": "== 0 writes",
    "vpp_restart_restore_s": "<= 3 s",
    "agent_rss_mb": "<= 150 MB",
}


def test_quick_bench_emits_every_metric_once() -> None:
    by_name = run_quick("pods", METRICS, timeout=60, log_level="error")
    for name, target in METRICS.items():
        assert by_name[name]["target"] == target, (name, by_name[name]["target"])
    assert by_name["restart_vpp_writes"]["value"] == 0
    assert by_name["restart_vpp_writes"]["pass"] is True


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile(list(reversed(values)), 0.5) == 50.0
    assert math.isnan(percentile([], 0.5))
