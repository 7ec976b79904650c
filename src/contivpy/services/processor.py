"""A Service and its EndpointSlices or Endpoints, checked and joined into a ``ContivService``.
Pure.

In: one reflected ``Service`` model, its ``EndpointSlice`` models (those labelled
``kubernetes.io/service-name`` with its name, in its namespace; none on clusters or objects
without slices), its ``Endpoints`` model (same namespace and name; None before the endpoints
controller wrote it), ``LocalNode`` (this node's pod subnets and IPs), the
IPs of every node, and ``JoinRules`` (the NodePort range, the cluster's pod subnets). Out:
``Joined`` — the model (None when the Service is refused or is an ExternalName service) and the
problems found, each naming the object (``Service ns/name``, ``EndpointSlice ns/name`` or
``Endpoints ns/name``), the field and the value.

Rules (Contiv-VPP's processor, docs/SERVICES.md):
- Frontends: cluster IPs from ``spec.clusterIPs`` (``spec.clusterIP`` when that is empty),
  ``None`` (headless) skipped; ``spec.externalIPs``; the LoadBalancer ingress IPs of a
  LoadBalancer service. NodePorts only of NodePort and LoadBalancer services.
- Traffic policy: ``externalTrafficPolicy: Local`` is NodeLocal, absent or ``Cluster`` is
  ClusterWide. Affinity: ``ClientIP`` with its timeout (10800 s when the model has none).
- Backends of a service port: the ready ``addresses`` (``notReadyAddresses`` never) of every
  subset, at the port of the subset's endpoint port with the service port's name (this is how
  named target ports are resolved: the endpoints controller resolves them per pod and names
  the endpoint port after the service port) and the same protocol.
- When the service has EndpointSlices they alone give the backends (the Endpoints, which the
  control plane mirrors from the same pods, are ignored, so a service never flips between
  the two): the union over its slices of the addresses of ready endpoints (``conditions.ready``
  true or unset, which the API says means ready), an address present in two slices once, at
  the port of the slice port with the service port's name and protocol. FQDN slices and ports
  without a number are skipped. Without slices, the Endpoints give them.
- A backend is local when it is in this node's pod subnet or at one of this node's IPs; it is
  host-network when it is at a node's IP or outside the cluster's pod subnets (when known).
- A Service with a problem is refused (no model; every problem is kept). A problem in the
  Endpoints skips only the address or port at fault: the service keeps its other backends.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from contivpy.models.k8s_codec import EndpointPort, Endpoints, EndpointSlice, Protocol, Service
from contivpy.models.k8s_codec import ServicePort as K8sServicePort
from contivpy.services.model import (
    DEFAULT_AFFINITY_TIMEOUT,
    DEFAULT_NODE_PORT_RANGE,
    MAX_AFFINITY_TIMEOUT,
    Backend,
    ContivService,
    IPAddress,
    IPNetwork,
    L4Protocol,
    LocalNode,
    ServicePort,
    TrafficPolicy,
    ip_order,
    sorted_ips,
)

_PROTOCOLS = {
    Protocol.TCP: L4Protocol.TCP,
    Protocol.UDP: L4Protocol.UDP,
    Protocol.SCTP: L4Protocol.SCTP,
}
_TYPES = ("", "ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
_TRAFFIC_POLICIES = {
    "": TrafficPolicy.CLUSTER_WIDE,
    "Cluster": TrafficPolicy.CLUSTER_WIDE,
    "Local": TrafficPolicy.NODE_LOCAL,
}
_NO_AFFINITY = ("", "None")
_HEADLESS = ("", "None")


@dataclass(frozen=True, slots=True)
class JoinRules:
    """The cluster's settings the join checks against: the NodePort range (kube-apiserver's
    ``--service-node-port-range``) and the pod subnets of the whole cluster (a backend
    outside them is host-network; empty: only a backend at a node IP is)."""

    node_port_range: tuple[int, int] = DEFAULT_NODE_PORT_RANGE
    cluster_pod_subnets: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True, slots=True)
class Joined:
    """The result of one join: the model (None: refused, or not load-balanced) and why."""

    model: ContivService | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the backends' flags depend on."""

    local: LocalNode
    node_ips: Collection[IPAddress]
    rules: JoinRules


