"""``contivpy bench <suite>``: run a benchmark suite on uvloop and print its figures.

In: the suite name and the CLI options (``as_json``, ``quick``). Out: the figures on stdout
(a table, or JSON lines) and an exit code: 0 when the run was correct, whether or not targets
were met (it is a measurement); 1 when a transaction reported errors, a resync wrote to an
unchanged southbound or the southbound did not end up as desired (the figures are then
printed anyway, and every problem on stderr); 2 for an unknown suite.
"""

from __future__ import annotations

import sys

import uvloop

from contivpy.bench import environment, report, scheduler_suite
from contivpy.bench.metrics import Metric
from contivpy.bench.verify import Problems

SUITES = ("scheduler",)


def run_bench(suite: str, *, as_json: bool, quick: bool) -> int:
    """Run one suite and print its figures; returns the process exit code."""
    if suite not in SUITES:
        print(f"unknown benchmark suite {suite!r}; known: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    problems = Problems()
    sizes = scheduler_suite.QUICK if quick else scheduler_suite.FULL
    metrics = uvloop.run(scheduler_suite.run(sizes, problems))
    metrics.append(
        Metric("peak_rss_mb", environment.peak_rss_mb(), "MB", None, "peak RSS of the process")
    )
    if as_json:
        print(report.json_lines(scheduler_suite.BENCH, metrics))
    else:
        mode = (
            "QUICK mode: reduced sizes under the full-size metric names (see 'measured'); "
            "targets apply to full sizes"
            if quick
            else "full sizes; in-memory southbound, no latency unless stated"
        )
        header = [
            f"contivpy bench {suite} -- {mode}",
            environment.describe(),
            "",
        ]
        print(report.table(metrics, header))
    for problem in problems.items:
        print(f"correctness failure: {problem}", file=sys.stderr)
    return 1 if problems else 0
