"""The demo's scenarios: which manifests they apply and what they show beyond the pods.

In: a scenario name (``contivpy demo --scenario``), then a running DemoCluster with the
scenario's manifests applied. Out: the manifests (``examples/``, named like the seeds'), the
default node count, and the scenario's own report — its CNF VPPs, custom interfaces and
packet walks — with whether every walk ended where the scenario expects.

- ``pods`` (the default): seed 004's pods across nodes (the report of ``demo/report.py``).
- ``multi-if`` (seed 001): ``multi-if-pod`` with ``tap1/tap, veth1/veth`` and ``vnf-pod``, a
  CNF with a memif auto-configured for its own VPP (microservice label ``vnf1``); walks to the
  custom interfaces' addresses and from the CNF's VPP over its memif to another pod.
- ``cnf-vpp`` (seed 000, one node): three VPP CNFs with stub memifs, auto-configured; CNF2
  cross-connects its two memifs (``xconnect-vpp.yaml``, a CustomConfiguration); the vswitch
  cross-connects CNF1 to CNF2 and CNF2 to CNF3 (a CustomConfiguration for the vswitch, made
  here with the interfaces' names: rendering the ServiceFunctionChain itself is not built
  yet); CNF1's memif gets 1.2.3.4/24 as the seed's operator gives it with vppctl, and an
  ARP/IP packet to 1.2.3.5 is walked from CNF1 through the vswitch into CNF2 and on to CNF3,
  where it is dropped (CNF3's memif has no address), as the seed shows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from contivpy.controllers import naming
from contivpy.controllers.ipnet_custom import custom_vpp_name
from contivpy.controllers.pod_ips import PodID
from contivpy.demo.cluster import DemoCluster
from contivpy.demo.cnfs import DemoCnf
from contivpy.demo.report import DemoPod
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.kube.objects import JsonObject
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import Outcome, Trace
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls import interface_ip

CNF1_ADDRESS = "1.2.3.4/24"  # as the seed's operator sets it on CNF1's memif with vppctl
CNF_PING_TARGET = "1.2.3.5"


@dataclass
class ScenarioReport:
    """What a scenario showed, and whether it went as expected."""

    text: list[str] = field(default_factory=list)
    ok: bool = True

    def say(self, line: str = "") -> None:
        self.text.append(line)


def fabric_of(cluster: DemoCluster) -> Fabric:
    """Every VPP of the demo: the nodes' vswitches and the CNF pods' VPPs."""
    states = {node.name: node.sim.state for node in cluster.nodes}
    states.update({cnf.name: cnf.sim.state for cnf in cluster.cnfs})
    return Fabric(states)


def cnf_views(cnfs: list[DemoCnf]) -> list[str]:
    """Each CNF VPP's interfaces and memifs."""
    lines = []
    for cnf in cnfs:
        lines.append(f"== {cnf.name} (CNF {cnf.label} on {cnf.node}): vpp# show interface addr")
        lines.append(cnf.sim.show_interface_addr())
        lines.append(f"== {cnf.name}: vpp# show memif")
        lines.append(cnf.sim.show_memif())
    return lines


def custom_interfaces(cluster: DemoCluster) -> list[tuple[str, str, str, str, str]]:
    """(pod, interface, type/network, IP, VPP interface) of every custom interface."""
    rows = []
    for node in cluster.nodes:
        agent = node.agent
        if agent is None:
            continue
        for pod, local in sorted(agent.pods.pods.items()):
            ips = agent.ipam.custom_ips_of(pod)
            for interface in local.custom:
                ip = ips.get(interface.name)
                vpp = custom_vpp_name(interface, local)
                kind = f"{interface.type.value}/{interface.network}"
                rows.append((str(pod), interface.name, kind, str(ip) if ip else "-", vpp))
    return rows


def custom_table(rows: list[tuple[str, str, str, str, str]]) -> str:
    header = ("POD", "INTERFACE", "TYPE/NETWORK", "IP", "VPP INTERFACE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in [header, *rows]
    )


async def multi_if(cluster: DemoCluster, pods: list[DemoPod]) -> ScenarioReport:
    """Walks to multi-if-pod's custom interfaces, and from vnf-pod's VPP over its memif."""
    report = ScenarioReport()
    fabric = fabric_of(cluster)
    rows = custom_interfaces(cluster)
    report.say("== custom interfaces")
    report.say(custom_table(rows))
    source = next((p for p in pods if p.name != "multi-if-pod" and p.name != "vnf-pod"), None)
    for pod_name, interface, _, ip, _ in rows:
        if not pod_name.endswith("/multi-if-pod") or ip == "-" or source is None:
            continue
        trace = fabric.trace(
            source.node,
            source.vpp_interface,
            ipaddress.ip_address(source.ip),
            ipaddress.ip_address(ip),
        )
        _walk(report, f"{source.namespace}/{source.name} -> {pod_name} {interface} {ip}", trace)
    for cnf in cluster.cnfs:
        memif_ip = _cnf_address(cluster, cnf)
        if memif_ip is None or source is None:
            continue
        trace = fabric.trace_from_vpp(cnf.name, memif_ip, source.ip)
        _walk(report, f"CNF {cnf.name} ({memif_ip}, over its memif) -> {source.name}", trace)
    return report


