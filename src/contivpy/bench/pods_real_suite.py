"""The ``pods`` benchmark's exec'd ADDs on a real node: ``contivpy bench pods --vpp-socket
PATH`` (root; the VPP at PATH must run in this network namespace).

In: a running VPP's API socket, :class:`RealPodsSizes` (``FULL``: 50 pods; ``QUICK``: 5) and
``Problems``. Out: the ``pods`` suite's ``cni_exec_*`` metrics, measured on a real node
(``pods_real_node``: the agent configuring Linux in veth mode against the real VPP), plus
the southbound part split into VPP calls, netlink and neither:

- the pods are real: for each a network namespace ``cni-<container id>`` made first, as the
  container runtime makes the sandbox's, then an ADD that is a ``contivpy cni`` process, as
  the kubelet execs it (``cni_exec_load``), one at a time (``RealPodsSizes.concurrency``
  says why);
- ``cni_exec_add_p50_ms`` / ``cni_exec_add_p99_ms`` (the simulator run's targets, 60 / 120
  ms), ``cni_exec_start_p50_ms``, ``cni_exec_add_cpu_ms``, and where the ADDs' time went
  (``add_breakdown``): ``cni_exec_add_{to_loop,controllers,southbound,reply}_p50_ms`` and
  ``cni_exec_add_southbound_{vpp,netlink,other}_p50_ms``.

Checked (a failure makes the run exit 1): every ADD gave its own IP, VPP holds an admin-up
af_packet per pod, each pod's ``eth0`` holds its IP, an ICMP echo crosses VPP from the first
pod to the last; after the exec'd DELs the agent holds no IP, VPP no af_packet and the node
no veth end of the pods; after the run no namespace, link or VPP interface of the run is left
(``pods_real_node``).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from contivpy.bench import add_breakdown, cni_exec_load, cni_load, pods_scenarios
from contivpy.bench.cni_load import AddRun, BenchPod
from contivpy.bench.metrics import Metric
from contivpy.bench.pods_real_node import RealPodsNode, real_pods_node
from contivpy.bench.pods_suite import PARTS, breakdown_metrics, exec_metrics
from contivpy.bench.verify import Problems
from contivpy.controllers import naming
from contivpy.linux import icmp_echo
from contivpy.vppprocess import real_node

BENCH = "pods"
_SHOWN = 3  # pods named per failed check


@dataclass(frozen=True, slots=True)
class RealPodsSizes:
    """Sizes of one run."""

    pods: int
    # Ten in flight, as in the simulator run. Their af_packet_create_v3 calls reach VPP one
    # at a time (vppcalls/af_packet.py): sent back to back, they made a real VPP 26.06 stop
    # answering (vpp_main at 100% system CPU, its API dead).
    concurrency: int = 10
    version_runs: int = 10


FULL = RealPodsSizes(pods=50)
QUICK = RealPodsSizes(pods=5, version_runs=3)

#: the southbound's parts on a real node (``add_breakdown``), after the suite's four
SOUTHBOUND_PARTS: tuple[tuple[str, str], ...] = (
    (
        "southbound_vpp",
        "the AddPod's transaction, time with at least one VPP API call in flight",
    ),
    (
        "southbound_netlink",
        "the AddPod's transaction, time with at least one netlink (Linux) call in flight",
    ),
    (
        "southbound_other",
        "the AddPod's transaction, time with no call in flight (planning, records)",
    ),
)


async def run(socket_path: str, sizes: RealPodsSizes, problems: Problems) -> list[Metric]:
    """ADD and DEL ``sizes.pods`` real pods through the agent against the VPP at
    ``socket_path``; returns the metrics (also after a problem)."""
    # Container IDs of this run only: namespaces and links are named after them.
    pods = cni_load.bench_pods(sizes.pods, prefix=f"real-{uuid.uuid4().hex[:8]}")
    async with real_pods_node(socket_path, problems) as node:
        plugin = cni_exec_load.install_plugin(node.directory)
        start_ms = await cni_exec_load.plugin_start_ms_from_process(
            sizes.version_runs, node.directory
        )
        if len(start_ms) < sizes.version_runs:
            problems.add("plugin start: a CNI VERSION call failed")
        for pod in pods:
            netns = cni_exec_load.netns_name(pod)
            node.pod_namespaces.add(netns)
            real_node.add_netns(netns)
        execed, plugin_cpu_s = await cni_exec_load.exec_adds_from_process(
            node.cni_socket, pods, sizes.concurrency, node.directory, simulated_netns=False
        )
        agent = node.agent
        pods_scenarios.check_adds(execed, agent, pods, problems)
        parts = add_breakdown.breakdown(
            execed.spans, agent.history.records(), agent.scheduler.txn_history()
        )
        await check_pods(node, pods, execed, problems)
        for failure in await cni_exec_load.exec_dels_from_process(
            node.cni_socket, pods, sizes.concurrency, node.directory, simulated_netns=False
        ):
            problems.add(f"exec'd DEL: {failure}")
        await check_deleted(node, pods, problems)
        for pod in pods:
            netns = cni_exec_load.netns_name(pod)
            real_node.delete_netns(netns)
            node.pod_namespaces.discard(netns)
        left = sorted({cni_exec_load.netns_name(p) for p in pods} & real_node.netns_names())
        if left:
            problems.add(f"pod namespaces left: {left[:_SHOWN]}")
    return _metrics(sizes, execed, plugin, start_ms, plugin_cpu_s, parts)


async def check_pods(
    node: RealPodsNode, pods: list[BenchPod], run: AddRun, problems: Problems
) -> None:
    """VPP holds an admin-up af_packet per pod, each pod's eth0 its IP, and an echo from
    the first pod reaches the last through VPP."""
    label = f"exec'd ADD of {len(pods)} real pods"
    tags = {i.tag: i for i in (await node.vpp_interfaces()).values() if i.tag}
    missing = [p.name for p in pods if naming.pod_afpacket(p.container_id) not in tags]
    down = [
        p.name
        for p in pods
        if (found := tags.get(naming.pod_afpacket(p.container_id))) and not found.admin_up
    ]
    if missing:
        problems.add(f"{label}: VPP has no af_packet for {len(missing)}, e.g. {missing[:_SHOWN]}")
    if down:
        problems.add(f"{label}: {len(down)} pods' af_packets are down, e.g. {down[:_SHOWN]}")
    wrong = []
    for pod in pods:
        address = run.ips.get(pod.name, "").split("/")[0]
        where = ("-n", cni_exec_load.netns_name(pod))
        shown = real_node.ip(*where, "-o", "addr", "show", "eth0", check=False)
        if not address or f"inet {address}/" not in shown:
            wrong.append(pod.name)
    if wrong:
        problems.add(f"{label}: eth0 lacks the pod's IP in {len(wrong)}, e.g. {wrong[:_SHOWN]}")
    first, last = pods[0], pods[-1]
    if len(pods) > 1 and last.name in run.ips:
        target = run.ips[last.name].split("/")[0]
        echoed = await asyncio.to_thread(
            icmp_echo.echo, target, 3, netns=cni_exec_load.netns_name(first), interval=0.1
        )
        if not echoed.received:
            problems.add(f"{label}: no echo reply from {last.name} to {first.name}")


async def check_deleted(node: RealPodsNode, pods: list[BenchPod], problems: Problems) -> None:
    """After the DELs: no IP held, no af_packet in VPP, no veth end on the node."""
    label = f"exec'd DEL of {len(pods)} real pods"
    await node.agent.loop.wait_idle()
    names = {p.name for p in pods}
    held = [str(pod) for pod in node.agent.ipam.allocations() if pod.name in names]
    if held:
        problems.add(f"{label}: the agent still holds IPs of {len(held)}, e.g. {held[:_SHOWN]}")
    tags = {i.tag for i in (await node.vpp_interfaces()).values()}
    left = [p.name for p in pods if naming.pod_afpacket(p.container_id) in tags]
    if left:
        problems.add(f"{label}: VPP still has af_packets of {len(left)}, e.g. {left[:_SHOWN]}")
    links = real_node.link_names()
    ends = [p.name for p in pods if naming.pod_veth_host_name(p.container_id) in links]
    if ends:
        problems.add(f"{label}: veth ends of {len(ends)} pods are left, e.g. {ends[:_SHOWN]}")


def _metrics(
    sizes: RealPodsSizes,
    execed: AddRun,
    plugin: str,
    start_ms: list[float],
    plugin_cpu_s: float,
    parts: add_breakdown.AddBreakdown,
) -> list[Metric]:
    execs = (
        f"{len(execed.latencies_ms):,} successful CNI ADDs of {sizes.pods:,} real pods (veth, "
        "real VPP)"
    )
    return [
        *exec_metrics(
            execed,
            execs,
            plugin,
            sizes.concurrency,
            start_ms,
            plugin_cpu_s * 1000 / max(1, sizes.pods),
            f"the mean over the {sizes.pods:,}",
        ),
        *breakdown_metrics(parts, PARTS + SOUTHBOUND_PARTS),
    ]
