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
- ``custom-network`` (seed 002, two nodes): the L3 CustomNetwork ``net1`` and two pods with a
  tap ``net1`` in it (``examples/custom-network.yaml``); the network as the node agents hold
  it (VRF, VNI, each node's slice and gateway), each node's ``show interface addr`` for the
  network's interfaces, and two walks: pod A's ``net1`` to pod B's ``net1`` address
  (delivered there, over ``vxlanBVI-net1`` when the pods are on two nodes) and pod A's
  ``eth0`` (the default network) to the same address (not delivered: the default network
  has no route into ``net1``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from contivpy.agent.node_agent import NodeAgent
from contivpy.controllers import naming
from contivpy.controllers.ipnet_custom import custom_vpp_name
from contivpy.controllers.pod_ips import PodID
from contivpy.demo.cluster import DemoCluster
from contivpy.demo.cnfs import DemoCnf
from contivpy.demo.report import DemoPod
from contivpy.sfc.paths import Path
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.vpp.forwarding import Fabric
from contivpy.sim.vpp.forwarding_trace import Outcome, Trace
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls import interface_ip

EXTERNAL_NIC = "GigabitEthernet0/a/0"
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


@dataclass(frozen=True, slots=True)
class WiredInterface:
    """A pod's custom interface, as its node agent wired it."""

    pod: PodID
    node: str
    interface: str  # its name in the pod
    kind: str  # <type>/<network>
    network: str
    vpp: str  # VPP's interface (its tag)
    ip: str  # "" when it has none


def wired_interfaces(cluster: DemoCluster) -> list[WiredInterface]:
    """Every custom interface of every node's local pods, by node then pod."""
    found = []
    for node in cluster.nodes:
        agent = node.agent
        if agent is None:
            continue
        for pod, local in sorted(agent.pods.pods.items()):
            ips = agent.ipam.custom_ips_of(pod)
            for interface in local.custom:
                ip = ips.get(interface.name)
                found.append(
                    WiredInterface(
                        pod,
                        node.name,
                        interface.name,
                        f"{interface.type.value}/{interface.network}",
                        interface.network,
                        custom_vpp_name(interface, local),
                        str(ip) if ip else "",
                    )
                )
    return found


def custom_interfaces(cluster: DemoCluster) -> list[tuple[str, str, str, str, str]]:
    """(pod, interface, type/network, IP, VPP interface) of every custom interface."""
    return [
        (str(w.pod), w.interface, w.kind, w.ip or "-", w.vpp) for w in wired_interfaces(cluster)
    ]


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


def _paths(cluster: DemoCluster, chain: str) -> list[Path]:
    """Each node agent's path of ``chain`` (namespace/name)."""
    found = []
    for node in cluster.nodes:
        if node.agent is not None and chain in node.agent.sfc.paths:
            found.append(node.agent.sfc.paths[chain])
    return found


async def _chain_rendered(cluster: DemoCluster, chain: str) -> Path | None:
    """Wait until every node renders ``chain`` completely and has applied it; its path
    (None when it is not rendered within the wait)."""
    assert cluster.kube is not None
    agents = [node.agent for node in cluster.nodes if node.agent is not None]

    def done() -> bool | None:
        paths = _paths(cluster, chain)
        complete = len(paths) == len(agents) and all(p.rendered for p in paths)
        waiting = any(chain in agent.sfc.waiting for agent in agents)
        return True if complete and not waiting else None

    try:
        await cluster.kube.wait_for(done, within=30)
    except TimeoutError:
        return None
    for agent in agents:
        await agent.loop.wait_idle()
    return _paths(cluster, chain)[0]


async def _cross_connected(kube: KubeApiStandIn, vpp: VppState, count: int) -> None:
    """Wait until ``vpp`` holds ``count`` L2 cross-connects."""

    def done() -> bool | None:
        return (
            True
            if sum(i.xconnect_to is not None for i in vpp.interfaces.values()) >= count
            else None
        )

    await kube.wait_for(done, within=20)


async def _show_chain(cluster: DemoCluster, chain: str, report: ScenarioReport) -> Path | None:
    """The chain's rendered path and every vswitch's interfaces (its cross-connects)."""
    path = await _chain_rendered(cluster, chain)
    if path is None:
        reasons = {p.reason for p in _paths(cluster, chain) if p.reason}
        report.say(f"== servicefunctionchain {chain}: not rendered ({'; '.join(reasons)})")
        report.ok = False
        return None
    report.say(f"== servicefunctionchain {chain}: {path.describe()}")
    for node in cluster.nodes:
        report.say(f"== {node.name}: vpp# show interface addr")
        report.say(node.sim.show_interface_addr())
    return path


async def _cnf_xconnects(cluster: DemoCluster, names: tuple[str, ...]) -> dict[str, DemoCnf]:
    """The CNFs by name, once each named one's own agent cross-connected its two memifs."""
    assert cluster.kube is not None
    cnfs = {cnf.name: cnf for cnf in cluster.cnfs}
    for name in names:
        if name in cnfs:
            await _cross_connected(cluster.kube, cnfs[name].sim.state, 2)
    return cnfs


async def sfc_linux(cluster: DemoCluster) -> ScenarioReport:
    """The chain linux-cnf1 -> linux-cnf2 over their tap1; an ARP from CNF1's tap1."""
    report = ScenarioReport()
    if await _show_chain(cluster, "default/linux-chain", report) is None:
        return report
    report.say(f"\n== linux-cnf1: ip addr add {CNF1_ADDRESS} dev tap1; ping {CNF_PING_TARGET}")
    trace = _linux_cnf_walk(cluster)
    _walk(
        report,
        f"linux-cnf1 tap1 -> {CNF_PING_TARGET} (ARP through the chain)",
        trace,
        expect=lambda t: t.delivered and t.verdict.node in _nodes_of(cluster, "linux-cnf2"),
    )
    return report


async def sfc_vpp(cluster: DemoCluster) -> ScenarioReport:
    """The chain vpp-cnf1 -> vpp-cnf2 -> vpp-cnf3; CNF1's memif addressed; an ARP walked
    through CNF2 (which cross-connects its memifs) to CNF3, where it is dropped."""
    report = ScenarioReport()
    cnfs = await _cnf_xconnects(cluster, ("vpp-cnf2",))
    if set(cnfs) != {"vpp-cnf1", "vpp-cnf2", "vpp-cnf3"}:
        report.say("the three CNF pods are not all running: no chain to show")
        report.ok = False
        return report
    if await _show_chain(cluster, "default/vpp-chain", report) is None:
        return report
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


async def sfc_external(cluster: DemoCluster) -> ScenarioReport:
    """VLAN 200 of GigabitEthernet0/a/0 -> vpp-cnf (memif1 in, memif2 out) -> VLAN 300."""
    report = ScenarioReport()
    cnfs = await _cnf_xconnects(cluster, ("vpp-cnf",))
    if "vpp-cnf" not in cnfs:
        report.say("the CNF pod vpp-cnf is not running: no chain to show")
        report.ok = False
        return report
    if await _show_chain(cluster, "default/external-chain", report) is None:
        return report
    trace = _external_walk(cluster)
    _walk(
        report,
        f"a frame on {EXTERNAL_NIC} VLAN 200 -> through vpp-cnf -> out VLAN 300",
        trace,
        expect=lambda t: t.delivered and "vpp-cnf" in {hop.node for hop in t.hops},
    )
    return report


def _nodes_of(cluster: DemoCluster, pod: str) -> set[str]:
    assert cluster.kube is not None
    return {
        str(p["spec"].get("nodeName", ""))
        for p in cluster.kube.list("v1", "Pod", None)
        if p["metadata"]["name"] == pod
    }


CUSTOM_NETWORK = "net1"  # the L3 CustomNetwork of examples/custom-network.yaml


def network_members(cluster: DemoCluster, network: str) -> list[WiredInterface]:
    """Every pod interface in ``network``, by node then pod."""
    return [w for w in wired_interfaces(cluster) if w.network == network]


def _network_sides(cluster: DemoCluster, network: str, report: ScenarioReport) -> None:
    """The network as each node agent holds it: VRF, slice, gateway, and the VNI of the
    node's tunnels to the others (what its VPP holds). Every node must have it, and all
    must agree on the VRF and the VNI."""
    vrfs: set[int] = set()
    vnis: set[int] = set()
    lines = []
    title = f"== customnetwork {network}"
    for node in cluster.nodes:
        agent = node.agent
        side = agent.networks.side(network) if agent is not None else None
        if agent is None or side is None or side.node_slice is None:
            lines.append(f"  {node.name}: no L3 network {network} ({_why_not(agent, network)})")
            report.ok = False
            continue
        subnet = side.network.subnet
        title = (
            f"== customnetwork {network}: L3 {subnet}, a /{side.network.node_prefix_len} per node"
        )
        vrfs.add(side.vrf)
        tunnels = []
        by_tag = {i.tag: i for i in node.sim.state.interfaces.values() if i.tag}
        for other in agent.nodesync.others():
            name = naming.vxlan_tunnel(other.id, network)
            tunnel = by_tag.get(name)
            vxlan = tunnel.vxlan if tunnel is not None else None
            if vxlan is None:
                tunnels.append(f"{name} to {other.name} missing")
                report.ok = False
                continue
            vnis.add(vxlan.vni)
            tunnels.append(f"{name} to {other.name}: VNI {vxlan.vni}")
        lines.append(
            f"  {node.name} (ID {agent.nodesync.node_id}): VRF {side.vrf}, slice "
            f"{side.node_slice}, gateway {side.gateway} on {side.gateway_loop}"
            + "".join(f"\n    {t}" for t in tunnels)
        )
    report.say(title)
    for line in lines:
        report.say(line)
    if len(vrfs) > 1 or len(vnis) > 1:
        report.say(f"  the nodes disagree: VRFs {sorted(vrfs)}, VNIs {sorted(vnis)}")
        report.ok = False


def _why_not(agent: NodeAgent | None, network: str) -> str:
    """Why a node agent has no L3 network of that name: the network's kind, or the problems
    of the networks the agent refused."""
    if agent is None:
        return "no agent"
    side = agent.networks.side(network)
    if side is not None:
        return f"it is {side.network.kind.value}"
    problems = [p for found in agent.networks.problems.values() for p in found]
    return "; ".join(problems) or "not joinable on this node: see its agent's log"


def _show_blocks(text: str) -> dict[str, list[str]]:
    """``show interface addr`` split by interface: VPP's name -> its lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = blocks.setdefault(line.split()[0], [])
            current.append(line)
        elif line and current is not None:
            current.append(line)
    return blocks


def _network_interfaces(
    cluster: DemoCluster, network: str, members: list[WiredInterface], report: ScenarioReport
) -> None:
    """Each node's ``show interface addr`` lines of the network's interfaces (the control
    plane's name after ``#``)."""
    ours = {naming.network_gateway_loop(network), naming.network_vxlan_bvi(network)}
    ours |= {m.vpp for m in members}
    tunnel_prefix = f"{naming.VXLAN_TUNNEL_PREFIX}{network}-"
    for node in cluster.nodes:
        report.say(f"\n== {node.name}: vpp# show interface addr ({network}'s interfaces)")
        blocks = _show_blocks(node.sim.show_interface_addr())
        for iface in sorted(node.sim.state.interfaces.values(), key=lambda i: i.name):
            if iface.tag not in ours and not iface.tag.startswith(tunnel_prefix):
                continue
            head, *rest = blocks.get(iface.name, [f"{iface.name}:"])
            report.say(f"{head}  # {iface.tag}")
            for line in rest:
                report.say(line)


async def custom_network(cluster: DemoCluster, pods: list[DemoPod]) -> ScenarioReport:
    """net1 on every node; pod A's net1 reaches pod B's net1 (over vxlanBVI-net1 across
    nodes), and pod A's eth0, in the default network, does not."""
    report = ScenarioReport()
    network = CUSTOM_NETWORK
    members = network_members(cluster, network)
    _network_sides(cluster, network, report)
    report.say()
    report.say(f"== interfaces in {network}")
    rows = [(str(m.pod), m.interface, m.node, m.ip or "-", m.vpp) for m in members]
    report.say(_table(("POD", "INTERFACE", "NODE", "IP", "VPP INTERFACE (tag)"), rows))
    _network_interfaces(cluster, network, members, report)
    addressed = [m for m in members if m.ip]
    a = addressed[0] if addressed else None
    b = next((m for m in addressed if a is not None and m.node != a.node), None)
    b = b or next((m for m in addressed if m is not a), None)
    if a is None or b is None:
        report.say(f"\nfewer than two pods have an address in {network}: nothing to walk")
        report.ok = False
        return report
    fabric = fabric_of(cluster)
    bvi = f"{naming.VXLAN_BVI}-{network}"
    over_network = fabric.trace(a.node, a.vpp, a.ip, b.ip)
    _walk(
        report,
        f"{a.pod} {a.interface} {a.ip} -> {b.pod} {b.interface} {b.ip} (in {network}'s VRF)",
        over_network,
        expect=lambda t: (
            t.delivered
            and t.verdict.node == b.node
            and t.verdict.interface is not None
            and t.verdict.interface.tag == b.vpp
            and (a.node == b.node or bvi in t.render())
        ),
    )
    eth0 = next((p for p in pods if f"{p.namespace}/{p.name}" == str(a.pod)), None)
    if eth0 is None:
        report.say(f"\n{a.pod} has no IP in the default network: no walk from its eth0")
        report.ok = False
        return report
    from_default = fabric.trace(a.node, eth0.vpp_interface, eth0.ip, b.ip)
    _walk(
        report,
        f"{a.pod} eth0 {eth0.ip} (default network) -> {b.pod} {b.interface} {b.ip} "
        "(expected: not delivered)",
        from_default,
        expect=lambda t: not t.delivered,
    )
    return report


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def _linux_cnf_walk(cluster: DemoCluster) -> Trace:
    """An ARP request for 1.2.3.5 that linux-cnf1 sends out of its tap1 (as its operator's
    ping does after `ip addr add 1.2.3.4/24 dev tap1`), into the vswitch."""
    node, vpp = _custom_vpp_interface(cluster, "linux-cnf1", "tap1")
    return fabric_of(cluster).trace_frame(node, vpp, CNF1_ADDRESS.split("/")[0], CNF_PING_TARGET)


def _external_walk(cluster: DemoCluster) -> Trace:
    """An ARP request arriving from the wire on the NIC, tagged with VLAN 200."""
    node = cluster.nodes[0].name
    return fabric_of(cluster).trace_frame(
        node, EXTERNAL_NIC, CNF1_ADDRESS.split("/")[0], CNF_PING_TARGET, vlan=200
    )


def _custom_vpp_interface(cluster: DemoCluster, pod: str, interface: str) -> tuple[str, str]:
    """(node, VPP interface tag) of a pod's custom interface."""
    for wired in wired_interfaces(cluster):
        if wired.pod.name == pod and wired.interface == interface:
            return wired.node, wired.vpp
    raise LookupError(f"pod {pod} has no custom interface {interface} on any node")
