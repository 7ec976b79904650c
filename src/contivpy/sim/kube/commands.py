"""Entry functions for ``contivpy sim kube serve`` and ``contivpy sim kube apply``.

In: plain arguments parsed by the CLI (the composition root wires these; nothing here parses
argv). Out: an exit code. ``run_kube_server`` serves until SIGINT/SIGTERM and prints the URL
on stdout first, so a script can read it; the kubeconfig it writes names ``advertise_url``
when given (a host other containers reach, where the server binds 0.0.0.0); the pods of the
``cni_node`` run the node's real CNI plugins (``cni_runner``), other simulated nodes' pods get
addresses from their podCIDR; ``run_kube_apply`` prints one kubectl-style line per
object (``contivpy.sim.kube.apply_report``), applies the valid objects even when some fail, and
returns 1 with a one-line summary when any object failed, 2 when nothing could be applied at all
(a missing or unparsable file: one line naming the file and line; no server).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
import uvloop

from contivpy.sim.kube.apiserver import ApiServerSettings
from contivpy.sim.kube.apply_report import apply_and_report, read_manifests
from contivpy.sim.kube.cni_runner import CniRunner, CniSettings
from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.kubeconfig import server_from_kubeconfig, write_kubeconfig
from contivpy.sim.kube.pod_network import PodCidrAllocator, PodNetwork, PodNetworkByNode
from contivpy.sim.kube.standin import KubeApiStandIn

log = structlog.get_logger(__name__)


def simulated_node(index: int) -> tuple[str, str, str]:
    """(name, InternalIP, podCIDR) of the index-th simulated node, in Contiv-VPP's default
    layout: node interconnect 192.168.16.0/24, pod subnet 10.1.0.0/16 with a /24 per node."""
    return f"node-{index}", f"192.168.16.{index}", f"10.1.{index}.0/24"


async def serve_kube(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig: Path | None = None,
    manifests: Sequence[Path] = (),
    nodes: int = 0,
    install_crds: bool = True,
    settings: ApiServerSettings | None = None,
    advertise_url: str | None = None,
    cni_node: str | None = None,
    cni: CniSettings | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the stand-in until ``stop`` is set (or SIGINT/SIGTERM when none is given)."""
    names = [simulated_node(index)[0] for index in range(1, nodes + 1)]
    if cni_node is not None and cni_node not in names:
        raise ValueError(f"--cni-node {cni_node}: not one of the simulated nodes {names}")
    stopping = stop or asyncio.Event()
    if stop is None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
    kube: KubeApiStandIn
    network: PodNetworkByNode | None = None
    if nodes:
        allocator = PodCidrAllocator(lambda name: kube.find("v1", "Node", name))
        by_node: dict[str, PodNetwork] = {}
        if cni_node is not None:
            runner = CniRunner(cni or CniSettings())
            by_node[cni_node] = PodNetwork(runner.add, runner.delete)
        network = PodNetworkByNode(by_node, PodNetwork(allocator.setup, allocator.teardown))
    kube = KubeApiStandIn(
        host=host,
        port=port,
        settings=settings,
        pod_network=network.setup if network else None,
        pod_teardown=network.teardown if network else None,
    )
    async with kube:
        print(kube.url, flush=True)
        if kubeconfig is not None:
            write_kubeconfig(kubeconfig, advertise_url or kube.url)
        if install_crds:
            kube.install_contivpp_crds()
        for index in range(1, nodes + 1):
            kube.register_node(*simulated_node(index))
        if manifests:
            for action, obj in kube.apply_files(manifests):
                log.info(
                    "kube.apply", kind=obj.get("kind"), name=obj["metadata"]["name"], action=action
                )
        log.info("kube.standin.ready", url=kube.url, kubeconfig=str(kubeconfig or ""))
        await stopping.wait()


def run_kube_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig: Path | None = None,
    manifests: Sequence[Path] = (),
    nodes: int = 0,
    install_crds: bool = True,
    bookmark_interval: float = 60.0,
    window: int = 10_000,
    advertise_url: str | None = None,
    cni_node: str | None = None,
    cni: CniSettings | None = None,
) -> int:
    """``contivpy sim kube serve``: the stand-in on uvloop until interrupted."""
    settings = ApiServerSettings(window=window, bookmark_interval=bookmark_interval)
    try:
        uvloop.run(
            serve_kube(
                host=host,
                port=port,
                kubeconfig=kubeconfig,
                manifests=manifests,
                nodes=nodes,
                install_crds=install_crds,
                settings=settings,
                advertise_url=advertise_url,
                cni_node=cni_node,
                cni=cni,
            )
        )
    except (KubeApiError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run_kube_apply(
    paths: Sequence[Path],
    *,
    server_url: str | None = None,
    kubeconfig: Path | None = None,
    namespace: str = "default",
) -> int:
    """``contivpy sim kube apply -f FILE...``: create or update the objects of the manifests."""
    try:
        objects = read_manifests(paths)
        url = server_url or (server_from_kubeconfig(kubeconfig) if kubeconfig else None)
        if url is None:
            print("error: give a server URL or a kubeconfig", file=sys.stderr)
            return 2
        report = uvloop.run(apply_and_report(url, objects, namespace=namespace))
    except (KubeApiError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result, line in zip(report.results, report.lines(), strict=True):
        print(line, file=sys.stdout if result.ok else sys.stderr)
    if report.ok:
        return 0
    print(f"error: {report.summary()}", file=sys.stderr)
    return 1
