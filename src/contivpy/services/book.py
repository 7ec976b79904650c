"""Every service's join kept current as Services, EndpointSlices, Endpoints and nodes change,
joining again only the services a change can affect.

In: reflected ``Service``, ``EndpointSlice`` and ``Endpoints`` models put and removed;
``LocalNode`` (this node's pod subnets and IPs) replaced; each node's IPs put and removed (this
node's too: NodePort frontends are every IP of every node). Out: ``models`` and ``problems``
(by service ID), always equal to ``processor.join_all`` over the current objects; ``node_ips``
(every node's IPs, the NodePort frontends); and from each change a ``ServiceChanges``: exactly
the services whose model was added, changed (old and new) or removed, the services whose
problems changed, and the node IPs when they changed.

Why it can be incremental: a service's join reads its own Service, slices and Endpoints, this
node's facts and, for each backend, whether its IP is a node's IP. So a Service, slice or
Endpoints change joins that one service again (a slice moved to another service: both); a
node's IPs, or this node's IPs, changing joins again the services with a ready address at an IP
that came or went (an index IP -> services, built from the slices, or the Endpoints of a
service without slices); only this node's pod subnets changing (rare) joins every service
again. The work of an endpoints or slice change is proportional to that service's addresses,
not to the number of services or slices.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from contivpy.models.k8s_codec import Endpoints, EndpointSlice, Service
from contivpy.services.model import ContivService, IPAddress, LocalNode
from contivpy.services.processor import Joined, JoinRules, join


@dataclass
class ServiceChanges:
    """What one change did. ``updated`` holds (old, new); ``problems`` the new problems of the
    services whose problems changed (an empty tuple: they were cleared, or the service is
    gone); ``node_ips`` the node IPs when they changed (None: unchanged)."""

    added: dict[str, ContivService] = field(default_factory=dict)
    updated: dict[str, tuple[ContivService, ContivService]] = field(default_factory=dict)
    removed: dict[str, ContivService] = field(default_factory=dict)
    problems: dict[str, tuple[str, ...]] = field(default_factory=dict)
    node_ips: frozenset[IPAddress] | None = None

    def __bool__(self) -> bool:
        return (
            bool(self.added or self.updated or self.removed or self.problems)
            or self.node_ips is not None
        )

    def applied_to(self, models: Mapping[str, ContivService]) -> dict[str, ContivService]:
        """``models`` (as they were before this change) with this change applied."""
        result = {k: v for k, v in models.items() if k not in self.removed}
        result.update(self.added)
        result.update({k: new for k, (_, new) in self.updated.items()})
        return result


class ServiceBook:
    """See the module doc."""

    def __init__(self, rules: JoinRules | None = None, local: LocalNode | None = None) -> None:
        self._rules = rules or JoinRules()
        self._local = local or LocalNode()
        self._services: dict[str, Service] = {}
        self._endpoints: dict[str, Endpoints] = {}
        self._slices: dict[str, dict[str, EndpointSlice]] = {}  # service ID -> slice name ->
        self._slice_owner: dict[str, str] = {}  # slice ID -> its service ID
        self._nodes: dict[str, frozenset[IPAddress]] = {}
        self._ip_count: dict[IPAddress, int] = {}  # node IP -> how many nodes have it
        self._node_ips: frozenset[IPAddress] | None = frozenset()  # None: to be built again
        self._at_ip: dict[IPAddress, set[str]] = {}  # ready address -> services with it
        self._ips_of: dict[str, frozenset[IPAddress]] = {}  # service ID -> its ready addresses
        self.models: dict[str, ContivService] = {}
        self.problems: dict[str, tuple[str, ...]] = {}

    @property
    def local(self) -> LocalNode:
        """This node's facts as last set."""
        return self._local

    @property
    def node_ips(self) -> frozenset[IPAddress]:
        """Every IP of every node (the NodePort frontends)."""
        if self._node_ips is None:
            self._node_ips = frozenset(self._ip_count)
        return self._node_ips

    def reset(
        self,
        services: Iterable[Service],
        endpoints: Iterable[Endpoints],
        local: LocalNode,
        nodes: Mapping[str, frozenset[IPAddress]],
        slices: Iterable[EndpointSlice] = (),
    ) -> ServiceChanges:
        """Everything replaced (a resync); what differs from before."""
        before = self.node_ips
        self._local = local
        self._services = {_id(s): s for s in services}
        self._endpoints, self._at_ip, self._ips_of = {}, {}, {}
        self._slices, self._slice_owner = {}, {}
        for one in slices:
            self._file_slice(one)
        for model in endpoints:
            self._index(model)
        for service_id in self._slices.keys() - self._endpoints.keys():
            self._reindex(service_id)
        self._nodes, self._ip_count = {}, {}
        for name, ips in nodes.items():
            self._count(name, ips)
        self._node_ips = None
        changes = ServiceChanges(node_ips=self.node_ips if self.node_ips != before else None)
        self._join(set(self._services) | set(self.models) | set(self.problems), changes)
        return changes

    def put_service(self, service: Service) -> ServiceChanges:
        """A Service created or changed."""
        service_id = _id(service)
        self._services[service_id] = service
        return self._join({service_id}, ServiceChanges())

    def remove_service(self, namespace: str, name: str) -> ServiceChanges:
        """A Service deleted."""
        service_id = f"{namespace}/{name}"
        self._services.pop(service_id, None)
        return self._join({service_id}, ServiceChanges())

    def put_endpoints(self, endpoints: Endpoints) -> ServiceChanges:
        """An Endpoints created or changed."""
        self._index(endpoints)
        return self._join({_id(endpoints)}, ServiceChanges())

    def remove_endpoints(self, namespace: str, name: str) -> ServiceChanges:
        """An Endpoints deleted."""
        service_id = f"{namespace}/{name}"
        self._unindex(service_id)
        return self._join({service_id}, ServiceChanges())

    def put_slice(self, endpoint_slice: EndpointSlice) -> ServiceChanges:
        """An EndpointSlice created or changed."""
        touched = self._file_slice(endpoint_slice)
        for service_id in touched:
            self._reindex(service_id)
        return self._join(touched, ServiceChanges())

    def remove_slice(self, namespace: str, name: str) -> ServiceChanges:
        """An EndpointSlice deleted."""
        service_id = self._drop_slice(f"{namespace}/{name}")
        if service_id is None:
            return ServiceChanges()
        self._reindex(service_id)
        return self._join({service_id}, ServiceChanges())

    def set_local(self, local: LocalNode) -> ServiceChanges:
        """This node's pod subnets or IPs changed."""
        old, self._local = self._local, local
        if old.pod_subnets != local.pod_subnets:
            return self._join(set(self._services), ServiceChanges())
        return self._join(self._services_at(old.ips ^ local.ips), ServiceChanges())

    def put_node(self, name: str, ips: frozenset[IPAddress]) -> ServiceChanges:
        """A node (this one too) joined or its IPs changed."""
        flipped = self._count(name, ips)
        return self._node_changed(flipped)

    def remove_node(self, name: str) -> ServiceChanges:
        """A node left."""
        flipped = self._count(name, frozenset())
        return self._node_changed(flipped)

    # -- internals --------------------------------------------------------------------------

    def _node_changed(self, flipped: set[IPAddress]) -> ServiceChanges:
        if not flipped:
            return ServiceChanges()
        self._node_ips = None
        return self._join(self._services_at(flipped), ServiceChanges(node_ips=self.node_ips))

    def _count(self, name: str, ips: frozenset[IPAddress]) -> set[IPAddress]:
        """Record a node's IPs; the IPs that became or stopped being some node's IP."""
        old = self._nodes.pop(name, frozenset())
        if ips:
            self._nodes[name] = ips
        flipped: set[IPAddress] = set()
        for ip in old - ips:
            self._ip_count[ip] -= 1
            if not self._ip_count[ip]:
                del self._ip_count[ip]
                flipped.add(ip)
        for ip in ips - old:
            self._ip_count[ip] = self._ip_count.get(ip, 0) + 1
            if self._ip_count[ip] == 1:
                flipped.add(ip)
        return flipped

    def _services_at(self, ips: Iterable[IPAddress]) -> set[str]:
        found: set[str] = set()
        for ip in ips:
            found |= self._at_ip.get(ip, set())
        return found

    def _file_slice(self, endpoint_slice: EndpointSlice) -> set[str]:
        """Record a slice under its service; the services whose slices changed (its old one
        when its service label changed). A slice of no service is kept out."""
        slice_id = _id(endpoint_slice)
        touched: set[str] = set()
        old = self._drop_slice(slice_id)
        if old is not None:
            touched.add(old)
        if endpoint_slice.service_name:
            service_id = f"{endpoint_slice.namespace}/{endpoint_slice.service_name}"
            self._slices.setdefault(service_id, {})[endpoint_slice.name] = endpoint_slice
            self._slice_owner[slice_id] = service_id
            touched.add(service_id)
        return touched

    def _drop_slice(self, slice_id: str) -> str | None:
        """Forget a slice; the service it belonged to (None: none)."""
        service_id = self._slice_owner.pop(slice_id, None)
        if service_id is not None:
            held = self._slices[service_id]
            del held[slice_id.partition("/")[2]]
            if not held:
                del self._slices[service_id]
        return service_id

    def _index(self, endpoints: Endpoints) -> None:
        service_id = _id(endpoints)
        self._endpoints[service_id] = endpoints
        self._reindex(service_id)

    def _reindex(self, service_id: str) -> None:
        """Index again the ready addresses of a service: those of its slices when it has
        some (what its join reads), else those of its Endpoints."""
        self._unindex_ips(service_id)
        slices = self._slices.get(service_id)
        if slices:
            ips = frozenset(ip for one in slices.values() for ip in _slice_ready_ips(one))
        elif service_id in self._endpoints:
            ips = frozenset(_ready_ips(self._endpoints[service_id]))
        else:
            return
        if ips:
            self._ips_of[service_id] = ips
        for ip in ips:
            self._at_ip.setdefault(ip, set()).add(service_id)

    def _unindex(self, service_id: str) -> None:
        self._endpoints.pop(service_id, None)
        self._reindex(service_id)

    def _unindex_ips(self, service_id: str) -> None:
        for ip in self._ips_of.pop(service_id, frozenset()):
            holders = self._at_ip[ip]
            holders.discard(service_id)
            if not holders:
                del self._at_ip[ip]

    def _join(self, service_ids: set[str], changes: ServiceChanges) -> ServiceChanges:
        """Join these services again and record in ``changes`` what differs."""
        for service_id in service_ids:
            service = self._services.get(service_id)
            joined = (
                Joined(None)
                if service is None
                else join(
                    service,
                    self._endpoints.get(service_id),
                    self._local,
                    self._ip_count,
                    self._rules,
                    tuple(self._slices.get(service_id, {}).values()),
                )
            )
            self._record(service_id, joined, changes)
        return changes

    def _record(self, service_id: str, joined: Joined, changes: ServiceChanges) -> None:
        old, new = self.models.get(service_id), joined.model
        if new is None:
            if old is not None:
                del self.models[service_id]
                changes.removed[service_id] = old
        elif old is None:
            self.models[service_id] = new
            changes.added[service_id] = new
        elif old != new:
            self.models[service_id] = new
            changes.updated[service_id] = (old, new)
        if self.problems.get(service_id, ()) != joined.problems:
            changes.problems[service_id] = joined.problems
            if joined.problems:
                self.problems[service_id] = joined.problems
            else:
                del self.problems[service_id]


def _id(model: Service | Endpoints | EndpointSlice) -> str:
    return f"{model.namespace}/{model.name}"


def _ready_ips(endpoints: Endpoints) -> Iterable[IPAddress]:
    """The IPs of the ready addresses (the unparseable skipped: the join reports them)."""
    for subset in endpoints.subsets:
        for address in subset.addresses:
            try:
                yield ipaddress.ip_address(address.ip)
            except ValueError:
                continue


def _slice_ready_ips(endpoint_slice: EndpointSlice) -> Iterable[IPAddress]:
    """The IPs of a slice's ready endpoints (``ready`` unset counts as ready)."""
    if endpoint_slice.address_type == "FQDN":
        return
    for endpoint in endpoint_slice.endpoints:
        if endpoint.ready is False:
            continue
        for text in endpoint.addresses:
            try:
                yield ipaddress.ip_address(text)
            except ValueError:
                continue
