"""Defaults and allocations the API server fills in on create and update.

In: a resource type, the object being written, the stored object on update, and the store (to
see which cluster IPs and node ports are taken). Out: the object with defaults set. What the
reflector and the agent read from these fields (a service's clusterIP, a pod's phase) must look
as it does in a cluster, so the common defaults are here; the long tail is not.

- Pod: restartPolicy, dnsPolicy, schedulerName, terminationGracePeriodSeconds, port protocols,
  status.phase Pending (status is reset on create).
- Service: type ClusterIP, sessionAffinity None, port protocol and targetPort, a clusterIP from
  the service CIDR (unless headless or ExternalName), node ports for NodePort/LoadBalancer;
  allocated values are kept from the stored service when an update omits them.
- Namespace: status.phase Active and the kubernetes.io/metadata.name label.
- Secret: type Opaque; stringData merged into data (base64) and dropped, as the server does.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
from typing import Any

from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.objects import JsonObject, name_of
from contivpy.sim.kube.resources import ResourceType
from contivpy.sim.kube.store import ObjectStore

NODE_PORT_RANGE = range(30000, 32768)


def _default_ports(ports: Any, *, service: bool) -> None:
    if not isinstance(ports, list):
        return
    for port in ports:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if service and "port" in port:
                port.setdefault("targetPort", port["port"])


def _secret(secret: JsonObject) -> None:
    """type Opaque by default; stringData is write-only: merged into data as base64."""
    secret.setdefault("type", "Opaque")
    plain = secret.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        found = secret.get("data")
        data = found if isinstance(found, dict) else {}
        encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in plain.items()}
        secret["data"] = {**data, **encoded}


class Defaulter:
    """Fills defaults; allocates service cluster IPs and node ports from what the store holds."""

    def __init__(self, store: ObjectStore, service_cidr: str = "10.96.0.0/12") -> None:
        self._store = store
        self._service_network = ipaddress.ip_network(service_cidr)

    def apply(
        self, resource_type: ResourceType, obj: JsonObject, old: JsonObject | None
    ) -> JsonObject:
        """A defaulted copy of ``obj``; ``old`` is the stored object on update."""
        result = copy.deepcopy(obj)
        match resource_type.key:
            case ("", "pods"):
                self._pod(result, creating=old is None)
            case ("", "services"):
                self._service(result, old)
            case ("", "secrets"):
                _secret(result)
            case ("", "namespaces"):
                result.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                result.setdefault("status", {}).setdefault("phase", "Active")
                labels = result["metadata"].setdefault("labels", {})
                labels["kubernetes.io/metadata.name"] = name_of(result)
        return result

    def _pod(self, pod: JsonObject, *, creating: bool) -> None:
        spec = pod.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        for container in spec.get("containers") or []:
            if isinstance(container, dict):
                _default_ports(container.get("ports"), service=False)
        if creating:
            pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def _service(self, service: JsonObject, old: JsonObject | None) -> None:
        spec = service.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        service_type = spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        _default_ports(spec.get("ports"), service=True)
        if service_type == "ExternalName":
            return
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or self._free_cluster_ip()
        if spec["clusterIP"] != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if service_type in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
            chosen: set[int] = set()
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and not port.get("nodePort"):
                    port["nodePort"] = old_ports.get(port.get("port")) or self._free_node_port(
                        chosen
                    )
                    chosen.add(port["nodePort"])
        service.setdefault("status", {}).setdefault("loadBalancer", {})

    def _services(self) -> list[JsonObject]:
        return self._store.objects(("", "services"))

    def _free_cluster_ip(self) -> str:
        taken = {(s.get("spec") or {}).get("clusterIP") for s in self._services()}
        # .1 is the kubernetes service's address in every cluster; hand out from .2 on.
        for index, address in enumerate(self._service_network.hosts()):
            if index >= 1 and str(address) not in taken:
                return str(address)
        raise KubeApiError(500, "InternalError", "no free cluster IP in the service range")

    def _free_node_port(self, chosen: set[int]) -> int:
        taken = chosen | {
            p.get("nodePort")
            for s in self._services()
            for p in (s.get("spec") or {}).get("ports") or []
            if isinstance(p, dict)
        }
        for port in NODE_PORT_RANGE:
            if port not in taken:
                return port
        raise KubeApiError(500, "InternalError", "no free node port")

    def kubernetes_service_ip(self) -> str:
        """The first address of the service range: the ``kubernetes`` service's clusterIP."""
        return str(next(iter(self._service_network.hosts())))
