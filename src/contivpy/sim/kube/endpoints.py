"""A simulated endpoints controller: Endpoints for every Service with a selector.

In: pod and service changes from the stand-in's store. Out: Endpoints objects written through
the API server's write path, as kube-controller-manager keeps them: one per service with a
selector, named like it, with the matching pods of its namespace that have an IP (Ready ones
under ``addresses``, the others under ``notReadyAddresses``), target ports resolved per pod
(named ports looked up in its containers), pods with the same resolved ports grouped in one
subset. Services without a selector are left alone (their Endpoints are written by hand, like
the ``kubernetes`` service's); a deleted service's Endpoints are deleted.

Changes are queued and handled by one task, never inside the store's change notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from contivpy.sim.kube.apiserver import ApiServer
from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.objects import JsonObject, labels_of, metadata_of, name_of, namespace_of
from contivpy.sim.kube.store import StoreEvent

log = structlog.get_logger(__name__)

PODS = ("", "pods")
SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")


def _ready(pod: JsonObject) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _resolve_port(pod: JsonObject, target: Any) -> int | None:
    if isinstance(target, int):
        return target
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def endpoint_subsets(service: JsonObject, pods: list[JsonObject]) -> list[JsonObject]:
    """The subsets of a service's Endpoints, given the pods of its namespace."""
    spec = service.get("spec") or {}
    selector: dict[str, str] = spec.get("selector") or {}
    groups: dict[tuple[tuple[str, int, str], ...], JsonObject] = {}
    for pod in pods:
        status = pod.get("status") or {}
        labels = labels_of(pod)
        if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed"):
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        ports = []
        for port in spec.get("ports") or []:
            number = _resolve_port(pod, port.get("targetPort", port.get("port")))
            if number is not None:
                ports.append((str(port.get("name", "")), number, str(port.get("protocol", "TCP"))))
        key = tuple(ports)
        subset = groups.setdefault(
            key,
            {"ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in key]},
        )
        address: JsonObject = {
            "ip": status["podIP"],
            "nodeName": (pod.get("spec") or {}).get("nodeName", ""),
            "targetRef": {
                "kind": "Pod",
                "namespace": namespace_of(pod),
                "name": name_of(pod),
                "uid": metadata_of(pod).get("uid"),
            },
        }
        subset.setdefault("addresses" if _ready(pod) else "notReadyAddresses", []).append(address)
    for subset in groups.values():
        for field in ("ports", "addresses", "notReadyAddresses"):
            if field in subset and not subset[field]:
                del subset[field]
    return [groups[k] for k in sorted(groups)]


class EndpointsController:
    """Keeps Endpoints in step with services and pods, over one API server."""

    def __init__(self, api: ApiServer) -> None:
        self._api = api
        self._endpoints = api.resource("v1", "Endpoints")
        self._dirty: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (namespace, service)
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        store = self._api.store
        store.observe(PODS, self._on_pod)
        store.observe(SERVICES, self._on_service)
        for service in store.objects(SERVICES):
            self._dirty.put_nowait((namespace_of(service), name_of(service)))
        self._worker = asyncio.create_task(self._work(), name="endpoints-controller")

    async def stop(self) -> None:
        store = self._api.store
        store.unobserve(PODS, self._on_pod)
        store.unobserve(SERVICES, self._on_service)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _on_service(self, event: StoreEvent) -> None:
        self._dirty.put_nowait((namespace_of(event.obj), name_of(event.obj)))

    def _on_pod(self, event: StoreEvent) -> None:
        namespace = namespace_of(event.obj)
        for service in self._api.store.objects(SERVICES, namespace):
            if (service.get("spec") or {}).get("selector"):
                self._dirty.put_nowait((namespace, name_of(service)))

    async def _work(self) -> None:
        while True:
            namespace, name = await self._dirty.get()
            try:
                self._sync(namespace, name)
            except KubeApiError as error:
                log.warning("kube.endpoints.write_failed", service=name, error=error.message)

    def _sync(self, namespace: str, name: str) -> None:
        store, writer = self._api.store, self._api.writer
        service = store.get(SERVICES, namespace, name)
        current = store.get(ENDPOINTS, namespace, name)
        if service is None:
            if current is not None:
                writer.delete(self._endpoints, namespace, name)
            return
        if not (service.get("spec") or {}).get("selector"):
            return
        desired: JsonObject = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": namespace, "labels": labels_of(service)},
            "subsets": endpoint_subsets(service, store.objects(PODS, namespace)),
        }
        if current is None:
            writer.create(self._endpoints, namespace, desired)
        elif current.get("subsets", []) != desired["subsets"] or labels_of(current) != labels_of(
            service
        ):
            writer.replace(self._endpoints, namespace, name, desired)
