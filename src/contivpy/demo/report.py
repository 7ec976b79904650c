"""What the demo shows: per node what VPP holds, which IP each pod got, and packet walks.

In: a running DemoCluster. Out: text — each node's `show interface addr`, a table of pods
(namespace/name, node, IP, VPP interface), and forwarding traces between pods on different
nodes and on the same node, walked through the simulated VPPs' forwarding state.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.controllers import naming
from contivpy.demo.cluster import DemoCluster
from contivpy.demo.cni_exec import sandbox_id
from contivpy.demo.real_cluster import RealCluster
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import Trace


@dataclass(frozen=True, slots=True)
class DemoPod:
    """A running pod as the demo reports it."""

    namespace: str
    name: str
    node: str
    ip: str
    vpp_interface: str


def running_pods(cluster: DemoCluster | RealCluster, namespace: str | None = None) -> list[DemoPod]:
    """Pods with an IP, by node then name."""
    assert cluster.kube is not None
    pods = []
    for pod in cluster.kube.list("v1", "Pod", namespace):
        status = pod.get("status") or {}
        ip = status.get("podIP")
        if not ip or status.get("phase") != "Running":
            continue
        meta = pod["metadata"]
        node = str((pod.get("spec") or {}).get("nodeName", ""))
        cid = sandbox_id(pod)
        # the real-VPP demo runs veth mode: the pod's VPP side is an af_packet
        vpp_side = (
            naming.pod_afpacket(cid)
            if isinstance(cluster, RealCluster)
            else naming.pod_vpp_tap(cid)
        )
        pods.append(DemoPod(meta["namespace"], meta["name"], node, str(ip), vpp_side))
    return sorted(pods, key=lambda p: (p.node, p.namespace, p.name))


def vpp_views(cluster: DemoCluster) -> str:
    """Every node's `show interface addr`."""
    parts = []
    for node in cluster.nodes:
        parts.append(f"== {node.name}: vpp# show interface addr\n{node.sim.show_interface_addr()}")
    return "\n".join(parts)


def sandbox_ids(cluster: DemoCluster | RealCluster) -> dict[str, str]:
    """namespace/name -> the pod sandbox's id (what the kubelet gave the CNI plugin)."""
    assert cluster.kube is not None
    return {
        f"{pod['metadata']['namespace']}/{pod['metadata']['name']}": sandbox_id(pod)
        for pod in cluster.kube.list("v1", "Pod", None)
    }


def pod_table(pods: list[DemoPod]) -> str:
    """Pods, their node and IP."""
    rows = [("POD", "NODE", "IP", "VPP INTERFACE (tag)")]
    rows += [(f"{p.namespace}/{p.name}", p.node, p.ip, p.vpp_interface) for p in pods]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def walks(cluster: DemoCluster, pods: list[DemoPod]) -> list[tuple[DemoPod, DemoPod, Trace]]:
    """Traces: a pod to a pod on another node, and to one on its own node (when there are)."""
    fabric = Fabric({node.name: node.sim.state for node in cluster.nodes})
    pairs: list[tuple[DemoPod, DemoPod]] = []
    for a in pods:
        remote = next((b for b in pods if b.node != a.node), None)
        if remote is not None:
            pairs.append((a, remote))
            break
    for a in pods:
        local = next((b for b in pods if b.node == a.node and b is not a), None)
        if local is not None:
            pairs.append((a, local))
            break
    traces = []
    for a, b in pairs:
        trace = fabric.trace(
            a.node, a.vpp_interface, ipaddress.ip_address(a.ip), ipaddress.ip_address(b.ip)
        )
        traces.append((a, b, trace))
    return traces
