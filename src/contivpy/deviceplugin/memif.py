"""The memif device plugin's vocabulary: its resource, devices, allocations and grants.

In: settings (directories, device count) and allocations made by ``MemifAllocations``. Out:
the device IDs the plugin advertises (``device_ids``), what Allocate hands the kubelet for a
container (``container_injection``: env MEMIF_SOCKET / MEMIF_SECRET, the socket directory
mounted at /run/vpp, the io.contivpp.memif.* annotations), and the typed answer the agent gets
for a pod (``MemifGrant``) through a ``MemifLookup``.

A secret is never part of a repr or str: ``MemifAllocation``, ``MemifGrant`` and
``ContainerInjection`` leave it out, so logging one (or an exception carrying one) leaks
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from contivpy.errors import ConfigError

RESOURCE_NAME = "contivpp.io/memif"
API_VERSION = "v1beta1"  # the device-plugin API version this plugin speaks
DEFAULT_DEVICE_PLUGINS_DIR = Path("/var/lib/kubelet/device-plugins")
DEFAULT_POD_RESOURCES_SOCKET = Path("/var/lib/kubelet/pod-resources/kubelet.sock")
DEFAULT_MEMIF_DIR = Path("/var/run/contiv/memif")
DEFAULT_DEVICE_COUNT = 100
PLUGIN_ENDPOINT = "contiv-vpp.sock"  # the plugin's socket, in the device-plugins dir
KUBELET_SOCKET = "kubelet.sock"  # the kubelet's Registration socket, in the same dir
SOCKET_NAME = "memif.sock"
CONTAINER_DIR = PurePosixPath("/run/vpp")  # where the socket directory is mounted in the pod
CONTAINER_SOCKET = CONTAINER_DIR / SOCKET_NAME
HEALTHY = "Healthy"

ENV_SOCKET = "MEMIF_SOCKET"
ENV_SECRET = "MEMIF_SECRET"
ANNOTATION_HOST_SOCKET = "io.contivpp.memif.socket.host"
ANNOTATION_CONTAINER_SOCKET = "io.contivpp.memif.socket.container"
ANNOTATION_SECRET = "io.contivpp.memif.secret"


@dataclass(frozen=True, slots=True)
class MemifPluginSettings:
    """Where the plugin lives and what it advertises."""

    device_plugins_dir: Path = DEFAULT_DEVICE_PLUGINS_DIR
    memif_dir: Path = DEFAULT_MEMIF_DIR  # per-allocation socket directories go under it
    device_count: int = DEFAULT_DEVICE_COUNT
    resend_interval: float = 20.0  # seconds between ListAndWatch re-sends of the device list
    watch_interval: float = 1.0  # seconds between checks for a restarted kubelet
    register_timeout: float = 5.0  # seconds for one Register call

    def __post_init__(self) -> None:
        if self.device_count < 0:
            raise ConfigError(f"memif device plugin: device_count {self.device_count} is negative")
        for name in ("resend_interval", "watch_interval", "register_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"memif device plugin: {name} must be positive")

    @property
    def endpoint(self) -> Path:
        return self.device_plugins_dir / PLUGIN_ENDPOINT

    @property
    def kubelet_socket(self) -> Path:
        return self.device_plugins_dir / KUBELET_SOCKET


def device_ids(count: int) -> list[str]:
    """The advertised devices: contivpp.io/memif/0 .. contivpp.io/memif/<count-1>."""
    return [f"{RESOURCE_NAME}/{index}" for index in range(count)]


@dataclass(frozen=True, slots=True)
class MemifAllocation:
    """One Allocate of one container: its devices, socket directory and secret."""

    device_ids: tuple[str, ...]
    host_dir: Path  # <memif dir>/<random 20 characters>, mode 0700
    secret: str = field(repr=False)  # 20 random characters; never printed

    @property
    def host_socket(self) -> Path:
        """The memif socket as VPP (the master) sees it."""
        return self.host_dir / SOCKET_NAME

    @property
    def container_socket(self) -> PurePosixPath:
        """The memif socket as the pod (the slave) sees it."""
        return CONTAINER_SOCKET


@dataclass(frozen=True, slots=True)
class MemifGrant:
    """A pod's memif devices: the allocations of its containers (the first is the one whose
    socket and secret the pod's memif interfaces use, as in Contiv) and their device count."""

    allocations: tuple[MemifAllocation, ...]

    def __post_init__(self) -> None:
        if not self.allocations:
            raise ValueError("a MemifGrant needs at least one allocation")

    @property
    def host_socket(self) -> Path:
        return self.allocations[0].host_socket

    @property
    def container_socket(self) -> PurePosixPath:
        return self.allocations[0].container_socket

    @property
    def secret(self) -> str:
        return self.allocations[0].secret

    @property
    def count(self) -> int:
        """How many memif devices the pod was granted, over all its containers."""
        return len(self.device_ids)

    @property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(d for allocation in self.allocations for d in allocation.device_ids)


class MemifLookup(Protocol):
    """What the agent asks when it wires a pod's memif interfaces."""

    async def memif_allocation_of(self, namespace: str, name: str) -> MemifGrant | None:
        """The pod's grant, or None when it was given no contivpp.io/memif device."""
        ...


@dataclass(frozen=True, slots=True)
class ContainerInjection:
    """What the kubelet must inject into a container (Allocate's ContainerAllocateResponse)."""

    envs: dict[str, str] = field(repr=False)  # holds the secret
    mounts: tuple[tuple[str, str], ...]  # (container path, host path)
    annotations: dict[str, str] = field(repr=False)  # holds the secret


def container_injection(allocation: MemifAllocation) -> ContainerInjection:
    """Env, mount and annotations for the container that got ``allocation``."""
    return ContainerInjection(
        envs={ENV_SOCKET: str(allocation.container_socket), ENV_SECRET: allocation.secret},
        mounts=((str(CONTAINER_DIR), str(allocation.host_dir)),),
        annotations={
            ANNOTATION_HOST_SOCKET: str(allocation.host_socket),
            ANNOTATION_CONTAINER_SOCKET: str(allocation.container_socket),
            ANNOTATION_SECRET: allocation.secret,
        },
    )
