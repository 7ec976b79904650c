"""The ``services`` scenario: a Service on NAT44-ED, then a NetworkPolicy as ACLs.

In: a running DemoCluster with ``examples/services.yaml`` applied (the Service ``shop/web``
with three backends on two nodes, the pods ``frontend`` and ``client``) and its running pods.
Out: a ScenarioReport with each node's NAT44-ED mappings of the Service (as its agent
rendered them), packet walks on the simulators and whether each ended where expected:

1. ``client`` to the ClusterIP: delivered to a backend, the trace showing the DNAT hop;
2. a packet from outside the cluster arriving on node-1's main NIC for node-1's NodePort:
   delivered to a backend (the DNAT hop again);
3. then ``examples/services-policy.yaml`` is applied (only ``role=frontend`` may reach the
   web pods on 8080) and, once every node agent has rendered it: ``client`` to the ClusterIP
   is dropped at a backend's ACL, ``frontend`` to the ClusterIP is delivered.

Every walk is TCP from source port 40000 + n, so each is a new NAT session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contivpy.controllers import naming
from contivpy.demo.cluster import DemoCluster, DemoNode
from contivpy.demo.report import DemoPod
from contivpy.demo.scenario_list import EXAMPLES
from contivpy.demo.scenarios import ScenarioReport, fabric_of
from contivpy.sim.kube.apply_report import apply_and_report, read_manifests
from contivpy.sim.vpp.forwarding_fib import find_interface
from contivpy.sim.vpp.forwarding_trace import Trace
from contivpy.sim.vpp.nat44_state import NatMapping
from contivpy.vppcalls.wire import IpInterface

NAMESPACE = "shop"
SERVICE = "web"
BACKEND_LABEL = ("app", "web")
POLICY_FILE = "services-policy.yaml"
TCP = 6
_RENDER_WAIT = 30.0


def _service(cluster: DemoCluster) -> dict[str, Any]:
    assert cluster.kube is not None
    for found in cluster.kube.list("v1", "Service", NAMESPACE):
        if found["metadata"]["name"] == SERVICE:
            return found
    raise LookupError(f"Service {NAMESPACE}/{SERVICE} was not created")


def _backends(cluster: DemoCluster, pods: list[DemoPod]) -> list[DemoPod]:
    assert cluster.kube is not None
    key, value = BACKEND_LABEL
    names = {
        p["metadata"]["name"]
        for p in cluster.kube.list("v1", "Pod", NAMESPACE)
        if (p["metadata"].get("labels") or {}).get(key) == value
    }
    return [p for p in pods if p.namespace == NAMESPACE and p.name in names]


def _mappings(cluster: DemoCluster, service_ports: set[int]) -> dict[str, list[NatMapping]]:
    """node -> its VPP's load-balanced mappings on the Service's ports (ClusterIP, NodePort)."""
    return {
        node.name: sorted(
            (
                m
                for m in node.sim.state.nat44.mappings
                if m.kind == "lb" and m.external_port in service_ports
            ),
            key=lambda m: (m.external_port, m.external_ip),
        )
        for node in cluster.nodes
    }


def _complete(found: dict[str, list[NatMapping]], backends: int, frontends: int) -> bool:
    return all(
        len(ms) >= frontends and all(len(m.locals) == backends for m in ms) for ms in found.values()
    )


def _show_mappings(report: ScenarioReport, found: dict[str, list[NatMapping]]) -> None:
    for node, mappings in found.items():
        report.say(f"== {node}: NAT44-ED load-balanced static mappings of {NAMESPACE}/{SERVICE}")
        for m in mappings:
            locals_ = ", ".join(
                f"{x.ip}:{x.port} (probability {x.probability}, vrf {x.vrf_id})" for x in m.locals
            )
            report.say(f"  {m.external_ip}:{m.external_port}/tcp -> {locals_}")


def _node_interface(node: DemoNode) -> tuple[str, IpInterface | None]:
    """The node's underlay interface (its main NIC, or the loopback standing in for one) and
    its IPv4 address: where traffic from outside the cluster arrives."""
    assert node.agent is not None
    nic = node.agent.config.settings.interfaces.main_interface or naming.LOOPBACK_NIC
    iface = find_interface(node.sim.state, nic)
    addresses = [] if iface is None else [a for a in iface.addresses if a.version == 4]
    return nic, addresses[0] if addresses else None


def _outside_host(node_ip: IpInterface) -> str:
    """A host on the node's network other than the cluster's nodes: its last usable address."""
    return str(node_ip.network.broadcast_address - 1)


def _walk(
    report: ScenarioReport, title: str, trace: Trace, expect: Callable[[Trace], bool]
) -> None:
    report.say(f"\n== packet walk: {title}")
    report.say(trace.render())
    report.ok = report.ok and expect(trace)


def _lands_on(backends: list[DemoPod]) -> Callable[[Trace], bool]:
    """Delivered to one of the backends' interfaces, after a NAT hop (the DNAT)."""
    tags = {b.vpp_interface for b in backends}

    def check(trace: Trace) -> bool:
        interface = trace.verdict.interface
        return (
            trace.delivered
            and interface is not None
            and interface.tag in tags
            and "nat44-out2in" in trace.render()
        )

    return check


