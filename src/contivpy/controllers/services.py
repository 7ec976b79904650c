"""services: Kubernetes Services as VPP NAT44-ED configuration (Contiv's service plugin with its
NAT44 renderer).

In: reflected Services, EndpointSlices and Endpoints (resyncs and their KubeStateChanges; a
service with slices is joined with them, without with its Endpoints); every node's VPP and
Kubernetes addresses (nodesync; ``node`` / ``vppnode`` changes and NodeUpdate); this node's
address plan (ipam: pod subnet, node address, NAT loopback); local pods and their IPs
(podmanager, ipam; AddPod / DeletePod). Out: the NAT values of ``service_render`` as changes of
only the values that differ, and ``problems`` (by service ID): the refused Services
(``services.processor``) and frontends another service holds, logged and said in the change
line of the event that found or cleared them (``ctl events``; a resync's in its own record,
``ResyncResult``). The IPv4 part of each service is
rendered; a service with IPv6 frontends only is skipped (``skipped``; Contiv rendered IPv6 with
another renderer).

Incremental: the ``ServiceBook`` names the services a change affects (an Endpoints change: its
service; a node's IPs: the services with a backend there, and the NodePort services); only
those are rendered again, and only their keys are compared. A pod added or deleted changes its
interface's value only. A key two services claim belongs to the first by ID (as
``service_render.merge_services`` does from scratch), so the result always equals a render of
everything from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from contivpy.controllers import naming
from contivpy.controllers.base import (
    ControllerBase,
    changed_problems,
    problem_lines,
    reflected,
    restore,
    set_tracked,
    tracked_changes,
)
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.ipnet_vpp import NodeContext
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import PodManager, pod_id
from contivpy.controllers.service_render import (
    NodeSide,
    conflict,
    local_backend_ips,
    render_node,
    render_pod_interface,
    render_service,
)
from contivpy.events.types import (
    AddPod,
    Config,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    NodeUpdate,
    ResyncResult,
    UpdateResult,
)
from contivpy.models.k8s_codec import Endpoints, EndpointSlice, Service
from contivpy.services.book import ServiceBook, ServiceChanges
from contivpy.services.model import (
    DEFAULT_NODE_PORT_RANGE,
    ContivService,
    IPAddress,
    LocalNode,
    node_ips,
)
from contivpy.services.processor import JoinRules
from contivpy.settings import AgentSettings, Transport

log = structlog.get_logger(__name__)

SERVICE = "service"
ENDPOINTS = "endpoints"
ENDPOINT_SLICE = "endpointslice"
NODES = ("node", "vppnode")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """The ``services`` section of the agent's configuration.

    The NAT loopback (the twice-NAT source) is not among them: it must be this node's own
    (remote backends answer it through the overlay), routed here and never a pod's, which is
    what Contiv's choice, the last unicast address of this node's pod subnet, is (ipam never
    hands it out)."""

    local_endpoint_weight: int = 1  # Contiv's serviceLocalEndpointWeight (1..255)
    node_port_range: str = "{}-{}".format(*DEFAULT_NODE_PORT_RANGE)  # kube-apiserver's
    nat_external_traffic: bool = True  # Contiv's natExternalTraffic: SNAT what leaves

    def validate(self) -> list[tuple[str, str]]:
        """(field, problem) of every bad value."""
        problems: list[tuple[str, str]] = []
        if not 1 <= self.local_endpoint_weight <= 255:
            problems.append(
                ("local_endpoint_weight", f"{self.local_endpoint_weight} is outside 1..255")
            )
        try:
            self.port_range()
        except ValueError as error:
            problems.append(("node_port_range", str(error)))
        return problems

    def port_range(self) -> tuple[int, int]:
        """``node_port_range`` as (first, last); ValueError when it is not ``N-M``."""
        first, sep, last = self.node_port_range.partition("-")
        if not sep or not first.strip().isdigit() or not last.strip().isdigit():
            raise ValueError(f"{self.node_port_range!r} is not FIRST-LAST")
        low, high = int(first), int(last)
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"{self.node_port_range!r} is not a range within 1..65535")
        return low, high


@dataclass(frozen=True, slots=True)
class PodUndo:
    """Undo token of an AddPod: the pod's entry before, and the values it changed."""

    pod: PodID
    entry: tuple[str, IPAddress] | None
    values: dict[str, object | None]


