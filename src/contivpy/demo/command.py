"""`contivpy demo`: start the cluster, apply the examples, show what happened.

In: options (nodes, --keep, the manifests). Out: on stdout, what each node's VPP holds, the
pods' IPs and packet walks proving pod-to-pod connectivity across nodes; exit code 0 when
every pod got networked and every walk delivered, 1 otherwise. With --keep it stays up and
prints how to query each agent with `contivpy ctl`, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import uvloop

from contivpy.demo.cluster import DemoCluster, demo_cluster
from contivpy.demo.real_cluster import RealCluster, RealDemoError, real_demo_cluster
from contivpy.demo.real_report import pings, vpp_interfaces
from contivpy.demo.report import pod_table, running_pods, sandbox_ids, vpp_views, walks

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run_demo(
    *,
    nodes: int = 2,
    keep: bool = False,
    manifests: tuple[Path, ...] = (),
    workdir: Path | None = None,
    vpp: Path | None = None,
    out: IO[str] = sys.stdout,
) -> int:
    """The command's body. ``vpp``: a VPP binary; the nodes then run real VPPs (root)."""
    files = manifests or tuple(sorted(EXAMPLES.glob("demo-*.yaml")))
    if not files:
        print(f"demo: no manifests found (looked in {EXAMPLES})", file=out)
        return 2
    directory = workdir or Path(tempfile.mkdtemp(prefix="contivpy-demo-"))
    if vpp is not None:
        try:
            return uvloop.run(_real_demo(nodes, keep, files, directory, vpp, out))
        except RealDemoError as err:
            print(f"demo --vpp: {err}", file=out)
            return 2
    return uvloop.run(_demo(nodes, keep, files, directory, out))


async def _apply_and_wait(
    cluster: DemoCluster | RealCluster,
    files: tuple[Path, ...],
    started: float,
    within: float,
    say: Callable[[str], None],
) -> int:
    """Apply the manifests and wait until their pods run; how many pods were expected."""
    assert cluster.kube is not None
    took = time.perf_counter() - started
    say(f"cluster up in {took:.1f} s; applying {', '.join(map(str, files))}")
    applied = cluster.kube.apply_files(list(files))
    expected = sum(1 for _, obj in applied if obj.get("kind") == "Pod")
    try:
        await cluster.kube.wait_for(
            lambda: True if len(running_pods(cluster)) >= expected else None, within=within
        )
    except TimeoutError:
        say(f"only {len(running_pods(cluster))} of {expected} pods got networked")
    return expected


async def _until_interrupted() -> None:
    """Return on Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _demo(
    nodes: int, keep: bool, files: tuple[Path, ...], workdir: Path, out: IO[str]
) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.perf_counter()
    say(f"contivpy demo: {nodes} nodes (VPP simulators), embedded etcd, Kubernetes stand-in")
    say(f"working directory: {workdir}")
    async with demo_cluster(workdir, nodes) as cluster:
        expected = await _apply_and_wait(cluster, files, started, 60, say)
        for node in cluster.nodes:
            assert node.agent is not None
            await node.agent.loop.wait_idle()
        pods = running_pods(cluster)
        say()
        say(vpp_views(cluster))
        say("== pods")
        say(pod_table(pods))
        ok = len(pods) >= expected
        for a, b, trace in walks(cluster, pods):
            where = "across nodes" if a.node != b.node else "on one node"
            say(f"\n== packet walk {where}: {a.namespace}/{a.name} -> {b.namespace}/{b.name}")
            say(trace.render())
            ok = ok and trace.delivered
        say(
            f"\n{'OK' if ok else 'FAILED'}: {len(pods)} pods networked "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if keep:
            say("\nThe cluster keeps running (Ctrl-C stops it). Try:")
            for node in cluster.nodes:
                say(f"  contivpy ctl --socket {node.debug_socket} status")
            first = cluster.nodes[0]
            say(f"  contivpy ctl --socket {first.debug_socket} dump --view southbound")
            say(f"  contivpy ctl --socket {first.debug_socket} events")
            apply = f"contivpy sim kube apply --kubeconfig {cluster.kubeconfig}"
            say(f"  {apply} -f examples/demo-pods.yaml")
            await _until_interrupted()
    return 0 if ok else 1


async def _real_demo(
    nodes: int, keep: bool, files: tuple[Path, ...], workdir: Path, binary: Path, out: IO[str]
) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    started = time.perf_counter()
    say(f"contivpy demo: {nodes} nodes on real VPPs ({binary}), each in its own network namespace")
    say(f"working directory: {workdir}")
    async with real_demo_cluster(workdir, nodes, binary) as cluster:
        expected = await _apply_and_wait(cluster, files, started, 120, say)
        pods = running_pods(cluster)
        say()
        say(await vpp_interfaces(cluster))
        say("== pods")
        say(pod_table(pods))
        ok = len(pods) >= expected
        for result in await pings(pods, sandbox_ids(cluster)):
            a, b = result.source, result.target
            where = "across nodes" if a.node != b.node else "on one node"
            say(
                f"\n== real ping {where}: {a.namespace}/{a.name} ({a.node}) -> "
                f"{b.namespace}/{b.name} {b.ip} ({b.node})"
            )
            say(f"  {result.summary}")
            ok = ok and result.ok
        say(
            f"\n{'OK' if ok else 'FAILED'}: {len(pods)} pods networked on real VPPs "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if keep:
            say("\nThe cluster keeps running (Ctrl-C stops it). Try:")
            for node in cluster.nodes:
                say(f"  CONTIVPY_DEBUG_SOCKET={node.debug_socket} contivpy ctl status")
            first = cluster.nodes[0]
            say(f"  ip netns exec {first.netns} ip -br addr")
            await _until_interrupted()
    return 0 if ok else 1
