"""`contivpy demo`: start the cluster, apply the examples, show what happened.

In: options (nodes, --keep, the manifests, --workdir, --etcd-timeout). Out: on stdout, each
manifest object's outcome as `kubectl apply` reports it, what each node's VPP holds, the pods'
IPs and packet walks proving pod-to-pod connectivity across nodes. Exit code 0 when every
object was applied, every pod got networked and every walk delivered; 1 otherwise (the last
line says why); 2 for a usage error (a manifest missing or not YAML: one line naming the file
and line, before anything starts); 130 when interrupted. A failure to start is one line on
stderr, never a traceback. With --keep it stays up and prints how to query each agent with
`contivpy ctl`, until Ctrl-C or SIGTERM.

The working directory (etcd's data, sockets, state: tens of MB) is a new temporary one that is
removed on every exit (success, failure, Ctrl-C, SIGTERM), unless --workdir names one or
--keep is given: then it stays for inspection.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import IO, Any

import uvloop

from contivpy.demo.cluster import DemoCluster, demo_cluster
from contivpy.demo.real_cluster import RealCluster, RealDemoError, real_demo_cluster
from contivpy.demo.real_report import pings, vpp_interfaces
from contivpy.demo.report import pod_table, running_pods, sandbox_ids, vpp_views, walks
from contivpy.demo.scenario_list import SCENARIOS, manifests_of
from contivpy.demo.scenario_reports import SCENARIO_REPORTS
from contivpy.demo.scenarios import cnf_views
from contivpy.errors import ContivpyError
from contivpy.sim.kube.apply_report import ApplyReport, apply_and_report, read_manifests
from contivpy.sim.kube.errors import ManifestError
from contivpy.sim.kube.objects import JsonObject
from contivpy.store.errors import EmbeddedEtcdError

INTERRUPTED = 130  # as a shell reports a command ended by SIGINT
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SOCKET_PATH_MAX = 107  # a unix socket's path: 108 bytes with the terminating NUL (Linux)


def run_demo(
    *,
    scenario: str = "pods",
    nodes: int | None = None,
    keep: bool = False,
    manifests: tuple[Path, ...] = (),
    workdir: Path | None = None,
    vpp: Path | None = None,
    etcd_timeout: float = 120.0,
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
) -> int:
    """The command's body. ``vpp``: a VPP binary; the nodes then run real VPPs (root).
    ``scenario``: what to deploy and show (``demo/scenario_list.py``); ``manifests`` replace
    its manifests; ``nodes`` None: the scenario's node count."""
    if scenario not in SCENARIOS:
        known = ", ".join(sorted(SCENARIOS))
        print(f"contivpy demo: error: unknown scenario {scenario!r} ({known})", file=err)
        return 2
    if vpp is not None and scenario != "pods":
        print(f"contivpy demo: error: --scenario {scenario} runs on simulators only", file=err)
        return 2
    nodes = nodes if nodes is not None else SCENARIOS[scenario].nodes
    files = manifests or manifests_of(scenario)
    try:
        objects = read_manifests(files)
    except ManifestError as error:
        print(f"contivpy demo: error: {error}", file=err)
        return 2
    temporary = workdir is None
    directory = workdir or Path(tempfile.mkdtemp(prefix="contivpy-demo-"))
    demo = _Demo(nodes, keep, files, objects, directory, out, scenario)
    try:
        if problem := _socket_path_problem(directory, nodes, real=vpp is not None):
            print(f"contivpy demo: error: {problem}", file=err)
            code = 2
        elif vpp is not None:
            code = uvloop.run(demo.interruptible(_real_demo(demo, vpp, etcd_timeout)))
        else:
            code = uvloop.run(demo.interruptible(_demo(demo, etcd_timeout)))
    except KeyboardInterrupt:  # a second Ctrl-C during the clean-up
        code = INTERRUPTED
    except RealDemoError as error:
        print(f"contivpy demo --vpp: {error}", file=err)
        code = 2
    except EmbeddedEtcdError as error:
        print(f"contivpy demo: {_etcd_failure(error, etcd_timeout, temporary)}", file=err)
        code = 1
    except (ContivpyError, OSError) as error:
        print(f"contivpy demo: failed: {_one_line(str(error))}", file=err)
        code = 1
    finally:
        if temporary and not keep:
            shutil.rmtree(directory, ignore_errors=True)
    if code == INTERRUPTED:
        print("contivpy demo: interrupted; everything stopped", file=err)
    if temporary and keep:
        print(f"working directory kept: {directory}", file=out)
    return code


