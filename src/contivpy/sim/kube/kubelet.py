"""A simulated scheduler and kubelets: pods get a node, a sandbox network, and Running status.

In: pod and node changes from the stand-in's store, and a pod network callback (see
pod_network.py). Out: writes through the API server's own write path, as the real components
make them over the API: a pods/binding for unscheduled pods, then a status update with
podIP/podIPs, hostIP, phase Running and Ready conditions; or, when the callback fails, a
Warning event FailedCreatePodSandBox and a PodReadyToStartContainers=False condition, retried
with exponential backoff. Host-network pods get the node's address without the callback.
Deleted pods that were networked are handed to the teardown callback.

Pods are reconciled one at a time by one worker; sandbox set-ups run concurrently, one task per
pod. A pod bound to a node that is not registered stays Pending, as with a missing kubelet.
Deletion is immediate (the stand-in has no graceful termination), so teardown runs after the
pod is gone from the API.

Device plugins: a node given a ``KubeletDevicePlugins`` (``attach_device_plugins``) admits a
pod before networking it, as kubelet does: its containers' extended resources in
resources.limits are allocated through the plugins (Allocate). A pod that cannot get them
stays Pending with a Warning event UnexpectedAdmissionError and is tried again when the node's
devices change. The node's status carries the plugins' capacity and allocatable counts; a
deleted pod's devices are freed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from contivpy.async_service import cancel_and_wait
from contivpy.sim.kube.apiserver import ApiServer
from contivpy.sim.kube.device_plugins import KubeletDevicePlugins
from contivpy.sim.kube.devices import AdmissionError
from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.objects import (
    JsonObject,
    deep_copy,
    metadata_of,
    name_of,
    namespace_of,
    utc_timestamp,
)
from contivpy.sim.kube.patching import MERGE_PATCH
from contivpy.sim.kube.pod_network import (
    PodNetworkFailure,
    PodNetworkResult,
    PodNetworkSetup,
    PodNetworkTeardown,
)
from contivpy.sim.kube.scheduling import NodeChooser, Placement
from contivpy.sim.kube.store import StoreEvent

log = structlog.get_logger(__name__)

PODS = ("", "pods")
NODES = ("", "nodes")
_READY_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


@dataclass(frozen=True, slots=True)
class KubeletSettings:
    placement: Placement = "least-pods"
    retry_initial: float = 1.0  # seconds before the second sandbox attempt
    retry_max: float = 30.0  # backoff cap
    max_attempts: int = 5  # sandbox attempts per pod; the pod stays Pending after the last


def node_manifest(
    name: str,
    internal_ip: str,
    pod_cidr: str = "",
    labels: dict[str, str] | None = None,
) -> JsonObject:
    """A Node as a kubelet registers it: Ready, with its InternalIP and hostname."""
    now = utc_timestamp()
    spec: JsonObject = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                **(labels or {}),
            },
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": internal_ip},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "sim://1.0",
                "kernelVersion": "",
                "osImage": "contivpy stand-in",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },
        },
    }


def _node_ip(node: JsonObject | None) -> str:
    for address in ((node or {}).get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address", ""))
    return ""


def _ips(result: str | Sequence[str]) -> list[str]:
    return [result] if isinstance(result, str) else list(result)


def _set_condition(
    status: JsonObject, kind: str, value: str, reason: str = "", message: str = ""
) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    condition: JsonObject = {
        "type": kind,
        "status": value,
        "lastProbeTime": None,
        "lastTransitionTime": utc_timestamp(),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    status["conditions"] = [*conditions, condition]


class KubeletSimulation:
    """Scheduler plus one kubelet per registered node, over one API server."""

    def __init__(
        self,
        api: ApiServer,
        setup: PodNetworkSetup,
        teardown: PodNetworkTeardown | None = None,
        settings: KubeletSettings | None = None,
    ) -> None:
        self._api = api
        self._setup = setup
        self._teardown = teardown
        self._settings = settings or KubeletSettings()
        self._chooser = NodeChooser(self._settings.placement)
        self._pods = api.resource("v1", "Pod")
        self._events = api.resource("v1", "Event")
        self._dirty: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._sandboxes: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._networked: dict[tuple[str, str], JsonObject] = {}  # pods given an address
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._device_plugins: dict[str, KubeletDevicePlugins] = {}  # by node name
        self._refused: dict[tuple[str, str], int] = {}  # pod -> device generation at refusal

    def attach_device_plugins(self, node: str, plugins: KubeletDevicePlugins) -> None:
        """Admit the node's pods through ``plugins`` from now on."""
        self._device_plugins[node] = plugins
        plugins.on_change(lambda: self._devices_changed(node))
        self._devices_changed(node)

    def device_plugins(self, node: str) -> KubeletDevicePlugins | None:
        return self._device_plugins.get(node)

    def _devices_changed(self, node: str) -> None:
        for key in self._refused:
            self._dirty.put_nowait(key)
        # Not from inside a store or stream callback: the status write goes through the store.
        asyncio.get_running_loop().call_soon(self._write_device_capacity, node)

    def _write_device_capacity(self, node_name: str) -> None:
        plugins = self._device_plugins.get(node_name)
        node = self._api.store.get(NODES, "", node_name)
        if plugins is None or node is None:
            return
        status = node.get("status") or {}
        capacity = {r: str(n) for r, n in plugins.devices.capacity().items()}
        allocatable = {r: str(n) for r, n in plugins.devices.allocatable().items()}
        if all(
            (status.get(part) or {}).get(r) == n
            for part, counts in (("capacity", capacity), ("allocatable", allocatable))
            for r, n in counts.items()
        ):
            return
        patch = {"status": {"capacity": capacity, "allocatable": allocatable}}
        try:
            self._api.writer.patch(
                self._api.resource("v1", "Node"),
                "",
                node_name,
                patch,
                MERGE_PATCH,
                subresource="status",
            )
        except KubeApiError as error:
            log.warning("kube.kubelet.node_status_failed", node=node_name, error=error.message)

    async def start(self) -> None:
        store = self._api.store
        store.observe(PODS, self._on_pod)
        store.observe(NODES, self._on_node)
        for pod in store.objects(PODS):
            self._dirty.put_nowait((namespace_of(pod), name_of(pod)))
        self._worker = asyncio.create_task(self._work(), name="kubelet-simulation")

    async def stop(self) -> None:
        store = self._api.store
        store.unobserve(PODS, self._on_pod)
        store.unobserve(NODES, self._on_node)
        tasks = [t for t in (self._worker, *self._sandboxes.values(), *self._background) if t]
        await cancel_and_wait(tasks)
        self._worker = None

    def _on_pod(self, event: StoreEvent) -> None:
        self._dirty.put_nowait((namespace_of(event.obj), name_of(event.obj)))

    def _on_node(self, event: StoreEvent) -> None:
        node = name_of(event.obj)
        if node in self._device_plugins:  # a node registered after its plugins: its capacity
            asyncio.get_running_loop().call_soon(self._write_device_capacity, node)
        for pod in self._api.store.objects(PODS):
            bound_to = (pod.get("spec") or {}).get("nodeName")
            if not bound_to or (bound_to == node and not (pod.get("status") or {}).get("podIP")):
                self._dirty.put_nowait((namespace_of(pod), name_of(pod)))

    async def _work(self) -> None:
        while True:
            key = await self._dirty.get()
            try:
                self._reconcile(key)
            except KubeApiError as error:
                log.warning("kube.kubelet.write_failed", pod="/".join(key), error=error.message)

    def _reconcile(self, key: tuple[str, str]) -> None:
        pod = self._api.store.get(PODS, *key)
        networked = self._networked.get(key)
        if networked is not None and (
            pod is None or metadata_of(pod).get("uid") != metadata_of(networked).get("uid")
        ):
            self._forget(key, networked)
        uid = metadata_of(pod).get("uid") if pod is not None else None
        for plugins in self._device_plugins.values():
            plugins.release(*key, keep_uid=str(uid) if uid else None)
        if pod is None:
            self._refused.pop(key, None)
            return
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        node_name = spec.get("nodeName")
        if not node_name:
            if spec.get("schedulerName", "default-scheduler") == "default-scheduler":
                self._schedule(pod)
            return
        node = self._api.store.get(NODES, "", node_name)
        if node is None or status.get("phase") != "Pending" or status.get("podIP"):
            return
        if spec.get("hostNetwork"):
            self._write_running(pod, [_node_ip(node)])
        elif key not in self._sandboxes and not self._waiting_for_devices(key, node_name):
            task = asyncio.create_task(
                self._run_sandbox(key, deep_copy(pod)), name=f"sandbox-{key[0]}/{key[1]}"
            )
            self._sandboxes[key] = task

    def _waiting_for_devices(self, key: tuple[str, str], node: str) -> bool:
        """Refused admission, and nothing changed in the node's devices since."""
        plugins = self._device_plugins.get(node)
        refused = self._refused.get(key)
        return plugins is not None and refused == plugins.devices.generation

    async def _admit(self, pod: JsonObject) -> bool:
        """The node's device plugins gave the pod its devices (or it needs none)."""
        key = (namespace_of(pod), name_of(pod))
        plugins = self._device_plugins.get((pod.get("spec") or {}).get("nodeName", ""))
        if plugins is None:
            return True
        try:
            await plugins.admit(pod)
        except AdmissionError as error:
            self._refused[key] = plugins.devices.generation
            current = self._api.store.get(PODS, *key)
            if current is not None and metadata_of(current).get("uid") == metadata_of(pod).get(
                "uid"
            ):
                try:
                    self._warn(current, error.reason, error.message, 1)
                except KubeApiError as write_error:
                    log.warning(
                        "kube.kubelet.write_failed", pod="/".join(key), error=write_error.message
                    )
            log.warning("kube.kubelet.admission_refused", pod="/".join(key), error=error.message)
            return False
        self._refused.pop(key, None)
        return True

    def _forget(self, key: tuple[str, str], pod: JsonObject) -> None:
        del self._networked[key]
        task = asyncio.create_task(self._tear_down(pod), name=f"teardown-{key[0]}/{key[1]}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _tear_down(self, pod: JsonObject) -> None:
        if self._teardown is None:
            return
        try:
            await self._teardown(pod)
        except Exception as error:  # a failed teardown is logged; the pod is gone regardless
            log.warning("kube.kubelet.teardown_failed", pod=name_of(pod), error=repr(error))

    def _schedule(self, pod: JsonObject) -> None:
        store = self._api.store
        bound = [p for p in store.objects(PODS) if (p.get("spec") or {}).get("nodeName")]
        node, why = self._chooser.choose(pod, store.objects(NODES), bound)
        if node is not None:
            self._api.writer.bind(namespace_of(pod), name_of(pod), node)
            log.debug("kube.scheduler.bound", pod=f"{namespace_of(pod)}/{name_of(pod)}", node=node)
            return
        status = deep_copy(pod.get("status") or {})
        current: JsonObject = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {}
        )
        if current.get("reason") != "Unschedulable" or current.get("message") != why:
            _set_condition(status, "PodScheduled", "False", "Unschedulable", why)
            self._write_status(pod, status)

    async def _attempt(self, pod: JsonObject) -> PodNetworkResult:
        try:
            return await self._setup(deep_copy(pod))
        except Exception as error:  # the callback's failure is the pod's failure
            return PodNetworkFailure(f"{type(error).__name__}: {error}")

    async def _run_sandbox(self, key: tuple[str, str], pod: JsonObject) -> None:
        settings = self._settings
        delay = settings.retry_initial
        uid = metadata_of(pod).get("uid")
        try:
            if not await self._admit(pod):
                return
            for attempt in range(1, settings.max_attempts + 1):
                result = await self._attempt(pod)
                current = self._api.store.get(PODS, *key)
                if current is None or metadata_of(current).get("uid") != uid:
                    if not isinstance(result, PodNetworkFailure):
                        await self._tear_down(pod)  # the pod went away during set-up
                    return
                try:
                    if not isinstance(result, PodNetworkFailure):
                        self._networked[key] = pod
                        self._write_running(current, _ips(result))
                        return
                    self._record_failure(current, result.message, attempt)
                except KubeApiError as error:
                    log.warning("kube.kubelet.write_failed", pod="/".join(key), error=error.message)
                    return
                if attempt < settings.max_attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, settings.retry_max)
        finally:
            self._sandboxes.pop(key, None)

    def _write_status(self, pod: JsonObject, status: JsonObject) -> None:
        body = {**pod, "status": status}
        self._api.writer.replace(
            self._pods, namespace_of(pod), name_of(pod), body, subresource="status"
        )

    def _write_running(self, pod: JsonObject, ips: list[str]) -> None:
        node = self._api.store.get(NODES, "", (pod.get("spec") or {}).get("nodeName", ""))
        now = utc_timestamp()
        status = deep_copy(pod.get("status") or {})
        for kind in _READY_CONDITIONS:
            _set_condition(status, kind, "True")
        host_ip = _node_ip(node)
        containers = (pod.get("spec") or {}).get("containers") or []
        status.update(
            {
                "phase": "Running",
                "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}] if host_ip else [],
                "podIP": ips[0] if ips else "",
                "podIPs": [{"ip": ip} for ip in ips],
                "startTime": status.get("startTime") or now,
                "containerStatuses": [
                    {
                        "name": c.get("name"),
                        "image": c.get("image"),
                        "imageID": "",
                        "containerID": f"sim://{metadata_of(pod).get('uid')}/{c.get('name')}",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now}},
                        "lastState": {},
                    }
                    for c in containers
                ],
            }
        )
        self._write_status(pod, status)
        log.info("kube.kubelet.pod_running", pod=f"{namespace_of(pod)}/{name_of(pod)}", ips=ips)

    def _record_failure(self, pod: JsonObject, message: str, attempt: int) -> None:
        text = f"Failed to create pod sandbox: {message}"
        self._warn(pod, "FailedCreatePodSandBox", text, attempt)
        status = deep_copy(pod.get("status") or {})
        _set_condition(status, "PodReadyToStartContainers", "False", "FailedCreatePodSandBox", text)
        self._write_status(pod, status)
        log.warning(
            "kube.kubelet.sandbox_failed",
            pod=f"{namespace_of(pod)}/{name_of(pod)}",
            attempt=attempt,
            error=message,
        )

    def _warn(self, pod: JsonObject, reason: str, text: str, count: int) -> None:
        """A Warning event on the pod from this node's kubelet."""
        node = (pod.get("spec") or {}).get("nodeName", "")
        now = utc_timestamp()
        event = {
            "metadata": {"generateName": f"{name_of(pod)}.", "namespace": namespace_of(pod)},
            "involvedObject": {
                "kind": "Pod",
                "apiVersion": "v1",
                "namespace": namespace_of(pod),
                "name": name_of(pod),
                "uid": metadata_of(pod).get("uid"),
            },
            "reason": reason,
            "message": text,
            "type": "Warning",
            "count": count,
            "source": {"component": "kubelet", "host": node},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": "kubelet",
            "reportingInstance": node,
        }
        self._api.writer.create(self._events, namespace_of(pod), event)
