"""The memif device plugin over gRPC: kubelet's device-plugin API v1beta1 on a unix socket.

In: kubelet calls on ``<device-plugins dir>/contiv-vpp.sock`` (GetDevicePluginOptions,
ListAndWatch, GetPreferredAllocation, Allocate, PreStartContainer), and the kubelet's
``kubelet.sock`` in the same directory. Out: a Register of resource contivpp.io/memif
(version v1beta1, endpoint contiv-vpp.sock) whenever a kubelet appears there (its socket file
is new: the kubelet started or restarted) and whenever the plugin starts; the device list
(``device_count`` healthy devices contivpp.io/memif/<i>) on every ListAndWatch stream, again
every ``resend_interval`` seconds; per Allocate'd container a socket directory and secret
from ``MemifAllocations`` and the env, mount and annotations that carry them.

A kubelet that starts clears the device-plugins directory: when our socket file disappears,
the plugin serves on a new one, then registers again. Registration failures are retried every
``watch_interval`` seconds and logged once per kubelet socket. Nothing here logs a secret.

Usage::

    allocations = MemifAllocations(settings.memif_dir, state_dir)
    async with MemifDevicePlugin(allocations, settings) as plugin:
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import StreamTerminatedError
from grpclib.server import Server

from contivpy._gen.v1beta1 import (
    AllocateRequest,
    AllocateResponse,
    ContainerAllocateResponse,
    ContainerPreferredAllocationResponse,
    Device,
    DevicePluginBase,
    DevicePluginOptions,
    Empty,
    ListAndWatchResponse,
    Mount,
    PreferredAllocationRequest,
    PreferredAllocationResponse,
    PreStartContainerRequest,
    PreStartContainerResponse,
    RegisterRequest,
    RegistrationStub,
)
from contivpy.api.unix_socket import bind_unix, remove_own_socket, socket_inode
from contivpy.async_service import AsyncService
from contivpy.deviceplugin.allocations import AllocationError, MemifAllocations
from contivpy.deviceplugin.memif import (
    API_VERSION,
    HEALTHY,
    RESOURCE_NAME,
    MemifAllocation,
    MemifPluginSettings,
    container_injection,
    device_ids,
)
from contivpy.errors import ContivpyError, RetriableError

log = structlog.get_logger(__name__)


class RegistrationFailed(RetriableError):
    """The kubelet did not accept (or could not be asked for) the plugin's registration."""


class MemifDevicePluginService(DevicePluginBase):
    """The DevicePlugin service of resource contivpp.io/memif."""

    def __init__(
        self, allocations: MemifAllocations, settings: MemifPluginSettings, stopping: asyncio.Event
    ) -> None:
        self._allocations = allocations
        self._settings = settings
        self._stopping = stopping
        self._devices = device_ids(settings.device_count)
        self._known = frozenset(self._devices)

    async def get_device_plugin_options(self, message: Empty) -> DevicePluginOptions:
        return DevicePluginOptions(
            pre_start_required=False, get_preferred_allocation_available=False
        )

    async def list_and_watch(self, message: Empty) -> AsyncIterator[ListAndWatchResponse]:
        devices = [Device(id=d, health=HEALTHY) for d in self._devices]
        response = ListAndWatchResponse(devices=devices)
        while True:
            yield response
            # The list never changes; it is re-sent so a kubelet that lost it gets it again.
            # asyncio.timeout, not wait_for: wait_for (3.11) can swallow a cancellation that
            # comes as the event is set, and the server's stop would wait for this stream
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.resend_interval):
                    await self._stopping.wait()
                return

    async def get_preferred_allocation(
        self, message: PreferredAllocationRequest
    ) -> PreferredAllocationResponse:
        # Every memif device is the same: the ones that must be included, then the first free.
        responses = []
        for request in message.container_requests:
            chosen = list(dict.fromkeys(request.must_include_deviceIDs))
            for device in request.available_deviceIDs:
                if len(chosen) >= request.allocation_size:
                    break
                if device not in chosen:
                    chosen.append(device)
            responses.append(ContainerPreferredAllocationResponse(device_i_ds=chosen))
        return PreferredAllocationResponse(container_responses=responses)

    async def allocate(self, message: AllocateRequest) -> AllocateResponse:
        made: list[MemifAllocation] = []
        try:
            for request in message.container_requests:
                unknown = [d for d in request.devices_ids if d not in self._known]
                if unknown:
                    raise AllocationError(f"Allocate: not {RESOURCE_NAME} devices: {unknown}")
                made.append(self._allocations.allocate(request.devices_ids))
        except AllocationError as error:
            # All containers or none: a half-served pod would never start anyway.
            self._allocations.release(d for allocation in made for d in allocation.device_ids)
            log.warning("memif Allocate refused", error=str(error))
            raise GRPCError(Status.INVALID_ARGUMENT, str(error)) from error
        return AllocateResponse(container_responses=[_response(a) for a in made])

    async def pre_start_container(
        self, message: PreStartContainerRequest
    ) -> PreStartContainerResponse:
        return PreStartContainerResponse()


