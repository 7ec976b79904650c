"""Smoke test of ``contivpy bench services``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, and the run exited 0: every phase's checks passed (no failed transaction or
event, no refused Service or NetworkPolicy, VPP as desired after each phase by a dry-run
resync, every endpoint and label change applied) and the restarted agent wrote nothing to VPP.
Also: the workload's label change always gives the pod another table's policy.
"""

from __future__ import annotations

import pytest

from bench.quick_run import run_quick
from contivpy.bench import services_workload

METRICS = (
    "services_10k_apply_s",
    "endpoint_change_p50_ms",
    "endpoint_change_p99_ms",
    "policy_1k_apply_s",
    "label_change_p50_ms",
    "label_change_p99_ms",
    "services_restart_vpp_writes",
    "peak_rss_mb",
)


# ~8 s (a whole quick benchmark run) with both cores of a 2-core machine busy; 3x, rounded.
@pytest.mark.timeout(40)
def test_quick_bench_emits_every_metric_once_and_restart_writes_nothing() -> None:
    found = run_quick("services", METRICS, timeout=35)  # within the test's own timeout
    assert found["services_restart_vpp_writes"]["value"] == 0


def test_a_label_change_moves_the_pod_to_a_policy_admitting_another_port_only() -> None:
    before = services_workload.pod_labels(7)
    after = services_workload.pod_labels(7, shift=1)
    assert before["app"] != after["app"]
    assert before["group"] == after["group"]
    assert services_workload.policy_port(7) != services_workload.policy_port(8)
    ips = {ip for i in range(100) for ip in services_workload.endpoint_ips(i, extra=True)}
    assert len(ips) == 100 * (services_workload.ENDPOINTS + 1)
