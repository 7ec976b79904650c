"""Kubernetes objects (JSON as the API server sends them) to the stored models. Pure.

In: a resource keyword (``pod``, ``service``, ``customnetwork``, ...) and one object. Out: its
model (``contivpy.models.k8s_codec``), or ``ConversionError`` naming the resource, the object
and the field when the object has a field of the wrong type or an unknown enum value. The
built-in kinds are converted here, the contivpp.io custom resources in ``converting_custom``.

What is kept follows Contiv-VPP's KSR (shared/reference/contiv-vpp.md §2.2), plus what a CNI
needs that Contiv lost: a pod's node name, host-network flag, phase and every pod IP; a
NetworkPolicy peer keeps its namespace and pod selectors together (Contiv kept only the first
one present); dual-stack service cluster IPs and node pod CIDRs. An EndpointSlice keeps its
service (label ``kubernetes.io/service-name``), address type, endpoints (addresses, the
ready/serving/terminating conditions as given, unset ones unset, node, zone, target) and
ports. Only annotations whose key starts with ``contivpp.io`` are kept. A ClientIP-affinity
service without a timeout gets the Kubernetes default of 10800 s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contivpy.models.k8s_codec import (
    Container,
    ContainerPort,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    IntOrString,
    IpBlock,
    K8sModel,
    LabelExpression,
    LabelOperator,
    LabelSelector,
    Namespace,
    Node,
    NodeAddress,
    NodeSystemInfo,
    ObjectReference,
    Pod,
    Policy,
    PolicyEgressRule,
    PolicyIngressRule,
    PolicyPeer,
    PolicyPort,
    PolicyType,
    Protocol,
    Service,
    ServicePort,
    SliceEndpoint,
)
from contivpy.reflector.converting_custom import (
    custom_configuration,
    custom_network,
    external_interface,
    service_function_chain,
)
from contivpy.reflector.errors import ConversionError
from contivpy.reflector.json_reading import FieldProblem, JsonReader

ANNOTATION_PREFIX = "contivpp.io"
DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds; Kubernetes' default for ClientIP affinity


_PROTOCOLS = {"TCP": Protocol.TCP, "UDP": Protocol.UDP, "SCTP": Protocol.SCTP}
_OPERATORS = {
    "In": LabelOperator.IN,
    "NotIn": LabelOperator.NOT_IN,
    "Exists": LabelOperator.EXISTS,
    "DoesNotExist": LabelOperator.DOES_NOT_EXIST,
}


def object_name(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(name, namespace) from the object's metadata; ``FieldProblem`` when unusable."""
    meta = JsonReader(obj).child_or_empty("metadata")
    name = meta.text("name")
    if not name:
        raise FieldProblem("metadata.name", "missing")
    return name, meta.text("namespace")


def convert(resource: str, obj: Mapping[str, Any]) -> K8sModel:
    """The model of ``obj``, a Kubernetes object of ``resource``."""
    try:
        name, namespace = object_name(obj)
    except FieldProblem as problem:
        raise ConversionError(resource, "(unnamed)", str(problem)) from problem
    label = f"{namespace}/{name}" if namespace else name
    try:
        return _CONVERTERS[resource](JsonReader(obj), name, namespace)
    except FieldProblem as problem:
        raise ConversionError(resource, label, str(problem)) from problem


def _protocol(reader: JsonReader) -> Protocol:
    return reader.choice("protocol", _PROTOCOLS, "TCP")


def _port_ref(reader: JsonReader, field: str) -> IntOrString | None:
    value = reader.int_or_string(field)
    if value is None:
        return None
    return IntOrString(name=value) if isinstance(value, str) else IntOrString(number=value)


def _annotations(meta: JsonReader) -> dict[str, str]:
    return {
        k: v for k, v in meta.text_map("annotations").items() if k.startswith(ANNOTATION_PREFIX)
    }


# --- core/v1 -------------------------------------------------------------------------------


def _pod(obj: JsonReader, name: str, namespace: str) -> Pod:
    meta, spec, status = (obj.child_or_empty(f) for f in ("metadata", "spec", "status"))
    ip = status.text("podIP")
    ips = [item.text("ip") for item in status.children("podIPs")] or ([ip] if ip else [])
    return Pod(
        name=name,
        namespace=namespace,
        labels=meta.text_map("labels"),
        annotations=_annotations(meta),
        ip_address=ip,
        ip_addresses=[i for i in ips if i],
        host_ip_address=status.text("hostIP"),
        node_name=spec.text("nodeName"),
        host_network=spec.flag("hostNetwork"),
        phase=status.text("phase"),
        containers=[_container(c) for c in spec.children("containers")],
    )


