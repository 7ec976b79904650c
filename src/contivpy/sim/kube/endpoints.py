"""A simulated endpoints controller: Endpoints and EndpointSlices for every Service with a selector.

In: pod, service and EndpointSlice changes from the stand-in's store. Out: Endpoints and
EndpointSlice objects written through the API server's write path, as kube-controller-manager's
endpoints and endpointslice controllers keep them. Endpoints: one per service with a
selector, named like it, with the matching pods of its namespace that have an IP (Ready ones
under ``addresses``, the others under ``notReadyAddresses``), target ports resolved per pod
(named ports looked up in its containers), pods with the same resolved ports grouped in one
subset. Services without a selector are left alone (their Endpoints are written by hand, like
the ``kubernetes`` service's); a deleted service's Endpoints are deleted.
EndpointSlices: those of ``endpoint_slices.desired_slices``, named ``<service>-<random>``; an
existing slice the controller manages is replaced in place when one with its address type and
ports is wanted, created or deleted otherwise; a managed slice deleted by hand is written
again; a deleted service's managed slices are deleted (the garbage collector's work, through
their owner reference). Slices managed by others, or of services without a selector, are
left alone.

Changes are queued and handled by one task, never inside the store's change notification.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from contivpy.sim.kube.apiserver import ApiServer
from contivpy.sim.kube.endpoint_slices import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    desired_slices,
    pod_ready,
    resolve_port,
    same_content,
    slice_key,
)
from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.objects import JsonObject, labels_of, metadata_of, name_of, namespace_of
from contivpy.sim.kube.store import StoreEvent

log = structlog.get_logger(__name__)

PODS = ("", "pods")
SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")
SLICES = ("discovery.k8s.io", "endpointslices")


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
            number = resolve_port(pod, port.get("targetPort", port.get("port")))
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
        subset.setdefault("addresses" if pod_ready(pod) else "notReadyAddresses", []).append(
            address
        )
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
        self._slices = api.resource("discovery.k8s.io/v1", "EndpointSlice")
        # (namespace, service) -> names of the slices this controller manages for it
        self._owned: dict[tuple[str, str], set[str]] = {}
        self._dirty: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (namespace, service)
        self._worker: asyncio.Task[None] | None = None
        self._writing = False  # our own slice writes: no need to sync again

    async def start(self) -> None:
        store = self._api.store
        store.observe(PODS, self._on_pod)
        store.observe(SERVICES, self._on_service)
        store.observe(SLICES, self._on_slice)
        for endpoint_slice in store.objects(SLICES):
            owner = _managed_owner(endpoint_slice)
            if owner is not None:
                self._owned.setdefault(owner, set()).add(name_of(endpoint_slice))
        for service in store.objects(SERVICES):
            self._dirty.put_nowait((namespace_of(service), name_of(service)))
        self._worker = asyncio.create_task(self._work(), name="endpoints-controller")

    async def stop(self) -> None:
        store = self._api.store
        store.unobserve(PODS, self._on_pod)
        store.unobserve(SERVICES, self._on_service)
        store.unobserve(SLICES, self._on_slice)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _on_service(self, event: StoreEvent) -> None:
        self._dirty.put_nowait((namespace_of(event.obj), name_of(event.obj)))

    def _on_slice(self, event: StoreEvent) -> None:
        """Keep the index of managed slices; a managed slice deleted or changed by someone
        else gets its service synced (written again if still wanted)."""
        for obj, present in ((event.previous, False), (event.obj, event.type != "DELETED")):
            owner = None if obj is None else _managed_owner(obj)
            if owner is None or obj is None:
                continue
            names = self._owned.setdefault(owner, set())
            if present:
                names.add(name_of(obj))
            else:
                names.discard(name_of(obj))
                if not names:
                    del self._owned[owner]
        owner = _managed_owner(event.obj)
        if owner is not None and not self._writing:
            self._dirty.put_nowait(owner)

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
                self._sync_slices(namespace, name)
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

    def _sync_slices(self, namespace: str, name: str) -> None:
        store, writer = self._api.store, self._api.writer
        service = store.get(SERVICES, namespace, name)
        owned = sorted(self._owned.get((namespace, name), ()))
        current = [o for o in (store.get(SLICES, namespace, n) for n in owned) if o is not None]
        if service is not None and not (service.get("spec") or {}).get("selector"):
            return
        desired = [] if service is None else desired_slices(service, store.objects(PODS, namespace))
        # Like the real reconciler: a slice with the wanted address type and ports is
        # updated in place; one whose ports no longer fit (the placeholder among them) is
        # reused for a new set of ports of its address type rather than deleted and created.
        reusable: dict[tuple[object, ...], list[JsonObject]] = {}
        for present in current:
            reusable.setdefault(slice_key(present), []).append(present)
        unmatched: list[tuple[JsonObject, JsonObject | None]] = []
        for wanted in desired:
            candidates = reusable.get(slice_key(wanted))
            unmatched.append((wanted, candidates.pop(0) if candidates else None))
        spare = [o for group in reusable.values() for o in group]
        self._writing = True
        try:
            for wanted, matched in unmatched:
                family = wanted["addressType"]
                existing = matched or next(
                    (o for o in spare if o.get("addressType") == family), None
                )
                if existing is None:
                    writer.create(self._slices, namespace, wanted)
                    continue
                if matched is None:
                    spare.remove(existing)
                if not same_content(existing, wanted):
                    self._replace_slice(existing, wanted)
            for leftover in spare:
                writer.delete(self._slices, namespace, name_of(leftover))
        finally:
            self._writing = False

    def _replace_slice(self, existing: JsonObject, wanted: JsonObject) -> None:
        metadata = {k: v for k, v in wanted["metadata"].items() if k != "generateName"}
        metadata["name"] = name_of(existing)
        metadata["resourceVersion"] = metadata_of(existing).get("resourceVersion")
        body = {**wanted, "metadata": metadata}
        self._api.writer.replace(self._slices, namespace_of(existing), name_of(existing), body)


def _managed_owner(endpoint_slice: JsonObject) -> tuple[str, str] | None:
    """(namespace, service) of a slice this controller manages, None for any other."""
    labels = labels_of(endpoint_slice)
    service = labels.get(SERVICE_NAME_LABEL)
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or not service:
        return None
    return namespace_of(endpoint_slice), service
