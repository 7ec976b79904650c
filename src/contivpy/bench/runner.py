"""``contivpy bench <suite>``: run a benchmark suite on uvloop and print its figures.

In: the suite name and the CLI options (``as_json``, ``quick``). Out: the figures on stdout
(a table, or JSON lines) and an exit code: 0 when the run was correct, whether or not targets
were met (it is a measurement); 1 when a transaction reported errors, an unchanged resync (or
a restarted agent) wrote to an unchanged VPP or VPP did not end up as desired (the figures
are then printed anyway, and every problem on stderr); 2 for an unknown suite. Suites:
``scheduler`` (``scheduler_suite``), ``vpp`` (``vpp_suite``), ``pods`` (``pods_suite``),
``eventlog`` (``eventlog_suite``), ``sfc`` (``sfc_suite``), ``services``
(``services_suite``). Every suite but ``pods`` ends with
``peak_rss_mb``; ``pods`` reports the same figure as ``agent_rss_mb``, with its target.
With ``vpp_socket`` (``--vpp-socket``) ``vpp`` runs ``vpp_real_suite`` and ``pods`` runs
``pods_real_suite`` against the real VPP there; a real node that cannot be set up (not root,
VPP elsewhere) is a one-line error and exit 2.
"""

from __future__ import annotations

import sys

import uvloop

from contivpy.bench import (
    environment,
    eventlog_suite,
    pods_real_suite,
    pods_suite,
    report,
    scheduler_suite,
    services_suite,
    sfc_suite,
    vpp_real_suite,
    vpp_suite,
)
from contivpy.bench.metrics import Metric
from contivpy.bench.verify import Problems
from contivpy.vppprocess.real_node import RealNodeError

SUITES = ("scheduler", "vpp", "pods", "eventlog", "sfc", "services")
#: what a full-size run measures against, per suite (the table's header says it)
_SETTING = {
    "scheduler": "VPP descriptors on the VPP simulator in this process, no socket, "
    "no latency unless stated",
    "vpp": "VPP simulator in its own process on a unix socket",
    "pods": "node agent with embedded etcd, VPP simulator in its own process",
    "eventlog": "embedded etcd; stand-in, VPP simulator and agent each in its own process",
    "sfc": "two node agents in this process with one embedded etcd, a VPP simulator each in "
    "its own process",
    "services": "node agent with embedded etcd, VPP simulator in its own process",
}
#: the same with ``--vpp-socket``, for the suites that have a real-VPP run
_REAL = {
    "vpp": "vpp_papi on the same VPP",
    "pods": "node agent with embedded etcd configuring Linux (veth mode), pods in real "
    "network namespaces",
}


async def _run_suite(
    suite: str, quick: bool, problems: Problems, vpp_socket: str | None = None
) -> tuple[str, list[Metric]]:
    if suite == "vpp" and vpp_socket:
        real_sizes = vpp_real_suite.QUICK if quick else vpp_real_suite.FULL
        return vpp_real_suite.BENCH, await vpp_real_suite.run(vpp_socket, real_sizes, problems)
    if suite == "vpp":
        vpp_sizes = vpp_suite.QUICK if quick else vpp_suite.FULL
        return vpp_suite.BENCH, await vpp_suite.run(vpp_sizes, problems)
    if suite == "pods" and vpp_socket:
        real_pods = pods_real_suite.QUICK if quick else pods_real_suite.FULL
        return pods_real_suite.BENCH, await pods_real_suite.run(vpp_socket, real_pods, problems)
    if suite == "pods":
        pods_sizes = pods_suite.QUICK if quick else pods_suite.FULL
        return pods_suite.BENCH, await pods_suite.run(pods_sizes, problems)
    if suite == "eventlog":
        eventlog_sizes = eventlog_suite.QUICK if quick else eventlog_suite.FULL
        return eventlog_suite.BENCH, await eventlog_suite.run(eventlog_sizes, problems)
    if suite == "sfc":
        sfc_sizes = sfc_suite.QUICK if quick else sfc_suite.FULL
        return sfc_suite.BENCH, await sfc_suite.run(sfc_sizes, problems)
    if suite == "services":
        services_sizes = services_suite.QUICK if quick else services_suite.FULL
        return services_suite.BENCH, await services_suite.run(services_sizes, problems)
    sizes = scheduler_suite.QUICK if quick else scheduler_suite.FULL
    return scheduler_suite.BENCH, await scheduler_suite.run(sizes, problems)


def run_bench(suite: str, *, as_json: bool, quick: bool, vpp_socket: str | None = None) -> int:
    """Run one suite and print its figures; returns the process exit code.

    ``vpp_socket``: the ``vpp`` suite runs against the real VPP there instead of simulators.
    """
    if suite not in SUITES:
        print(f"unknown benchmark suite {suite!r}; known: {', '.join(SUITES)}", file=sys.stderr)
        return 2
    if vpp_socket and suite not in _REAL:
        print("--vpp-socket applies to the vpp and pods suites only", file=sys.stderr)
        return 2
    problems = Problems()
    try:
        bench, metrics = uvloop.run(_run_suite(suite, quick, problems, vpp_socket))
    except RealNodeError as error:
        print(f"contivpy bench {suite}: {error}", file=sys.stderr)
        return 2
    if suite != "pods":
        metrics.append(
            Metric("peak_rss_mb", environment.peak_rss_mb(), "MB", None, "peak RSS of the process")
        )
    if as_json:
        print(report.json_lines(bench, metrics))
    else:
        setting = f"real VPP at {vpp_socket}; {_REAL[suite]}" if vpp_socket else _SETTING[suite]
        mode = (
            "QUICK mode: reduced sizes under the full-size metric names (see 'measured'); "
            "targets apply to full sizes"
            if quick
            else f"full sizes; {setting}"
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
