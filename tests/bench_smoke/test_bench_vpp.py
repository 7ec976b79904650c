"""Smoke test of ``contivpy bench vpp``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, the restarted agent wrote nothing to VPP, and the run exited 0. Also: the
simulator check notices a VPP that does not hold the benchmark state (a broken run must fail).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from contivpy.bench.verify import Problems
from contivpy.bench.vpp_scenarios import check_simulator
from contivpy.sim.vpp.state import VppState

METRICS = (
    "vpp_create_1000_s",
    "vpp_calls_per_s",
    "vpp_create_1000_sequential_s",
    "vpp_pipelining_speedup",
    "vpp_create_1000_latency_s",
    "vpp_create_1000_latency_sequential_s",
    "vpp_pipelining_speedup_latency",
    "vpp_restart_resync_s",
    "vpp_restart_writes",
    "peak_rss_mb",
)

# Through the CLI once it lists the vpp suite; until then through the runner it calls.
CLI = """
import sys
from contivpy.bench.runner import run_bench
from contivpy.cli import build_parser, main
from contivpy.logs import configure_logging

args = ["--log-level", "warning", "bench", "vpp", "--json", "--quick"]
try:
    build_parser().parse_args(args)
except SystemExit:
    configure_logging("warning")
    sys.exit(run_bench("vpp", as_json=True, quick=True))
sys.exit(main(args))
"""


def test_quick_bench_emits_every_metric_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLI], capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_name: dict[str, list[dict[str, object]]] = {}
    for line in lines:
        assert line["bench"] == "vpp"
        by_name.setdefault(str(line["metric"]), []).append(line)
    assert set(by_name) == set(METRICS)
    for name in METRICS:
        found = by_name[name]
        assert len(found) == 1, f"{name} appears {len(found)} times"
        value = found[0]["value"]
        assert isinstance(value, int | float), (name, value)
        assert not isinstance(value, bool), (name, value)
        assert math.isfinite(value), (name, value)
    assert by_name["vpp_restart_writes"][0]["value"] == 0
    assert by_name["vpp_restart_writes"][0]["pass"] is True


def test_the_check_flags_a_vpp_without_the_benchmark_state() -> None:
    problems = Problems()
    check_simulator("empty VPP", VppState(), 3, problems)
    assert problems.items == ["empty VPP: 0 tagged interfaces in VPP, not 3"]
