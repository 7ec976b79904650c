"""The stand-in kubelet's device-plugin side, over real gRPC on unix sockets.

In: device plugins registering on ``<device-plugins dir>/kubelet.sock`` (v1beta1
Registration.Register), their ListAndWatch streams, pods to admit (from the simulated
kubelet, before it networks them) and pods gone. Out: for each registered plugin a
connection to ``<device-plugins dir>/<endpoint>`` whose device list feeds ``NodeDevices``;
per admitted container an Allocate call (and PreStartContainer when the plugin asks for it),
its answer recorded in the container's ``ContainerGrant`` (``grants_of``); the pod-resources
v1 service (List, GetAllocatableResources, Get) on its own socket; change callbacks for the
node's capacity and for pods waiting for devices.

A plugin that registers again (it restarted) replaces its old connection. Like a real
kubelet, ``start`` clears stale plugin sockets from the directory, so a plugin notices a
kubelet restart twice over: its socket is gone and kubelet.sock is new. This module and the
gRPC it speaks play kubelet, a gRPC peer of the agent's device plugin; it never runs in the
product.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import StreamTerminatedError
from grpclib.server import Server

from contivpy._gen import v1, v1beta1
from contivpy.api.unix_socket import bind_unix, remove_own_socket, socket_inode
from contivpy.async_service import AsyncService
from contivpy.sim.kube.devices import (
    HEALTHY,
    AdmissionError,
    ContainerGrant,
    NodeDevices,
    PodGrants,
    is_extended,
    requests_of,
)
from contivpy.sim.kube.objects import JsonObject

log = structlog.get_logger(__name__)

KUBELET_SOCKET = "kubelet.sock"
SUPPORTED_VERSIONS = ("v1beta1",)
_Service = v1beta1.RegistrationBase | v1.PodResourcesListerBase
_CALL_ERRORS = (GRPCError, OSError, StreamTerminatedError, TimeoutError)


@dataclass(slots=True)
class _Plugin:
    resource: str
    endpoint: Path
    pre_start_required: bool
    channel: Channel
    stub: v1beta1.DevicePluginStub
    task: asyncio.Task[None] | None = field(default=None)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.channel.close()


def _describe(error: BaseException) -> str:
    if isinstance(error, GRPCError):
        return f"{error.status.name}: {error.message}"
    return repr(error)


class _Registration(v1beta1.RegistrationBase):
    def __init__(self, owner: KubeletDevicePlugins) -> None:
        self._owner = owner

    async def register(self, message: v1beta1.RegisterRequest) -> v1beta1.Empty:
        await self._owner.register(message)
        return v1beta1.Empty()


class _PodResources(v1.PodResourcesListerBase):
    def __init__(self, owner: KubeletDevicePlugins) -> None:
        self._owner = owner

    async def list(self, message: v1.ListPodResourcesRequest) -> v1.ListPodResourcesResponse:
        pods = self._owner.devices.pods.values()
        return v1.ListPodResourcesResponse(pod_resources=[_pod_resources(p) for p in pods])

    async def get_allocatable_resources(
        self, message: v1.AllocatableResourcesRequest
    ) -> v1.AllocatableResourcesResponse:
        devices = [
            v1.ContainerDevices(
                resource_name=resource,
                device_ids=[d for d, health in found.items() if health == HEALTHY],
            )
            for resource, found in sorted(self._owner.devices.resources.items())
        ]
        return v1.AllocatableResourcesResponse(devices=devices)

    async def get(self, message: v1.GetPodResourcesRequest) -> v1.GetPodResourcesResponse:
        found = self._owner.devices.pods.get((message.pod_namespace, message.pod_name))
        if found is None:
            raise GRPCError(
                Status.NOT_FOUND, f"pod {message.pod_namespace}/{message.pod_name} not found"
            )
        return v1.GetPodResourcesResponse(pod_resources=_pod_resources(found))


def _pod_resources(pod: PodGrants) -> v1.PodResources:
    containers = [
        v1.ContainerResources(
            name=container,
            devices=[
                v1.ContainerDevices(resource_name=g.resource, device_ids=list(g.device_ids))
                for g in pod.grants
                if g.container == container and g.allocated
            ],
        )
        for container in pod.containers
    ]
    return v1.PodResources(name=pod.name, namespace=pod.namespace, containers=containers)


class KubeletDevicePlugins(AsyncService):
    """One node's kubelet device manager: Registration server, plugin clients, pod-resources."""

    def __init__(
        self,
        device_plugins_dir: Path,
        pod_resources_socket: Path | None = None,
        *,
        call_timeout: float = 10.0,
    ) -> None:
        self.device_plugins_dir = device_plugins_dir
        self.pod_resources_socket = pod_resources_socket
        self.call_timeout = call_timeout
        self.devices = NodeDevices()
        self.registrations: list[str] = []  # resource names, one per accepted Register
        self._plugins: dict[str, _Plugin] = {}
        self._listeners: list[Callable[[], None]] = []
        self._notified = self.devices.generation
        self._servers: list[tuple[Server, Path, int]] = []

    @property
    def kubelet_socket(self) -> Path:
        return self.device_plugins_dir / KUBELET_SOCKET

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after devices or grants changed."""
        self._listeners.append(callback)

    def _notify(self) -> None:
        if self.devices.generation == self._notified:
            return
        self._notified = self.devices.generation
        for callback in list(self._listeners):
            callback()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self.device_plugins_dir.mkdir(parents=True, exist_ok=True)
        self._clear_plugin_sockets()
        try:
            await self._serve(_Registration(self), self.kubelet_socket, "kubelet registration")
            if self.pod_resources_socket is not None:
                await self._serve(
                    _PodResources(self), self.pod_resources_socket, "kubelet pod-resources"
                )
        except BaseException:
            await self.stop()
            raise
        log.info("kube.kubelet.device_plugins_serving", socket=str(self.kubelet_socket))

    async def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server, path, inode in servers:
            server.close()
            await server.wait_closed()
            remove_own_socket(path, inode)
        plugins, self._plugins = list(self._plugins.values()), {}
        for plugin in plugins:
            await plugin.close()

    async def _serve(
        self,
        service: v1beta1.RegistrationBase | v1.PodResourcesListerBase,
        path: Path,
        purpose: str,
    ) -> None:
        server = Server([service])
        sock = bind_unix(path, purpose)
        inode = socket_inode(path)
        try:
            await server.start(sock=sock)
        except BaseException:
            sock.close()
            remove_own_socket(path, inode)
            raise
        self._servers.append((server, path, inode))

    def _clear_plugin_sockets(self) -> None:
        # As a starting kubelet does: plugins must notice and register again.
        for entry in self.device_plugins_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.name != KUBELET_SOCKET and stat.S_ISSOCK(os.lstat(entry).st_mode):
                    entry.unlink()

    # --- registration and devices ----------------------------------------------------------

    async def register(self, request: v1beta1.RegisterRequest) -> None:
        """Accept a plugin (replacing an earlier registration of its resource) and start
        watching its devices; GRPCError INVALID_ARGUMENT naming the bad field otherwise."""
        if request.version not in SUPPORTED_VERSIONS:
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"Register: version {request.version!r} is not supported "
                f"(supported: {', '.join(SUPPORTED_VERSIONS)})",
            )
        if not is_extended(request.resource_name):
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"Register: resource_name {request.resource_name!r} is not an extended "
                f"resource name (domain/name)",
            )
        if not request.endpoint or "/" in request.endpoint or request.endpoint == KUBELET_SOCKET:
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"Register: endpoint {request.endpoint!r} is not a socket file name",
            )
        old = self._plugins.pop(request.resource_name, None)
        if old is not None:
            await old.close()
        endpoint = self.device_plugins_dir / request.endpoint
        channel = Channel(path=str(endpoint))
        plugin = _Plugin(
            resource=request.resource_name,
            endpoint=endpoint,
            pre_start_required=bool(request.options and request.options.pre_start_required),
            channel=channel,
            stub=v1beta1.DevicePluginStub(channel),
        )
        self._plugins[request.resource_name] = plugin
        plugin.task = asyncio.create_task(
            self._watch(plugin), name=f"list-and-watch {request.resource_name}"
        )
        self.registrations.append(request.resource_name)
        log.info(
            "kube.kubelet.device_plugin_registered",
            resource=request.resource_name,
            endpoint=str(endpoint),
        )

    async def _watch(self, plugin: _Plugin) -> None:
        try:
            stream: AsyncIterator[v1beta1.ListAndWatchResponse] = plugin.stub.list_and_watch(
                v1beta1.Empty()
            )
            async for response in stream:
                devices = {d.id: d.health for d in response.devices}
                self.devices.set_devices(plugin.resource, devices)
                self._notify()
            ending = "stream ended"
        except _CALL_ERRORS as error:
            ending = _describe(error)
        if self._plugins.get(plugin.resource) is plugin:
            # a plugin that ends its stream stopped on purpose (kubelet logs it quietly too)
            report = log.info if ending == "stream ended" else log.warning
            report("kube.kubelet.device_plugin_lost", resource=plugin.resource, reason=ending)
            self.devices.plugin_lost(plugin.resource)
            self._notify()

    # --- pods -------------------------------------------------------------------------------

    async def admit(self, pod: JsonObject) -> PodGrants:
        """Give the pod's containers their devices (Allocate per container), once per pod
        uid; AdmissionError (the pod is not started) when they cannot be had."""
        existing = self.devices.admitted(pod)
        if existing is not None:
            return existing
        admitted = self.devices.reserve(pod, requests_of(pod))
        try:
            for grant in admitted.grants:
                await self._allocate(grant)
        except AdmissionError:
            self.devices.release(admitted.namespace, admitted.name)
            self._notify()
            raise
        self._notify()
        return admitted

    async def _allocate(self, grant: ContainerGrant) -> None:
        plugin = self._plugins.get(grant.resource)
        if plugin is None:
            raise AdmissionError(f"no device plugin registered for {grant.resource}")
        request = v1beta1.AllocateRequest(
            container_requests=[
                v1beta1.ContainerAllocateRequest(devices_ids=list(grant.device_ids))
            ]
        )
        try:
            response = await plugin.stub.allocate(request, timeout=self.call_timeout)
            if len(response.container_responses) != 1:
                raise AdmissionError(
                    f"Allocate of {grant.resource} for container {grant.container!r}: "
                    f"{len(response.container_responses)} container responses for 1 request"
                )
            if plugin.pre_start_required:
                await plugin.stub.pre_start_container(
                    v1beta1.PreStartContainerRequest(devices_ids=list(grant.device_ids)),
                    timeout=self.call_timeout,
                )
        except _CALL_ERRORS as error:
            raise AdmissionError(
                f"Allocate of {grant.resource} for container {grant.container!r} failed: "
                f"{_describe(error)}"
            ) from error
        answer = response.container_responses[0]
        grant.envs = dict(answer.envs)
        grant.mounts = [(m.container_path, m.host_path, m.read_only) for m in answer.mounts]
        grant.annotations = dict(answer.annotations)
        grant.allocated = True

    def release(self, namespace: str, name: str, keep_uid: str | None = None) -> None:
        """The pod is gone (or replaced by one with ``keep_uid``): its devices are free."""
        if self.devices.release(namespace, name, keep_uid):
            self._notify()

    def grants_of(self, namespace: str, name: str) -> list[ContainerGrant]:
        """What the pod's containers were given (devices, envs, mounts, annotations)."""
        found = self.devices.pods.get((namespace, name))
        return list(found.grants) if found is not None else []