def join(
    service: Service,
    endpoints: Endpoints | None,
    local: LocalNode,
    node_ips: Collection[IPAddress] = frozenset(),
    rules: JoinRules = JoinRules(),
    slices: Sequence[EndpointSlice] = (),
) -> Joined:
    """The service joined with its slices, or its endpoints without slices (see the module
    doc)."""
    where = f"Service {service.namespace}/{service.name}"
    if service.service_type == "ExternalName":
        return Joined(None)  # a DNS alias: nothing to balance
    problems: list[str] = []
    if service.service_type not in _TYPES:
        problems.append(
            f"{where} spec.type: {service.service_type!r} is not ClusterIP, NodePort, "
            "LoadBalancer or ExternalName"
        )
    ports = _ports(service, where, rules, problems)
    policy = _TRAFFIC_POLICIES.get(service.external_traffic_policy)
    if policy is None:
        problems.append(
            f"{where} spec.externalTrafficPolicy: {service.external_traffic_policy!r} is not "
            "Cluster or Local"
        )
    timeout = _affinity(service, where, problems)
    cluster_ips = _cluster_ips(service, where, problems)
    external_ips = _ips(service.external_ips, f"{where} spec.externalIPs", problems)
    ingress: tuple[IPAddress, ...] = ()
    if service.service_type == "LoadBalancer":
        ingress = _ips(service.lb_ingress_ips, f"{where} status.loadBalancer.ingress", problems)
    facts = _Facts(local, node_ips, rules)
    if slices:
        backends, endpoint_problems = _slice_backends(ports, slices, facts, service)
    else:
        backends, endpoint_problems = _backends(ports, endpoints, facts, service)
    if problems or policy is None:
        return Joined(None, (*problems, *endpoint_problems))
    model = ContivService(
        namespace=service.namespace,
        name=service.name,
        traffic_policy=policy,
        affinity_timeout=timeout,
        cluster_ips=cluster_ips,
        external_ips=external_ips,
        lb_ingress_ips=ingress,
        ports=ports,
        backends=backends,
    )
    return Joined(model, tuple(endpoint_problems))


def join_all(
    services: Iterable[Service],
    endpoints: Iterable[Endpoints],
    local: LocalNode,
    node_ips: Collection[IPAddress] = frozenset(),
    rules: JoinRules = JoinRules(),
    slices: Iterable[EndpointSlice] = (),
) -> tuple[dict[str, ContivService], dict[str, tuple[str, ...]]]:
    """Every service joined from scratch: the models and the problems, by service ID
    (``<namespace>/<name>``); a service without problems has no entry in the second."""
    by_id = {f"{e.namespace}/{e.name}": e for e in endpoints}
    slices_of: dict[str, list[EndpointSlice]] = {}
    for found in slices:
        if found.service_name:
            slices_of.setdefault(f"{found.namespace}/{found.service_name}", []).append(found)
    models: dict[str, ContivService] = {}
    problems: dict[str, tuple[str, ...]] = {}
    for service in services:
        service_id = f"{service.namespace}/{service.name}"
        joined = join(
            service, by_id.get(service_id), local, node_ips, rules, slices_of.get(service_id, ())
        )
        if joined.model is not None:
            models[service_id] = joined.model
        if joined.problems:
            problems[service_id] = joined.problems
    return models, problems


# -- the Service ----------------------------------------------------------------------------