def _dropped_at_acl(trace: Trace) -> bool:
    return not trace.delivered and "acl" in trace.verdict.reason.lower()


async def services(cluster: DemoCluster, pods: list[DemoPod]) -> ScenarioReport:
    """See the module docstring."""
    assert cluster.kube is not None
    report = ScenarioReport()
    service = _service(cluster)
    cluster_ip = service["spec"]["clusterIP"]
    port = service["spec"]["ports"][0]
    service_port, node_port = int(port["port"]), int(port["nodePort"])
    backends = _backends(cluster, pods)
    by_name = {p.name: p for p in pods if p.namespace == NAMESPACE}
    client, frontend = by_name.get("client"), by_name.get("frontend")
    if len(backends) != 3 or client is None or frontend is None:
        report.say(f"the pods of {NAMESPACE} are not all running: nothing to walk")
        report.ok = False
        return report
    # the ClusterIP on the service port and the NodePort on each node IP, on every node
    frontends = 1 + len(cluster.nodes)
    try:
        found = await cluster.kube.wait_for(
            lambda: (
                m
                if _complete(m := _mappings(cluster, {service_port, node_port}), 3, frontends)
                else None
            ),
            within=_RENDER_WAIT,
        )
    except TimeoutError:
        found = _mappings(cluster, {service_port, node_port})
        report.ok = False
        report.say(f"the node agents did not render {NAMESPACE}/{SERVICE} in {_RENDER_WAIT} s")
    _show_mappings(report, found)

    fabric = fabric_of(cluster)
    first = cluster.nodes[0]
    nic, node_ip = _node_interface(first)
    _walk(
        report,
        f"{NAMESPACE}/client {client.ip} -> ClusterIP {cluster_ip}:{service_port}/tcp",
        fabric.trace(
            client.node,
            client.vpp_interface,
            client.ip,
            cluster_ip,
            protocol=TCP,
            src_port=40001,
            dst_port=service_port,
        ),
        _lands_on(backends),
    )
    if node_ip is None:
        report.say(f"\n{first.name}'s {nic} has no IPv4 address: no walk to its NodePort")
        report.ok = False
    else:
        outside = _outside_host(node_ip)
        _walk(
            report,
            f"host {outside} (on the node network, arriving on {first.name}'s {nic}) -> "
            f"NodePort {node_ip.ip}:{node_port}/tcp",
            fabric.trace(
                first.name,
                nic,
                outside,
                node_ip.ip,
                protocol=TCP,
                src_port=40002,
                dst_port=node_port,
            ),
            _lands_on(backends),
        )

    objects = read_manifests([EXAMPLES / POLICY_FILE])
    applied = await apply_and_report(cluster.kube.url, objects)
    report.say(f"\napplying examples/{POLICY_FILE}:")
    for line in applied.lines():
        report.say(f"  {line}")
    report.ok = report.ok and applied.ok
    if not await _policy_rendered(cluster, backends):
        report.ok = False
        report.say(f"the node agents did not render the policy in {_RENDER_WAIT} s")
    for source, n, expect, why in (
        (client, 3, _dropped_at_acl, "expected: dropped at the ACL"),
        (frontend, 4, _lands_on(backends), "expected: delivered"),
    ):
        _walk(
            report,
            f"{NAMESPACE}/{source.name} {source.ip} -> ClusterIP {cluster_ip}:{service_port}/tcp "
            f"({why})",
            fabric.trace(
                source.node,
                source.vpp_interface,
                source.ip,
                cluster_ip,
                protocol=TCP,
                src_port=40000 + n,
                dst_port=service_port,
            ),
            expect,
        )
    return report


async def _policy_rendered(cluster: DemoCluster, backends: list[DemoPod]) -> bool:
    """Wait until each node agent isolates its local backends and its loop is idle."""
    assert cluster.kube is not None

    def done() -> bool | None:
        for node in cluster.nodes:
            agent = node.agent
            if agent is None:
                return None
            tables = agent.policies.rendering.pod_tables
            local = [b for b in backends if b.node == node.name]
            if not all(f"{b.namespace}/{b.name}" in tables for b in local):
                return None
        return True

    try:
        await cluster.kube.wait_for(done, within=_RENDER_WAIT)
    except TimeoutError:
        return False
    for node in cluster.nodes:
        if node.agent is not None:
            await node.agent.loop.wait_idle()
    return True