def _container(container: JsonReader) -> Container:
    return Container(
        name=container.text("name"),
        ports=[
            ContainerPort(
                name=port.text("name"),
                host_port=port.integer("hostPort", minimum=0, maximum=65535),
                container_port=port.integer("containerPort", minimum=0, maximum=65535),
                protocol=_protocol(port),
                host_ip_address=port.text("hostIP"),
            )
            for port in container.children("ports")
        ],
    )


def _namespace(obj: JsonReader, name: str, namespace: str) -> Namespace:
    return Namespace(name=name, labels=obj.child_or_empty("metadata").text_map("labels"))


def _node(obj: JsonReader, name: str, namespace: str) -> Node:
    spec, status = obj.child_or_empty("spec"), obj.child_or_empty("status")
    info = status.child("nodeInfo")
    return Node(
        name=name,
        pod_cidr=spec.text("podCIDR"),
        pod_cidrs=spec.texts("podCIDRs"),
        provider_id=spec.text("providerID"),
        addresses=[
            NodeAddress(type=a.text("type"), address=a.text("address"))
            for a in status.children("addresses")
        ],
        node_info=None if info is None else _node_info(info),
    )


def _node_info(info: JsonReader) -> NodeSystemInfo:
    return NodeSystemInfo(
        machine_id=info.text("machineID"),
        system_uuid=info.text("systemUUID"),
        boot_id=info.text("bootID"),
        kernel_version=info.text("kernelVersion"),
        os_image=info.text("osImage"),
        container_runtime_version=info.text("containerRuntimeVersion"),
        kubelet_version=info.text("kubeletVersion"),
        kube_proxy_version=info.text("kubeProxyVersion"),
        operating_system=info.text("operatingSystem"),
        architecture=info.text("architecture"),
    )


def _service(obj: JsonReader, name: str, namespace: str) -> Service:
    meta, spec, status = (obj.child_or_empty(f) for f in ("metadata", "spec", "status"))
    affinity = spec.text("sessionAffinity")
    timeout = 0
    client_ip = spec.child_or_empty("sessionAffinityConfig").child("clientIP")
    if client_ip is not None:
        timeout = client_ip.integer("timeoutSeconds", minimum=0)
    if affinity == "ClientIP" and not timeout:
        timeout = DEFAULT_AFFINITY_TIMEOUT
    ingress = status.child_or_empty("loadBalancer").children("ingress")
    return Service(
        name=name,
        namespace=namespace,
        annotations=_annotations(meta),
        ports=[
            ServicePort(
                name=port.text("name"),
                protocol=_protocol(port),
                port=port.integer("port", minimum=0, maximum=65535),
                target_port=_port_ref(port, "targetPort"),
                node_port=port.integer("nodePort", minimum=0, maximum=65535),
            )
            for port in spec.children("ports")
        ],
        selector=spec.text_map("selector"),
        cluster_ip=spec.text("clusterIP"),
        cluster_ips=spec.texts("clusterIPs"),
        service_type=spec.text("type", "ClusterIP"),
        external_ips=spec.texts("externalIPs"),
        lb_ingress_ips=[ip for ip in (i.text("ip") for i in ingress) if ip],
        session_affinity=affinity,
        session_affinity_timeout=timeout,
        loadbalancer_ip=spec.text("loadBalancerIP"),
        loadbalancer_source_ranges=spec.texts("loadBalancerSourceRanges"),
        external_traffic_policy=spec.text("externalTrafficPolicy"),
        health_check_node_port=spec.integer("healthCheckNodePort", minimum=0, maximum=65535),
    )


def _endpoints(obj: JsonReader, name: str, namespace: str) -> Endpoints:
    return Endpoints(
        name=name,
        namespace=namespace,
        subsets=[
            EndpointSubset(
                addresses=[_endpoint_address(a) for a in subset.children("addresses")],
                not_ready_addresses=[
                    _endpoint_address(a) for a in subset.children("notReadyAddresses")
                ],
                ports=[
                    EndpointPort(
                        name=port.text("name"),
                        port=port.integer("port", minimum=0, maximum=65535),
                        protocol=_protocol(port),
                    )
                    for port in subset.children("ports")
                ],
            )
            for subset in obj.children("subsets")
        ],
    )


def _endpoint_address(address: JsonReader) -> EndpointAddress:
    return EndpointAddress(
        ip=address.text("ip"),
        host_name=address.text("hostname"),
        node_name=address.text("nodeName"),
        target_ref=_object_reference(address.child("targetRef")),
    )


def _object_reference(ref: JsonReader | None) -> ObjectReference | None:
    if ref is None:
        return None
    return ObjectReference(
        kind=ref.text("kind"),
        namespace=ref.text("namespace"),
        name=ref.text("name"),
        uid=ref.text("uid"),
        api_version=ref.text("apiVersion"),
        resource_version=ref.text("resourceVersion"),
    )


