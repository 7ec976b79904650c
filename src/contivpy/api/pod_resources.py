"""The kubelet's pod-resources API v1 (List) as the agent uses it: which memif devices a pod has.

In: a pod's namespace and name. Out: from ``PodResourcesClient``, the devices the kubelet gave
the pod's containers (List on ``/var/lib/kubelet/pod-resources/kubelet.sock``); from
``MemifPodLookup.memif_allocation_of``, the pod's ``MemifGrant`` (socket, secret, count) made
of the plugin's allocations of those devices, or None when it has no contivpp.io/memif device.
A kubelet that cannot be asked is a ``PodResourcesUnavailable`` (retriable) naming the socket.

The kubelet allocates devices when it admits a pod, before it creates the sandbox, so by the
time the pod's CNI ADD reaches the agent, List already reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.exceptions import StreamTerminatedError

from contivpy._gen.v1 import ListPodResourcesRequest, PodResourcesListerStub
from contivpy.deviceplugin.allocations import MemifAllocations
from contivpy.deviceplugin.memif import DEFAULT_POD_RESOURCES_SOCKET, RESOURCE_NAME, MemifGrant
from contivpy.errors import RetriableError

log = structlog.get_logger(__name__)


class PodResourcesUnavailable(RetriableError):
    """The kubelet's pod-resources service could not be asked (not running, not answering)."""


@dataclass(frozen=True, slots=True)
class PodDevices:
    """One pod's devices as the kubelet reports them: resource name -> device IDs, over all
    its containers in their order."""

    namespace: str
    name: str
    devices: dict[str, tuple[str, ...]]


class PodResourcesClient:
    """List on the kubelet's pod-resources socket; one connection per call (a restarted
    kubelet needs no reconnect logic)."""

    def __init__(
        self, socket_path: Path = DEFAULT_POD_RESOURCES_SOCKET, timeout: float = 5.0
    ) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    async def list(self) -> list[PodDevices]:
        channel = Channel(path=str(self.socket_path))
        try:
            response = await PodResourcesListerStub(channel).list(
                ListPodResourcesRequest(), timeout=self.timeout
            )
        except GRPCError as error:
            raise PodResourcesUnavailable(
                f"pod-resources List on {self.socket_path}: {error.status.name} {error.message}"
            ) from error
        except (OSError, StreamTerminatedError, TimeoutError) as error:
            raise PodResourcesUnavailable(
                f"pod-resources List on {self.socket_path}: kubelet unreachable: {error!r}"
            ) from error
        finally:
            channel.close()
        result = []
        for pod in response.pod_resources:
            devices: dict[str, list[str]] = {}
            for container in pod.containers:
                for group in container.devices:
                    devices.setdefault(group.resource_name, []).extend(group.device_ids)
            result.append(
                PodDevices(pod.namespace, pod.name, {r: tuple(d) for r, d in devices.items()})
            )
        return result

    async def devices_of(self, namespace: str, name: str, resource: str) -> tuple[str, ...]:
        """The pod's device IDs of ``resource`` (empty when it has none or is not listed)."""
        for pod in await self.list():
            if pod.namespace == namespace and pod.name == name:
                return pod.devices.get(resource, ())
        return ()


class MemifPodLookup:
    """``MemifLookup`` over the kubelet's pod-resources List and the plugin's allocations."""

    def __init__(
        self, allocations: MemifAllocations, client: PodResourcesClient | None = None
    ) -> None:
        self._allocations = allocations
        self.client = client or PodResourcesClient()

    async def memif_allocation_of(self, namespace: str, name: str) -> MemifGrant | None:
        devices = await self.client.devices_of(namespace, name, RESOURCE_NAME)
        if not devices:
            return None
        grant = self._allocations.grant_for(devices)
        if grant is None:
            log.warning(
                "pod has memif devices this plugin never allocated",
                pod=f"{namespace}/{name}",
                devices=list(devices),
            )
        return grant