def _socket_path_problem(directory: Path, nodes: int, *, real: bool) -> str:
    """Why the nodes' unix sockets cannot be made under ``directory`` ("" when they can)."""
    longest = directory.absolute() / f"node-{nodes}" / ("vpp/stats.sock" if real else "debug.sock")
    size = len(os.fsencode(longest))
    if size <= _SOCKET_PATH_MAX:
        return ""
    return (
        f"{directory}: too long a path for the nodes' unix sockets ({longest} has {size} "
        f"bytes, at most {_SOCKET_PATH_MAX}); give a shorter --workdir or TMPDIR"
    )


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _etcd_failure(error: EmbeddedEtcdError, timeout: float, temporary: bool) -> str:
    """One line: what etcd did, and what the user can do about it."""
    text = f"the embedded etcd did not start: {_one_line(str(error).splitlines()[0], 200)}"
    if "still starting" in str(error):
        text += f"; a busy machine may need longer than --etcd-timeout {timeout:g}"
    if temporary:
        text += "; --workdir DIR keeps its log (DIR/etcd/etcd.log)"
    return text


class _Demo:
    """One run: the options, and the signals that end it."""

    def __init__(
        self,
        nodes: int,
        keep: bool,
        files: tuple[Path, ...],
        objects: list[JsonObject],
        workdir: Path,
        out: IO[str],
        scenario: str = "pods",
    ) -> None:
        self.scenario = scenario
        self.nodes = nodes
        self.keep = keep
        self.files = files
        self.objects = objects
        self.workdir = workdir
        self.out = out
        self._interrupted = False
        self._waiting: asyncio.Event | None = None
        self._task: asyncio.Task[Any] | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def interruptible(self, body: Coroutine[Any, Any, int]) -> int:
        """Run ``body``; SIGINT or SIGTERM cancels it (its clean-up runs) or, while --keep
        waits, ends the wait. The handlers are removed after the first signal, so a second one
        acts at once."""
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, self._interrupt)
        try:
            return await body
        except asyncio.CancelledError:
            if not self._interrupted or self._task is None:
                raise
            self._task.uncancel()
            return INTERRUPTED
        finally:
            if not self._interrupted:
                for sig in _SIGNALS:
                    loop.remove_signal_handler(sig)

    def _interrupt(self) -> None:
        self._interrupted = True
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
        if self._waiting is not None:
            self._waiting.set()
        elif self._task is not None:
            self._task.cancel()

    async def until_interrupted(self) -> None:
        """--keep: return on Ctrl-C or SIGTERM."""
        self._waiting = asyncio.Event()
        await self._waiting.wait()


async def _apply_and_wait(
    cluster: DemoCluster | RealCluster, demo: _Demo, started: float, within: float
) -> tuple[int, ApplyReport]:
    """Apply the manifests as `kubectl apply` would and wait until their pods run; how many
    pods were expected, and what became of each object."""
    assert cluster.kube is not None
    took = time.perf_counter() - started
    demo.say(f"cluster up in {took:.1f} s; applying {', '.join(map(str, demo.files))}")
    report = await apply_and_report(cluster.kube.url, demo.objects)
    for line in report.lines():
        demo.say(f"  {line}")
    if not report.ok:
        demo.say(f"  {report.summary()}")
    expected = sum(1 for r in report.results if r.ok and r.kind == "Pod" and not r.group)
    try:
        await cluster.kube.wait_for(
            lambda: True if len(running_pods(cluster)) >= expected else None, within=within
        )
    except TimeoutError:
        demo.say(f"only {len(running_pods(cluster))} of {expected} pods got networked")
    return expected, report


def _pods(count: int) -> str:
    return f"{count} pod" if count == 1 else f"{count} pods"


def _verdict(ok: bool, report: ApplyReport, what: str) -> str:
    """The last line: OK, or FAILED and, when objects were refused, which."""
    text = f"{'OK' if ok else 'FAILED'}: {what}"
    return text if report.ok else f"{text}; {report.summary()}"