# --- discovery.k8s.io/v1 -------------------------------------------------------------------

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _endpoint_slice(obj: JsonReader, name: str, namespace: str) -> EndpointSlice:
    labels = obj.child_or_empty("metadata").text_map("labels")
    return EndpointSlice(
        name=name,
        namespace=namespace,
        service_name=labels.get(SERVICE_NAME_LABEL, ""),
        address_type=obj.text("addressType"),
        endpoints=[_slice_endpoint(e) for e in obj.children("endpoints")],
        ports=[
            EndpointPort(
                name=port.text("name"),
                port=port.integer("port", minimum=0, maximum=65535),
                protocol=_protocol(port),
            )
            for port in obj.children("ports")
        ],
    )


def _slice_endpoint(endpoint: JsonReader) -> SliceEndpoint:
    conditions = endpoint.child_or_empty("conditions")
    return SliceEndpoint(
        addresses=endpoint.texts("addresses"),
        ready=_condition(conditions, "ready"),
        serving=_condition(conditions, "serving"),
        terminating=_condition(conditions, "terminating"),
        host_name=endpoint.text("hostname"),
        node_name=endpoint.text("nodeName"),
        zone=endpoint.text("zone"),
        target_ref=_object_reference(endpoint.child("targetRef")),
    )


def _condition(conditions: JsonReader, field: str) -> bool | None:
    """A condition as given: unset (absent or null) stays unset, the API's "unknown"."""
    if conditions.raw(field) is None:
        return None
    return conditions.flag(field)


# --- networking.k8s.io/v1 ------------------------------------------------------------------


def _policy(obj: JsonReader, name: str, namespace: str) -> Policy:
    meta, spec = obj.child_or_empty("metadata"), obj.child_or_empty("spec")
    return Policy(
        name=name,
        namespace=namespace,
        labels=meta.text_map("labels"),
        # Required by the API; an absent one would select every pod, like an empty one.
        pod_selector=_selector(spec.child_or_empty("podSelector")),
        policy_type=_policy_type(spec),
        ingress_rules=[
            PolicyIngressRule(ports=_policy_ports(rule), from_=_peers(rule, "from"))
            for rule in spec.children("ingress")
        ],
        egress_rules=[
            PolicyEgressRule(ports=_policy_ports(rule), to=_peers(rule, "to"))
            for rule in spec.children("egress")
        ],
    )


def _policy_type(spec: JsonReader) -> PolicyType:
    types = spec.texts("policyTypes")
    for index, value in enumerate(types):
        if value not in ("Ingress", "Egress"):
            raise FieldProblem(f"{spec.here('policyTypes')}[{index}]", f"unknown value {value!r}")
    ingress, egress = "Ingress" in types, "Egress" in types
    if ingress and egress:
        return PolicyType.INGRESS_AND_EGRESS
    if egress:
        return PolicyType.EGRESS
    return PolicyType.INGRESS if ingress else PolicyType.DEFAULT


def _policy_ports(rule: JsonReader) -> list[PolicyPort]:
    return [
        PolicyPort(
            protocol=_protocol(port),
            port=_port_ref(port, "port"),
            end_port=port.integer("endPort", minimum=0, maximum=65535),
        )
        for port in rule.children("ports")
    ]


def _peers(rule: JsonReader, field: str) -> list[PolicyPeer]:
    peers = []
    for peer in rule.children(field):
        pods, namespaces, block = (
            peer.child(f) for f in ("podSelector", "namespaceSelector", "ipBlock")
        )
        peers.append(
            PolicyPeer(
                pod_selector=None if pods is None else _selector(pods),
                namespace_selector=None if namespaces is None else _selector(namespaces),
                ip_block=None
                if block is None
                else IpBlock(cidr=block.text("cidr"), except_=block.texts("except")),
            )
        )
    return peers


def _selector(selector: JsonReader) -> LabelSelector:
    return LabelSelector(
        match_labels=selector.text_map("matchLabels"),
        match_expressions=[
            LabelExpression(
                key=expression.text("key"),
                operator=expression.choice("operator", _OPERATORS),
                values=expression.texts("values"),
            )
            for expression in selector.children("matchExpressions")
        ],
    )


_CONVERTERS: dict[str, Callable[[JsonReader, str, str], K8sModel]] = {
    "pod": _pod,
    "namespace": _namespace,
    "node": _node,
    "service": _service,
    "endpoints": _endpoints,
    "endpointslice": _endpoint_slice,
    "policy": _policy,
    "customnetwork": custom_network,
    "external-interface": external_interface,
    "servicefunctionchain": service_function_chain,
    "customconfiguration": custom_configuration,
}
