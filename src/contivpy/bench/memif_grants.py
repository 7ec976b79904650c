"""The memif device plugin's allocations for a benchmark node, with the kubelet's part played
by the benchmark.

In: a directory (the node's), the pods admitted with how many ``contivpp.io/memif`` devices
each. Out: :class:`BenchMemifGrants`: ``admit`` does what the kubelet makes the device plugin
do when it admits a pod (Allocate: the plugin's real ``MemifAllocations`` creates a socket
directory and a secret, kept in its state file), ``lookup`` is the agent's
``AgentConfig.memif_grants`` (a pod's ``MemifGrant``: its allocations, whence the socket file,
secret and device count), ``release`` frees a pod's devices once the pod is gone (what the
agent's own plugin does after the pod's DEL: an agent given a lookup releases nothing).

On a node the agent asks the kubelet's pod-resources API (List) which devices a pod has and
maps them to the plugin's allocations; here the benchmark remembers which devices it
allocated to which pod, so the lookup is the allocation store's ``grant_for`` without the
List round trip to a kubelet.
"""

from __future__ import annotations

from pathlib import Path

from contivpy.cni.types import PodRef
from contivpy.deviceplugin import DEFAULT_DEVICE_COUNT, MemifAllocations, MemifGrant, device_ids


class BenchMemifGrants:
    """See the module docstring. ``devices``: how many devices the plugin advertises."""

    def __init__(self, directory: Path, devices: int = DEFAULT_DEVICE_COUNT) -> None:
        self.allocations = MemifAllocations(directory / "memif", directory / "deviceplugin")
        self._free = device_ids(devices)
        self._devices: dict[PodRef, tuple[str, ...]] = {}

    def admit(self, pod: PodRef, count: int = 1) -> None:
        """Allocate ``count`` devices to the pod (one container requesting them)."""
        if count > len(self._free):
            raise ValueError(f"pod {pod}: {count} memif devices asked, {len(self._free)} left")
        devices, self._free = tuple(self._free[:count]), self._free[count:]
        self.allocations.allocate(devices)
        self._devices[pod] = devices

    async def lookup(self, pod: PodRef) -> MemifGrant | None:
        """The pod's grant (None: it was allocated no device)."""
        devices = self._devices.get(pod)
        return self.allocations.grant_for(devices) if devices else None

    def release(self, pod: PodRef) -> None:
        """Free the pod's devices: its socket directory is removed."""
        devices = self._devices.pop(pod, ())
        self.allocations.release(devices)
        self._free.extend(devices)

    def directories(self) -> list[Path]:
        """The socket directories that exist under the plugin's memif directory."""
        memif_dir = self.allocations.memif_dir
        return sorted(p for p in memif_dir.iterdir() if p.is_dir()) if memif_dir.exists() else []