def _ports(
    service: Service, where: str, rules: JoinRules, problems: list[str]
) -> dict[str, ServicePort]:
    ports: dict[str, ServicePort] = {}
    names: dict[str, int] = {}
    numbers: dict[tuple[L4Protocol, int], int] = {}
    node_ports: dict[tuple[L4Protocol, int], int] = {}
    several = len(service.ports) > 1
    low, high = rules.node_port_range
    for index, port in enumerate(service.ports):
        at = f"{where} spec.ports[{index}]"
        count = len(problems)
        protocol = _PROTOCOLS.get(port.protocol)
        if protocol is None:
            problems.append(f"{at}.protocol: {int(port.protocol)} is not TCP, UDP or SCTP")
        if not 1 <= port.port <= 65535:
            problems.append(f"{at}.port: {port.port} is out of range 1..65535")
        target = port.target_port
        if target is not None and target.number is not None and not 1 <= target.number <= 65535:
            problems.append(f"{at}.targetPort: {target.number} is out of range 1..65535")
        node_port = port.node_port if service.service_type in _NODE_PORT_TYPES else 0
        if node_port and not low <= node_port <= high:
            problems.append(
                f"{at}.nodePort: {node_port} is out of the NodePort range {low}..{high}"
            )
        if port.name in names:
            problems.append(
                f"{at}.name: {port.name!r} is also the name of spec.ports[{names[port.name]}]"
            )
        elif several and not port.name:
            problems.append(f"{at}.name: missing (a service with several ports names each one)")
        names.setdefault(port.name, index)
        if protocol is not None:
            _unique(numbers, (protocol, port.port), index, f"{at}.port", problems)
            if node_port:
                _unique(node_ports, (protocol, node_port), index, f"{at}.nodePort", problems)
        if len(problems) == count and protocol is not None:
            ports[port.name] = ServicePort(protocol, port.port, node_port)
    return ports


def _unique(
    seen: dict[tuple[L4Protocol, int], int],
    key: tuple[L4Protocol, int],
    index: int,
    at: str,
    problems: list[str],
) -> None:
    if key in seen:
        problems.append(f"{at}: {key[0].value} {key[1]} is also used by spec.ports[{seen[key]}]")
    else:
        seen[key] = index


def _affinity(service: Service, where: str, problems: list[str]) -> int:
    if service.session_affinity in _NO_AFFINITY:
        return 0
    if service.session_affinity != "ClientIP":
        problems.append(
            f"{where} spec.sessionAffinity: {service.session_affinity!r} is not None or ClientIP"
        )
        return 0
    timeout = service.session_affinity_timeout or DEFAULT_AFFINITY_TIMEOUT
    if not 1 <= timeout <= MAX_AFFINITY_TIMEOUT:
        problems.append(
            f"{where} spec.sessionAffinityConfig.clientIP.timeoutSeconds: {timeout} is out of "
            f"range 1..{MAX_AFFINITY_TIMEOUT}"
        )
    return timeout


def _cluster_ips(service: Service, where: str, problems: list[str]) -> tuple[IPAddress, ...]:
    if service.cluster_ips:
        given = list(service.cluster_ips)
        at = [f"{where} spec.clusterIPs[{i}]" for i in range(len(given))]
    else:
        given = [service.cluster_ip]
        at = [f"{where} spec.clusterIP"]
    found: list[IPAddress] = []
    for text, field_at in zip(given, at, strict=True):
        if text.strip() in _HEADLESS:
            continue
        ip = _ip(text, field_at, problems)
        if ip is not None:
            found.append(ip)
    return sorted_ips(found)


def _ips(texts: Iterable[str], at: str, problems: list[str]) -> tuple[IPAddress, ...]:
    found = [_ip(text, f"{at}[{i}]", problems) for i, text in enumerate(texts)]
    return sorted_ips(ip for ip in found if ip is not None)


def _ip(text: str, at: str, problems: list[str]) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        problems.append(f"{at}: {text!r} is not an IP address")
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        problems.append(f"{at}: {text!r} has a zone (an IPv6 scope), which a service IP cannot")
        return None
    return ip


# -- the Endpoints --------------------------------------------------------------------------


