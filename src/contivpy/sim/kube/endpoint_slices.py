"""The EndpointSlices kube-controller-manager's endpointslice controller would want for a Service.

In: one Service with a selector and the pods of its namespace (JSON as stored). Out: the
slices it should have (``desired_slices``), without names: one per address family of the
service (``spec.ipFamilies``, IPv4 when unset) and set of resolved ports, at most
``MAX_ENDPOINTS`` endpoints each, labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`` (with the
service's own labels), owned by the service; each endpoint one pod IP of that family with the
``ready`` (Ready and not terminating, or the service publishes not-ready addresses),
``serving`` (Ready) and ``terminating`` (being deleted) conditions, ``nodeName`` and a
``targetRef`` to the pod. A service whose pods match none gets one empty slice of its first
family (the controller's placeholder). ``slice_key`` says which existing slice a desired one
may replace (same family and ports).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from contivpy.sim.kube.objects import JsonObject, labels_of, metadata_of, name_of, namespace_of

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100  # kube-controller-manager's --max-endpoints-per-slice default

_PortKey = tuple[tuple[str, int, str], ...]


def pod_ready(pod: JsonObject) -> bool:
    """Whether the pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def resolve_port(pod: JsonObject, target: Any) -> int | None:
    """A service port's targetPort in one pod (a name looked up in its containers)."""
    if isinstance(target, int):
        return target
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def _family(ip: str) -> str | None:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return None


def _pod_ips(pod: JsonObject) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(item.get("ip", "")) for item in status.get("podIPs") or []]
    return [ip for ip in ips if ip] or ([status["podIP"]] if status.get("podIP") else [])


def slice_key(endpoint_slice: JsonObject) -> tuple[str, _PortKey]:
    """What a slice serves: its address type and ports (a desired slice may replace an
    existing one with the same key)."""
    ports = tuple(
        (str(p.get("name", "")), int(p.get("port", 0)), str(p.get("protocol", "TCP")))
        for p in endpoint_slice.get("ports") or []
    )
    return str(endpoint_slice.get("addressType", "")), ports


def desired_slices(service: JsonObject, pods: list[JsonObject]) -> list[JsonObject]:
    """The slices ``service`` should have (see the module doc), in a stable order."""
    spec = service.get("spec") or {}
    selector: dict[str, str] = spec.get("selector") or {}
    families: list[str] = spec.get("ipFamilies") or ["IPv4"]
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[str, _PortKey], list[JsonObject]] = {}
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            continue
        if any(labels_of(pod).get(k) != v for k, v in selector.items()):
            continue
        ports: list[tuple[str, int, str]] = []
        for port in spec.get("ports") or []:
            number = resolve_port(pod, port.get("targetPort", port.get("port")))
            if number is not None:
                ports.append((str(port.get("name", "")), number, str(port.get("protocol", "TCP"))))
        for ip in _pod_ips(pod):
            family = _family(ip)
            if family in families:
                groups.setdefault((family, tuple(ports)), []).append(_endpoint(pod, ip))
    if not groups:
        return [_slice(service, families[0], (), [])]
    found = []
    for (family, ports_key), endpoints in sorted(groups.items()):
        endpoints.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["name"]))
        for start in range(0, len(endpoints), MAX_ENDPOINTS):
            chunk = endpoints[start : start + MAX_ENDPOINTS]
            if publish_not_ready:
                for endpoint in chunk:
                    endpoint["conditions"]["ready"] = True
            found.append(_slice(service, family, ports_key, chunk))
    return found


def _endpoint(pod: JsonObject, ip: str) -> JsonObject:
    ready = pod_ready(pod)
    terminating = bool(metadata_of(pod).get("deletionTimestamp"))
    endpoint: JsonObject = {
        "addresses": [ip],
        "conditions": {
            "ready": ready and not terminating,
            "serving": ready,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": namespace_of(pod),
            "name": name_of(pod),
            "uid": metadata_of(pod).get("uid"),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def _slice(
    service: JsonObject, family: str, ports: _PortKey, endpoints: list[JsonObject]
) -> JsonObject:
    name = name_of(service)
    labels = {
        **labels_of(service),
        SERVICE_NAME_LABEL: name,
        MANAGED_BY_LABEL: MANAGED_BY,
    }
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{name}-",
            "namespace": namespace_of(service),
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": name,
                    "uid": metadata_of(service).get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": family,
        "endpoints": endpoints,
        "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
    }


def same_content(current: JsonObject, desired: JsonObject) -> bool:
    """Whether an existing slice already says what ``desired`` says."""
    return (
        labels_of(current) == labels_of(desired)
        and current.get("addressType") == desired.get("addressType")
        and (current.get("endpoints") or []) == desired["endpoints"]
        and (current.get("ports") or []) == desired["ports"]
    )