def _cnf_address(cluster: DemoCluster, cnf: DemoCnf) -> str | None:
    for node in cluster.nodes:
        if node.agent is not None:
            ips = node.agent.ipam.custom_ips_of(PodID(cnf.namespace, cnf.name))
            if ips:
                return str(sorted(ips.items())[0][1])
    return None


def _walk(
    report: ScenarioReport, title: str, trace: Trace, expect: Callable[[Trace], bool] | None = None
) -> None:
    report.say(f"\n== packet walk: {title}")
    report.say(trace.render())
    report.ok = report.ok and (expect(trace) if expect is not None else trace.delivered)


def vswitch_chain(cluster: DemoCluster) -> JsonObject | None:
    """The vswitch's cross-connects of the chain CNF1 -> CNF2 -> CNF3, as a CustomConfiguration
    for the node (None until the three CNF pods run on one node)."""
    node = cluster.nodes[0]
    agent = node.agent
    if agent is None:
        return None
    local = {pod.name: registered for pod, registered in agent.pods.pods.items()}
    if not {"vpp-cnf1", "vpp-cnf2", "vpp-cnf3"} <= set(local):
        return None

    def memif(pod: str, interface: str) -> str:
        return naming.custom_memif(interface, local[pod].container_id)

    pairs = [
        (memif("vpp-cnf1", "memif1"), memif("vpp-cnf2", "memif1")),
        (memif("vpp-cnf2", "memif2"), memif("vpp-cnf3", "memif1")),
    ]
    items = []
    for a, b in pairs:
        for rx, tx in ((a, b), (b, a)):
            items.append(
                {
                    "module": "vpp.l2",
                    "version": "v2",
                    "type": "xconnect",
                    "name": rx,
                    "data": f"receive_interface: {rx}\ntransmit_interface: {tx}\n",
                }
            )
    return {
        "apiVersion": "contivpp.io/v1",
        "kind": "CustomConfiguration",
        "metadata": {"name": "vswitch-chain", "namespace": "default"},
        "spec": {"microservice": node.name, "configItems": items},
    }


async def _cross_connected(kube: KubeApiStandIn, vpp: VppState, count: int) -> None:
    """Wait until ``vpp`` holds ``count`` L2 cross-connects."""

    def done() -> bool | None:
        return (
            True
            if sum(i.xconnect_to is not None for i in vpp.interfaces.values()) >= count
            else None
        )

    await kube.wait_for(done, within=20)


async def cnf_vpp(cluster: DemoCluster) -> ScenarioReport:
    """Chain the CNFs on the vswitch, address CNF1's memif, walk CNF1 -> CNF2 -> CNF3."""
    report = ScenarioReport()
    assert cluster.kube is not None
    chain = vswitch_chain(cluster)
    cnfs = {cnf.name: cnf for cnf in cluster.cnfs}
    if chain is None or set(cnfs) != {"vpp-cnf1", "vpp-cnf2", "vpp-cnf3"}:
        report.say("the three CNF pods did not all run on one node: no chain to show")
        report.ok = False
        return report
    report.say("== the chain on the vswitch: customconfiguration/vswitch-chain")
    for item in chain["spec"]["configItems"]:
        report.say(f"  xconnect {item['name']} -> {item['data'].split()[-1]}")
    cluster.kube.apply(chain)
    # the vswitch's four cross-connects and CNF2's two, applied by their agents
    await _cross_connected(cluster.kube, cluster.nodes[0].sim.state, 4)
    await _cross_connected(cluster.kube, cnfs["vpp-cnf2"].sim.state, 2)
    cnf1 = cnfs["vpp-cnf1"]
    memif = next(i for i in cnf1.sim.state.interfaces.values() if i.tag == "memif1")
    await interface_ip.add_address(
        cnf1.agent.vpp, memif.sw_if_index, ipaddress.ip_interface(CNF1_ADDRESS)
    )
    report.say(f"\n== vpp-cnf1: vpp# set interface ip address memif1 {CNF1_ADDRESS}")
    trace = fabric_of(cluster).trace_from_vpp(
        "vpp-cnf1", CNF1_ADDRESS.split("/")[0], CNF_PING_TARGET
    )
    _walk(
        report,
        f"vpp-cnf1 -> {CNF_PING_TARGET} (ARP through the chain)",
        trace,
        expect=lambda t: (
            t.verdict.node == "vpp-cnf3"
            and t.verdict.outcome is Outcome.DROPPED
            and "vpp-cnf2" in {hop.node for hop in t.hops}
        ),
    )
    return report