async def _demo(demo: _Demo, etcd_timeout: float) -> int:
    say = demo.say
    started = time.perf_counter()
    say(f"contivpy demo: {demo.nodes} nodes (VPP simulators), embedded etcd, Kubernetes stand-in")
    say(f"working directory: {demo.workdir}")
    async with demo_cluster(demo.workdir, demo.nodes, etcd_timeout=etcd_timeout) as cluster:
        expected, report = await _apply_and_wait(cluster, demo, started, 60)
        for node in cluster.nodes:
            assert node.agent is not None
            await node.agent.loop.wait_idle()
        pods = running_pods(cluster)
        cnfs = await cluster.start_cnfs()  # CNF pods' own VPPs, configured by their agents
        for node in cluster.nodes:
            assert node.agent is not None
            await node.agent.loop.wait_idle()
        say()
        say(vpp_views(cluster))
        for line in cnf_views(cnfs):
            say(line)
        say("== pods")
        say(pod_table(pods))
        ok = len(pods) >= expected and report.ok
        for a, b, trace in walks(cluster, pods):
            where = "across nodes" if a.node != b.node else "on one node"
            say(f"\n== packet walk {where}: {a.namespace}/{a.name} -> {b.namespace}/{b.name}")
            say(trace.render())
            ok = ok and trace.delivered
        if demo.scenario != "pods":
            shown = await SCENARIO_REPORTS[demo.scenario](cluster, pods)
            say()
            for line in shown.text:
                say(line)
            ok = ok and shown.ok
        took = time.perf_counter() - started
        say("\n" + _verdict(ok, report, f"{_pods(len(pods))} networked in {took:.1f} s"))
        if demo.keep:
            say("\nThe cluster keeps running (Ctrl-C stops it). Try:")
            for node in cluster.nodes:
                say(f"  contivpy ctl --socket {node.debug_socket} status")
            first = cluster.nodes[0]
            say(f"  contivpy ctl --socket {first.debug_socket} dump --view southbound")
            say(f"  contivpy ctl --socket {first.debug_socket} events")
            say(f"  contivpy ctl --socket {first.debug_socket} nat sessions")
            apply = f"contivpy sim kube apply --kubeconfig {cluster.kubeconfig}"
            say(f"  {apply} -f examples/demo-pods.yaml")
            await demo.until_interrupted()
    return 0 if ok else 1


async def _real_demo(demo: _Demo, binary: Path, etcd_timeout: float) -> int:
    say = demo.say
    started = time.perf_counter()
    say(
        f"contivpy demo: {demo.nodes} nodes on real VPPs ({binary}), each in its own network "
        "namespace"
    )
    say(f"working directory: {demo.workdir}")
    cluster_cm = real_demo_cluster(demo.workdir, demo.nodes, binary, etcd_timeout=etcd_timeout)
    async with cluster_cm as cluster:
        expected, report = await _apply_and_wait(cluster, demo, started, 120)
        pods = running_pods(cluster)
        say()
        say(await vpp_interfaces(cluster))
        say("== pods")
        say(pod_table(pods))
        ok = len(pods) >= expected and report.ok
        for result in await pings(pods, sandbox_ids(cluster)):
            a, b = result.source, result.target
            where = "across nodes" if a.node != b.node else "on one node"
            say(
                f"\n== real ping {where}: {a.namespace}/{a.name} ({a.node}) -> "
                f"{b.namespace}/{b.name} {b.ip} ({b.node})"
            )
            say(f"  {result.summary}")
            ok = ok and result.ok
        took = time.perf_counter() - started
        what = f"{_pods(len(pods))} networked on real VPPs in {took:.1f} s"
        say("\n" + _verdict(ok, report, what))
        if demo.keep:
            say("\nThe cluster keeps running (Ctrl-C stops it). Try:")
            for node in cluster.nodes:
                say(f"  CONTIVPY_DEBUG_SOCKET={node.debug_socket} contivpy ctl status")
            first = cluster.nodes[0]
            say(f"  ip netns exec {first.netns} ip -br addr")
            await demo.until_interrupted()
    return 0 if ok else 1