class Services(ControllerBase[PodUndo]):
    """See the module docstring."""

    name = "services"

    def __init__(
        self,
        settings: AgentSettings,
        nodesync: NodeSync,
        ipam: Ipam,
        pods: PodManager,
        config: ServiceSettings | None = None,
    ) -> None:
        self._settings = settings
        self._config = config or ServiceSettings()
        self._nodesync = nodesync
        self._ipam = ipam
        self._pods = pods
        self._rules = JoinRules(
            node_port_range=self._config.port_range(),
            cluster_pod_subnets=(settings.ipam.pod_subnet_cidr,),
        )
        self._book = ServiceBook(self._rules)
        self._side: NodeSide | None = None
        self._nodes: dict[str, frozenset[IPAddress]] = {}  # what the book was told
        self._rendered: dict[str, Config] = {}  # service ID -> its mappings (unmerged)
        self._claims: dict[str, set[str]] = {}  # mapping key -> services rendering it
        self._backing: dict[str, frozenset[IPAddress]] = {}  # service ID -> local pod backends
        self._backers: dict[IPAddress, int] = {}  # local pod backend IP -> services
        self._local_pods: dict[PodID, tuple[str, IPAddress]] = {}  # -> (interface, IP)
        self._pod_at: dict[IPAddress, PodID] = {}
        self._desired: Config = {}
        self._touched: dict[str, object | None] = {}  # key -> its value before this event
        self._said: list[str] = []  # problems found or gone in this event, for its record
        self.conflicts: dict[str, tuple[str, ...]] = {}
        self.skipped: set[str] = set()

    # -- what others read ---------------------------------------------------------------

    @property
    def models(self) -> dict[str, ContivService]:
        """Every joined service, by ID."""
        return self._book.models

    @property
    def problems(self) -> dict[str, tuple[str, ...]]:
        """Why services (by ID) are refused, or lack a frontend another service holds."""
        found = dict(self._book.problems)
        for service_id, conflicts in self.conflicts.items():
            found[service_id] = found.get(service_id, ()) + conflicts
        return found

    def desired(self) -> Config:
        """Everything this controller wants now."""
        return dict(self._desired)

    # -- the controller -----------------------------------------------------------------

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource in (SERVICE, ENDPOINTS, ENDPOINT_SLICE, *NODES)
        return isinstance(event, AddPod | DeletePod | NodeUpdate)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> ResyncResult:
        self._side = self._node_side()
        self._nodes = self._node_ips()
        before = self.problems
        self._book = ServiceBook(self._rules)
        self._book.reset(
            reflected(state, SERVICE, Service).values(),
            reflected(state, ENDPOINTS, Endpoints).values(),
            self._local(),
            self._nodes,
            reflected(state, ENDPOINT_SLICE, EndpointSlice).values(),
        )
        self._rendered, self._claims, self._backing, self._backers = {}, {}, {}, {}
        self._local_pods, self._pod_at = {}, {}
        self._desired, self.conflicts, self.skipped = {}, {}, set()
        self._touched = {}
        if self._side is not None:
            self._desired.update(render_node(self._side))
            allocations = self._ipam.allocations()
            for pod in self._pods.pods:
                self._register(pod, allocations.get(pod))
        for service_id, model in sorted(self._book.models.items()):
            self._put_service(service_id, model)
        self._touched = {}
        self._said = []  # the resync's findings are in its own record, not an update's
        lines = problem_lines("Service", changed_problems(before, self.problems))
        return ResyncResult(dict(self._desired), "; ".join(lines))

    async def update(self, event: Event) -> UpdateResult[PodUndo]:
        self._touched = {}
        undo: PodUndo | None = None
        if isinstance(event, KubeStateChange):
            self._apply(self._fold(event))
        elif isinstance(event, NodeUpdate):
            self._apply(self._sync_nodes())
        elif isinstance(event, AddPod):
            pod = pod_id(event)
            entry = self._local_pods.get(pod)
            self._unregister(pod)
            self._register(pod, self._ipam.ip_of(pod))
            undo = PodUndo(pod, entry, dict(self._touched))
        elif isinstance(event, DeletePod):
            local = self._pods.pods.get(pod_id(event))
            if local is not None and local.container_id == event.request.container_id:
                self._unregister(local.pod)
        changes = tracked_changes(self._desired, self._touched)
        self._touched = {}
        lines, self._said = self._said, []
        if changes:
            lines.insert(
                0, f"{len(self._book.models)} service(s); {len(changes)} NAT value(s) changed"
            )
        return UpdateResult("; ".join(lines), changes, undo=undo)

    async def revert(self, event: Event, undo: PodUndo | None) -> None:
        if undo is None:
            return
        current = self._local_pods.pop(undo.pod, None)
        if current is not None:
            self._pod_at.pop(current[1], None)
        if undo.entry is not None:
            self._local_pods[undo.pod] = undo.entry
            self._pod_at[undo.entry[1]] = undo.pod
        restore(self._desired, undo.values)

    # -- facts ---------------------------------------------------------------------------

    def _node_side(self) -> NodeSide | None:
        """This node's side (None before it has an address plan, or without IPv4)."""
        if not self._ipam.ready:
            return None
        ctx = NodeContext(self._settings, self._ipam.plan, self._ipam.addresses)
        addresses = ctx.addresses
        node_ip = addresses.node_address
        if node_ip.version != 4 or addresses.nat_loopback.version != 4:
            log.info("IPv6 node: services are not rendered (NAT44 is IPv4 only)")
            return None
        vxlan = self._settings.transport is Transport.VXLAN
        return NodeSide(
            node_ip=node_ip,
            nat_loopback=addresses.nat_loopback,
            main_interface=ctx.main_interface,
            host_interconnect=ctx.host_interconnect,
            vxlan_bvi=naming.VXLAN_BVI if vxlan else "",
            # Contiv: no SNAT without a gateway, nor when node traffic leaves by the main
            # interface unencapsulated (no overlay: it would lose the pods' addresses)
            snat=(
                self._config.nat_external_traffic
                and vxlan
                and self._settings.ipam.default_gateway is not None
            ),
            main_vrf=self._settings.main_vrf_id,
            pod_vrf=self._settings.pod_vrf_id,
            local_weight=self._config.local_endpoint_weight,
        )

    def _node_ips(self) -> dict[str, frozenset[IPAddress]]:
        """Every node's VPP and Kubernetes IPs (this node's planned address included)."""
        found = {
            name: node_ips((*info.vpp_addresses, *info.mgmt_addresses))
            for name, info in self._nodesync.nodes.items()
        }
        if self._ipam.ready:
            own = found.get(self._settings.node_name, frozenset())
            found[self._settings.node_name] = own | {self._ipam.addresses.node_address}
        return {name: ips for name, ips in found.items() if ips}

    def _local(self) -> LocalNode:
        if not self._ipam.ready:
            return LocalNode()
        return LocalNode(
            pod_subnets=(self._ipam.addresses.pod_subnet,),
            ips=self._nodes.get(self._settings.node_name, frozenset()),
        )

    # -- changes ---------------------------------------------------------------------------

    def _fold(self, event: KubeStateChange) -> ServiceChanges:
        """Tell the book; what it says changed."""
        if event.resource == SERVICE:
            if isinstance(event.new, Service):
                return self._book.put_service(event.new)
            if isinstance(event.prev, Service):
                return self._book.remove_service(event.prev.namespace, event.prev.name)
        elif event.resource == ENDPOINTS:
            if isinstance(event.new, Endpoints):
                return self._book.put_endpoints(event.new)
            if isinstance(event.prev, Endpoints):
                return self._book.remove_endpoints(event.prev.namespace, event.prev.name)
        elif event.resource == ENDPOINT_SLICE:
            if isinstance(event.new, EndpointSlice):
                return self._book.put_slice(event.new)
            if isinstance(event.prev, EndpointSlice):
                return self._book.remove_slice(event.prev.namespace, event.prev.name)
        else:
            return self._sync_nodes()
        return ServiceChanges()

    def _sync_nodes(self) -> ServiceChanges:
        """Tell the book the nodes whose IPs differ from what it was told."""
        nodes = self._node_ips()
        total = ServiceChanges()
        for name in sorted(nodes.keys() | self._nodes.keys()):
            ips = nodes.get(name, frozenset())
            if ips == self._nodes.get(name, frozenset()):
                continue
            found = self._book.put_node(name, ips) if ips else self._book.remove_node(name)
            _merge(total, found)
        self._nodes = nodes
        local = self._local()
        if local != self._book.local:
            _merge(total, self._book.set_local(local))
        return total

    def _apply(self, changes: ServiceChanges) -> None:
        """Render again the services ``changes`` names (and the NodePort ones when the node
        IPs changed)."""
        for service_id in changes.removed:
            self._put_service(service_id, None)
        for service_id, model in changes.added.items():
            self._put_service(service_id, model)
        for service_id, (_, model) in changes.updated.items():
            self._put_service(service_id, model)
        if changes.node_ips is not None:
            done = set(changes.added) | set(changes.updated)
            for service_id, model in self._book.models.items():
                if model.has_node_port and service_id not in done:
                    self._put_service(service_id, model)
        self._report(changes.problems)

    def _report(self, problems: dict[str, tuple[str, ...]]) -> None:
        """Log the objects whose problems changed, and say so in the event's change line."""
        self._said += problem_lines("Service", problems)

    # -- state -----------------------------------------------------------------------------

    def _set(self, key: str, value: object | None) -> None:
        """Change one desired value, remembering what it was before this event."""
        set_tracked(self._desired, self._touched, key, value)

    def _put_service(self, service_id: str, model: ContivService | None) -> None:
        """A service's mappings and backends rendered again (None: it is gone)."""
        part = model.of_family(4) if model is not None and 4 in model.families else None
        if model is not None and part is None and model.families:
            if service_id not in self.skipped:
                log.info("IPv6 service not rendered (NAT44 is IPv4 only)", service=service_id)
            self.skipped.add(service_id)
        else:
            self.skipped.discard(service_id)
        side = self._side
        old = self._rendered.pop(service_id, {})
        new = render_service(part, side, self._book.node_ips) if part and side else {}
        if new:
            self._rendered[service_id] = new
        contenders: set[str] = {service_id}
        for key in old.keys() | new.keys():
            claims = self._claims.setdefault(key, set())
            if key in new:
                claims.add(service_id)
            else:
                claims.discard(service_id)
            if not claims:
                del self._claims[key]
                self._set(key, None)
                continue
            contenders |= claims
            owner = min(claims)
            self._set(key, self._rendered[owner][key])
        for contender in contenders:
            self._check_conflicts(contender)
        backing = local_backend_ips(part) if part is not None and side is not None else frozenset()
        self._back(service_id, backing)

    def _check_conflicts(self, service_id: str) -> None:
        found = tuple(
            conflict(service_id, key, min(self._claims[key]))
            for key in sorted(self._rendered.get(service_id, {}))
            if min(self._claims[key]) != service_id
        )
        if found:
            if self.conflicts.get(service_id) != found:
                log.warning("service frontend taken", service=service_id, problems=list(found))
                self._said.append("; ".join(found))
            self.conflicts[service_id] = found
        elif self.conflicts.pop(service_id, None) is not None:
            self._said.append(f"Service {service_id} holds its frontends")

    def _back(self, service_id: str, backing: frozenset[IPAddress]) -> None:
        """Record the local pods a service has as backends; their interfaces change when they
        start or stop backing any service."""
        old = self._backing.pop(service_id, frozenset())
        if backing:
            self._backing[service_id] = backing
        flipped: list[IPAddress] = []
        for ip in old - backing:
            self._backers[ip] -= 1
            if not self._backers[ip]:
                del self._backers[ip]
                flipped.append(ip)
        for ip in backing - old:
            self._backers[ip] = self._backers.get(ip, 0) + 1
            if self._backers[ip] == 1:
                flipped.append(ip)
        for ip in flipped:
            pod = self._pod_at.get(ip)
            if pod is not None:
                interface, _ = self._local_pods[pod]
                self._set_pod_interface(interface, ip)

    def _register(self, pod: PodID, ip: IPAddress | None) -> None:
        """A local pod with its IP (none: not wired) gets its interface's features."""
        local = self._pods.pods.get(pod)
        if local is None or ip is None or self._side is None:
            return
        use_tap = self._settings.interfaces.use_tap_interfaces
        interface = naming.pod_vpp_interface(local.container_id, use_tap=use_tap)
        self._local_pods[pod] = (interface, ip)
        self._pod_at[ip] = pod
        self._set_pod_interface(interface, ip)

    def _unregister(self, pod: PodID) -> None:
        entry = self._local_pods.pop(pod, None)
        if entry is None:
            return
        interface, ip = entry
        if self._pod_at.get(ip) == pod:
            del self._pod_at[ip]
        for key in render_pod_interface(interface, False):
            self._set(key, None)

    def _set_pod_interface(self, interface: str, ip: IPAddress) -> None:
        for key, value in render_pod_interface(interface, ip in self._backers).items():
            self._set(key, value)


def _merge(total: ServiceChanges, more: ServiceChanges) -> None:
    """Fold ``more`` (a later change) into ``total``."""
    for service_id, model in more.added.items():
        if service_id in total.removed:
            old = total.removed.pop(service_id)
            total.updated[service_id] = (old, model)
        else:
            total.added[service_id] = model
    for service_id, (old, new) in more.updated.items():
        if service_id in total.added:
            total.added[service_id] = new
        elif service_id in total.updated:
            total.updated[service_id] = (total.updated[service_id][0], new)
        else:
            total.updated[service_id] = (old, new)
    for service_id, model in more.removed.items():
        if total.added.pop(service_id, None) is None:
            previous = total.updated.pop(service_id, None)
            total.removed[service_id] = previous[0] if previous else model
    total.problems.update(more.problems)
    if more.node_ips is not None:
        total.node_ips = more.node_ips