def _response(allocation: MemifAllocation) -> ContainerAllocateResponse:
    injection = container_injection(allocation)
    return ContainerAllocateResponse(
        envs=dict(injection.envs),
        mounts=[
            Mount(container_path=container, host_path=host, read_only=False)
            for container, host in injection.mounts
        ],
        annotations=dict(injection.annotations),
    )


class MemifDevicePlugin(AsyncService):
    """The plugin's server plus its registration with the kubelet, kept up while running."""

    def __init__(
        self, allocations: MemifAllocations, settings: MemifPluginSettings | None = None
    ) -> None:
        self.allocations = allocations
        self.settings = settings or MemifPluginSettings()
        self._stopping = asyncio.Event()
        self._server: Server | None = None
        self._inode: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.registrations = 0  # successful Register calls (one per kubelet start, plus ours)
        self.registered = asyncio.Event()  # set after the first successful Register

    async def start(self) -> None:
        """Restore the allocations, serve, and start registering (in the background: a
        kubelet that is not there yet is waited for)."""
        self.allocations.load()
        self._stopping.clear()
        await self._serve()
        self._task = asyncio.create_task(self._keep_registered(), name="memif-device-plugin")
        log.info(
            "memif device plugin serving",
            socket=str(self.settings.endpoint),
            devices=self.settings.device_count,
        )

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_server()

    async def _serve(self) -> None:
        service = MemifDevicePluginService(self.allocations, self.settings, self._stopping)
        server = Server([service])
        sock = bind_unix(self.settings.endpoint, "memif device plugin")
        inode = socket_inode(self.settings.endpoint)
        try:
            await server.start(sock=sock)
        except BaseException:
            sock.close()
            remove_own_socket(self.settings.endpoint, inode)
            raise
        self._server, self._inode = server, inode

    async def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self._inode is not None:
            remove_own_socket(self.settings.endpoint, self._inode)
            self._inode = None

    def _serving_socket_is_ours(self) -> bool:
        try:
            return os.lstat(self.settings.endpoint).st_ino == self._inode
        except FileNotFoundError:
            return False

    async def _keep_registered(self) -> None:
        registered_with: _FileId | None = None  # the kubelet socket we registered at
        reported: _FileId | None = None  # the kubelet socket whose failure was logged
        while True:
            if not self._serving_socket_is_ours():
                log.info("memif device plugin socket gone; serving again")
                await self._close_server()
                try:
                    await self._serve()
                except ContivpyError as error:
                    log.error("memif device plugin cannot serve", error=str(error))
                    await asyncio.sleep(self.settings.watch_interval)
                    continue
                registered_with = None
            kubelet = _file_id(self.settings.kubelet_socket)
            if kubelet is not None and kubelet != registered_with:
                try:
                    await self._register()
                    registered_with = kubelet
                except RegistrationFailed as error:
                    if reported != kubelet:
                        log.warning("memif device plugin not registered yet", error=str(error))
                        reported = kubelet
            await asyncio.sleep(self.settings.watch_interval)

    async def _register(self) -> None:
        settings = self.settings
        request = RegisterRequest(
            version=API_VERSION,
            endpoint=settings.endpoint.name,
            resource_name=RESOURCE_NAME,
            options=DevicePluginOptions(
                pre_start_required=False, get_preferred_allocation_available=False
            ),
        )
        channel = Channel(path=str(settings.kubelet_socket))
        try:
            await RegistrationStub(channel).register(request, timeout=settings.register_timeout)
        except GRPCError as error:
            raise RegistrationFailed(
                f"kubelet {settings.kubelet_socket} refused the registration of "
                f"{RESOURCE_NAME}: {error.status.name} {error.message}"
            ) from error
        except (OSError, StreamTerminatedError, TimeoutError) as error:
            raise RegistrationFailed(
                f"kubelet {settings.kubelet_socket} unreachable: {error!r}"
            ) from error
        finally:
            channel.close()
        self.registrations += 1
        self.registered.set()
        log.info(
            "memif device plugin registered with the kubelet",
            kubelet=str(settings.kubelet_socket),
            resource=RESOURCE_NAME,
        )


_FileId = tuple[int, int]


def _file_id(path: Path) -> _FileId | None:
    """Inode and change time: a re-created file may get the freed inode number again."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_ctime_ns
