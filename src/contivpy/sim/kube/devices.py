"""A stand-in kubelet's device manager state: plugin devices, per-container grants, admission.

In: device lists from plugins' ListAndWatch (``set_devices``, ``plugin_lost``), pods being
admitted (``requests_of``, ``choose``) and gone (``release``). Out: which free devices a
container gets, the grants recorded per pod (the devices and what the plugin's Allocate said
to inject: envs, mounts, annotations), the node's capacity and allocatable counts per
resource, and a ``generation`` that changes whenever any of that changes (a pod refused for
lack of devices is admitted again only after it moved).

Only extended resources (``domain/name`` outside kubernetes.io) of ``resources.limits`` of a
pod's containers are device-plugin resources; init containers are not modelled. No gRPC here:
device_plugins.py talks to the plugins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contivpy.sim.kube.objects import JsonObject, metadata_of, name_of, namespace_of

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
ADMISSION_REASON = "UnexpectedAdmissionError"


class AdmissionError(Exception):
    """The pod cannot be admitted: the kubelet's event reason and message."""

    def __init__(self, message: str, reason: str = ADMISSION_REASON) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ContainerRequest:
    container: str
    resource: str
    count: int


@dataclass(slots=True)
class ContainerGrant:
    """The devices of one resource given to one container, and what its plugin's Allocate
    said to inject (filled once the plugin answered). Envs and annotations may hold secrets:
    they are left out of the repr."""

    container: str
    resource: str
    device_ids: tuple[str, ...]
    envs: dict[str, str] = field(default_factory=dict, repr=False)
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)  # container, host, ro
    annotations: dict[str, str] = field(default_factory=dict, repr=False)
    allocated: bool = False  # the plugin's Allocate answered


@dataclass(slots=True)
class PodGrants:
    """An admitted pod: its containers and the devices they were given."""

    namespace: str
    name: str
    uid: str
    containers: list[str]
    grants: list[ContainerGrant]


def is_extended(resource: str) -> bool:
    domain, slash, _ = resource.partition("/")
    return bool(slash) and domain != "kubernetes.io" and not domain.endswith(".kubernetes.io")


def requests_of(pod: JsonObject) -> list[ContainerRequest]:
    """The device-plugin resources the pod's containers ask for; AdmissionError on a bad count."""
    requests = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        name = str(container.get("name", ""))
        limits = (container.get("resources") or {}).get("limits") or {}
        for resource, value in sorted(limits.items()):
            if not is_extended(resource):
                continue
            count = value if isinstance(value, int) and not isinstance(value, bool) else None
            if isinstance(value, str) and value.isdigit():
                count = int(value)
            if count is None or count < 0:
                raise AdmissionError(
                    f"container {name!r}: resources.limits[{resource!r}]: {value!r} is not a "
                    f"whole number of devices"
                )
            if count:
                requests.append(ContainerRequest(name, resource, count))
    return requests


class NodeDevices:
    """Devices per resource (ID -> health) and the pods holding some of them."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, str]] = {}
        self.pods: dict[tuple[str, str], PodGrants] = {}
        self.generation = 0

    def _changed(self) -> None:
        self.generation += 1

    def set_devices(self, resource: str, devices: dict[str, str]) -> None:
        if self.resources.get(resource) != devices:
            self.resources[resource] = dict(devices)
            self._changed()

    def plugin_lost(self, resource: str) -> None:
        """The plugin's stream ended: its devices stay counted but none can be given out."""
        devices = self.resources.get(resource)
        if devices is not None:
            self.set_devices(resource, dict.fromkeys(devices, UNHEALTHY))

    def in_use(self, resource: str) -> set[str]:
        return {
            device
            for pod in self.pods.values()
            for grant in pod.grants
            if grant.resource == resource
            for device in grant.device_ids
        }

    def free(self, resource: str) -> list[str]:
        """Healthy devices no pod holds, in the plugin's order."""
        taken = self.in_use(resource)
        devices = self.resources.get(resource, {})
        return [d for d, health in devices.items() if health == HEALTHY and d not in taken]

    def admitted(self, pod: JsonObject) -> PodGrants | None:
        found = self.pods.get((namespace_of(pod), name_of(pod)))
        return found if found is not None and found.uid == metadata_of(pod).get("uid") else None

    def reserve(self, pod: JsonObject, requests: list[ContainerRequest]) -> PodGrants:
        """Record the pod with free devices for every request, or raise AdmissionError (then
        nothing is recorded)."""
        grants: list[ContainerGrant] = []
        for request in requests:
            taken = {d for g in grants if g.resource == request.resource for d in g.device_ids}
            available = [d for d in self.free(request.resource) if d not in taken]
            if len(available) < request.count:
                raise AdmissionError(
                    f"Allocate failed due to requested number of devices unavailable for "
                    f"{request.resource}. Requested: {request.count}, Available: "
                    f"{len(available)}, which is unexpected"
                )
            chosen = tuple(available[: request.count])
            grants.append(ContainerGrant(request.container, request.resource, chosen))
        containers = [
            str(c.get("name", "")) for c in (pod.get("spec") or {}).get("containers") or []
        ]
        admitted = PodGrants(
            namespace_of(pod), name_of(pod), str(metadata_of(pod).get("uid")), containers, grants
        )
        self.pods[(admitted.namespace, admitted.name)] = admitted
        self._changed()
        return admitted

    def release(self, namespace: str, name: str, keep_uid: str | None = None) -> bool:
        """Forget the pod's grants unless they belong to ``keep_uid`` (the live pod)."""
        found = self.pods.get((namespace, name))
        if found is None or found.uid == keep_uid:
            return False
        del self.pods[(namespace, name)]
        self._changed()
        return True

    def capacity(self) -> dict[str, int]:
        return {resource: len(devices) for resource, devices in self.resources.items()}

    def allocatable(self) -> dict[str, int]:
        return {
            resource: sum(1 for health in devices.values() if health == HEALTHY)
            for resource, devices in self.resources.items()
        }
