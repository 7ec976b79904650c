"""Smoke test of ``contivpy bench pods``: the quick run (20 pods, then 10 multi-interface
pods) in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, the restarted agents (with single- and with multi-interface pods) wrote nothing
to VPP, every target is stated, and the run exited 0 (which means every ADD succeeded with its
own IPs, VPP held a tap per pod, and per multi-interface pod its custom tap and memif, after
each phase, and the DELs left neither IPs nor interfaces). Also: the percentile the suite
reports is the nearest-rank one, and an exec'd ADD's breakdown adds up to the ADD.
"""

from __future__ import annotations

import math

from bench.quick_run import run_quick
from contivpy.bench.add_breakdown import breakdown
from contivpy.bench.pods_suite import percentile
from contivpy.events.history import EventRecord
from contivpy.scheduler.api import TxnKind, TxnRecord

METRICS = {
    "cni_exec_add_p50_ms": "<= 60 ms",
    "cni_exec_add_p99_ms": "<= 120 ms",
    "cni_exec_start_p50_ms": None,
    "cni_exec_add_cpu_ms": None,
    "cni_exec_add_to_loop_p50_ms": None,
    "cni_exec_add_controllers_p50_ms": None,
    "cni_exec_add_southbound_p50_ms": None,
    "cni_exec_add_reply_p50_ms": None,
    "cni_add_p50_ms": "<= 20 ms",
    "cni_add_p99_ms": "<= 60 ms",
    "add_250_total_s": None,
    "restart_steady_s": "<= 2 s",
    "restart_vpp_writes": "== 0 writes",
    "vpp_restart_restore_s": "<= 3 s",
    "multi_if_add_p50_ms": "<= 30 ms",
    "multi_if_add_p99_ms": "<= 90 ms",
    "multi_if_restart_vpp_writes": "== 0 writes",
    "agent_rss_mb": "<= 150 MB",
}


def test_quick_bench_emits_every_metric_once() -> None:
    by_name = run_quick("pods", METRICS, timeout=20, log_level="error")
    for name, target in METRICS.items():
        assert by_name[name]["target"] == target, (name, by_name[name]["target"])
    for writes in ("restart_vpp_writes", "multi_if_restart_vpp_writes"):
        assert by_name[writes]["value"] == 0
        assert by_name[writes]["pass"] is True
    # the quick run's reduced size, under the full-size name
    assert "of 10 pods with eth0 + a tap + a memif" in str(by_name["multi_if_add_p50_ms"]["detail"])


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile(list(reversed(values)), 0.5) == 50.0
    assert math.isnan(percentile([], 0.5))


def test_an_add_breakdown_adds_up_to_the_add() -> None:
    def event(pod: str, started_at: float, duration: float, txn: int | None) -> EventRecord:
        description = f"pod default/{pod} container 0123456789ab"
        return EventRecord(1, "AddPod", description, (), (), txn, started_at, duration)

    def txn(seq: int, duration: float) -> TxnRecord:
        return TxnRecord(seq, TxnKind.NB_CHANGE, "", 0.0, duration, (), (), (), ())

    spans = {"a": (100.0, 100.5), "b": (100.0, 101.0), "gone": (100.0, 100.2)}
    events = [
        event("a", 100.2, 0.25, 7),  # started 200 ms in, 250 ms long, 100 ms of it the txn
        event("b", 100.1, 0.1, None),  # nothing to send south
        EventRecord(2, "DeletePod", "pod default/a container 0123456789ab", (), (), 9, 0, 1),
    ]
    parts = breakdown(spans, events, [txn(7, 0.1), txn(9, 5.0)])
    assert [round(v) for v in parts.to_loop_ms] == [200, 100]
    assert [round(v) for v in parts.controllers_ms] == [150, 100]
    assert [round(v) for v in parts.southbound_ms] == [100, 0]
    assert [round(v) for v in parts.reply_ms] == [50, 800]
    for index, (start, end) in enumerate([spans["a"], spans["b"]]):
        total = sum(
            getattr(parts, f"{name}_ms")[index]
            for name in ("to_loop", "controllers", "southbound", "reply")
        )
        assert round(total) == round((end - start) * 1000)