def _backends(
    ports: Mapping[str, ServicePort],
    endpoints: Endpoints | None,
    facts: _Facts,
    service: Service,
) -> tuple[dict[str, tuple[Backend, ...]], list[str]]:
    found: dict[str, set[Backend]] = {name: set() for name in ports}
    problems: list[str] = []
    if endpoints is None:
        return dict.fromkeys(ports, ()), problems
    where = f"Endpoints {endpoints.namespace}/{endpoints.name}"
    by_name = {p.name: p for p in service.ports}
    for s_index, subset in enumerate(endpoints.subsets):
        at = f"{where} subsets[{s_index}]"
        ips = [
            _ip(address.ip, f"{at}.addresses[{a_index}].ip", problems)
            for a_index, address in enumerate(subset.addresses)
        ]
        backends_ips = [ip for ip in ips if ip is not None]
        for p_index, port in enumerate(subset.ports):
            wanted = by_name.get(port.name)
            if wanted is None:
                continue  # a port the service does not have (any more)
            port_at = f"{at}.ports[{p_index}]"
            if not 1 <= port.port <= 65535:
                problems.append(f"{port_at}.port: {port.port} is out of range 1..65535")
                continue
            if port.protocol != wanted.protocol:
                problems.append(
                    f"{port_at}.protocol: {_protocol_name(port.protocol)}, but the service's "
                    f"port {port.name!r} is {_protocol_name(wanted.protocol)}"
                )
                continue
            if port.name in found:  # else the service port itself is refused
                _add_backends(found[port.name], backends_ips, port.port, facts)
    return _ordered(found), problems


def _add_backends(into: set[Backend], ips: Sequence[IPAddress], port: int, facts: _Facts) -> None:
    into.update(
        Backend(ip, port, local=facts.local.is_local(ip), host_network=_host_network(ip, facts))
        for ip in ips
    )


def _ordered(found: Mapping[str, set[Backend]]) -> dict[str, tuple[Backend, ...]]:
    """Each port's backends in address order (so equal joins compare equal)."""
    return {
        name: tuple(sorted(backends, key=lambda b: (ip_order(b.ip), b.port)))
        for name, backends in found.items()
    }


def _slice_backends(
    ports: Mapping[str, ServicePort],
    slices: Sequence[EndpointSlice],
    facts: _Facts,
    service: Service,
) -> tuple[dict[str, tuple[Backend, ...]], list[str]]:
    """The backends of each service port from the service's slices (see the module doc)."""
    found: dict[str, set[Backend]] = {name: set() for name in ports}
    problems: list[str] = []
    by_name = {p.name: p for p in service.ports}
    for one in sorted(slices, key=lambda s: s.name):
        if one.address_type == "FQDN":
            continue  # names, not addresses: nothing NAT can balance to
        at = f"EndpointSlice {one.namespace}/{one.name}"
        ips: list[IPAddress] = []
        for e_index, endpoint in enumerate(one.endpoints):
            if endpoint.ready is False:
                continue
            for a_index, text in enumerate(endpoint.addresses):
                ip = _ip(text, f"{at} endpoints[{e_index}].addresses[{a_index}]", problems)
                if ip is not None:
                    ips.append(ip)
        if not ips:
            continue
        for p_index, port in enumerate(one.ports):
            number = _slice_port(port, by_name, f"{at} ports[{p_index}]", problems)
            if number is not None and port.name in found:
                _add_backends(found[port.name], ips, number, facts)
    return _ordered(found), problems


def _slice_port(
    port: EndpointPort,
    by_name: Mapping[str, K8sServicePort],
    at: str,
    problems: list[str],
) -> int | None:
    """The number of a slice port that serves a port of the service, None when it does not
    (another port, or one without a number: "every port", which NAT cannot map)."""
    wanted = by_name.get(port.name)
    if wanted is None or not port.port:
        return None
    if not 1 <= port.port <= 65535:
        problems.append(f"{at}.port: {port.port} is out of range 1..65535")
        return None
    if port.protocol != wanted.protocol:
        problems.append(
            f"{at}.protocol: {_protocol_name(port.protocol)}, but the service's "
            f"port {port.name!r} is {_protocol_name(wanted.protocol)}"
        )
        return None
    return port.port


def _host_network(ip: IPAddress, facts: _Facts) -> bool:
    if ip in facts.node_ips or ip in facts.local.ips:
        return True
    subnets = facts.rules.cluster_pod_subnets
    return bool(subnets) and not any(ip in subnet for subnet in subnets)


def _protocol_name(protocol: Protocol) -> str:
    known = _PROTOCOLS.get(protocol)
    return known.value if known is not None else str(int(protocol))
