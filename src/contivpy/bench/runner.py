"""``contivpy bench <suite>``: run a benchmark suite on uvloop and print its figures.

In: the suite name and the CLI options (``as_json``, ``quick``). Out: the figures on stdout
(a table, or JSON lines) and an exit code: 0 when the run was correct, whether or not targets
were met (it is a measurement); 1 when a transaction reported errors, a resync wrote to an
unchanged southbound (or a restarted agent to an unchanged VPP) or the southbound did not end
up as desired (the figures are then printed anyway, and every problem on stderr); 2 for an
unknown suite. Suites: ``scheduler`` (``scheduler_suite``), ``vpp`` (``vpp_suite``).
"""

from __future__ import annotations

import sys

import uvloop

from contivpy.bench import environment, report, scheduler_suite, vpp_suite
from contivpy.bench.metrics import Metric
from contivpy.bench.verify import Problems

SUITES = ("scheduler", "vpp")
#: what a full-size run measures against, per suite (the table's header says it)
_SETTING = {
    "scheduler": "in-memory southbound, no latency unless stated",
    "vpp": "VPP simulator in this process on a unix socket, no latency unless stated",
}


async def _run_suite(suite: str, quick: bool, problems: Problems) -> tuple[str, list[Metric]]:
    if suite == "vpp":
        vpp_sizes = vpp_suite.QUICK if quick else vpp_suite.FULL
        return vpp_suite.BENCH, await vpp_suite.run(vpp_sizes, problems)
    sizes = scheduler_suite.QUICK if quick else scheduler_suite.FULL
    return scheduler_suite.BENCH, await scheduler_suite.run(sizes, problems)


def run_bench(suite: str, *, as_json: bool, quick: bool) -> int:
    """Run one suite and print its figures; returns the process exit code."""
    if suite not in SUITES:
        print(f"unknown benchmark suite {suite!r}; known: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    problems = Problems()
    bench, metrics = uvloop.run(_run_suite(suite, quick, problems))
    metrics.append(
        Metric("peak_rss_mb", environment.peak_rss_mb(), "MB", None, "peak RSS of the process")
    )
    if as_json:
        print(report.json_lines(bench, metrics))
    else:
        mode = (
            "QUICK mode: reduced sizes under the full-size metric names (see 'measured'); "
            "targets apply to full sizes"
            if quick
            else f"full sizes; {_SETTING[suite]}"
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
