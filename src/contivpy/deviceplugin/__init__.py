"""The memif device plugin's logic, without gRPC (the gRPC side is contivpy.api.device_plugin).

In: device IDs the kubelet allocates to a container (Allocate), device IDs the kubelet reports
for a pod (pod-resources List). Out: per allocation a host socket directory and a secret
(``MemifAllocations``, persisted so an agent restart keeps them), what Allocate returns to the
kubelet (``container_injection``), and for a pod its ``MemifGrant`` (socket, secret, count).

Modules: memif (constants, the allocation and grant types, the lookup protocol the agent
depends on), allocations (the allocator and its state file).
"""

from contivpy.deviceplugin.allocations import MemifAllocations
from contivpy.deviceplugin.memif import (
    CONTAINER_SOCKET,
    DEFAULT_DEVICE_COUNT,
    DEFAULT_DEVICE_PLUGINS_DIR,
    DEFAULT_MEMIF_DIR,
    DEFAULT_POD_RESOURCES_SOCKET,
    RESOURCE_NAME,
    ContainerInjection,
    MemifAllocation,
    MemifGrant,
    MemifLookup,
    MemifPluginSettings,
    container_injection,
    device_ids,
)

__all__ = [
    "CONTAINER_SOCKET",
    "DEFAULT_DEVICE_COUNT",
    "DEFAULT_DEVICE_PLUGINS_DIR",
    "DEFAULT_MEMIF_DIR",
    "DEFAULT_POD_RESOURCES_SOCKET",
    "RESOURCE_NAME",
    "ContainerInjection",
    "MemifAllocation",
    "MemifAllocations",
    "MemifGrant",
    "MemifLookup",
    "MemifPluginSettings",
    "container_injection",
    "device_ids",
]
