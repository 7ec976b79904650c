"""The local pod registry: which pods this node has wired, with their sandbox and the custom
interfaces they asked for.

In: AddPod / DeletePod events (from the CNI server), reflected pods (their ``contivpp.io``
annotations), the custom networks that exist and may be joined (asked of customnetworks at
an ADD), and resyncs. Out: the registry other controllers read
(container ID, netns path, interface name, custom interfaces, microservice label and memif
socket per pod), kept in a local state file so an agent restart knows its pods without
asking a container runtime (Contiv needed Docker for that). Contributes no desired state
itself. An ADD of a registered pod replaces its registration (a new sandbox); its undo token
(``Registration``) restores the old one.

An ADD reads the pod's custom interfaces from its reflected annotations
(``models/custom_if.py``) and refuses the pod (CNI error INVALID_CONFIG naming the
annotation and the entry) when they cannot be honoured, before anything is wired. The
annotations are read once, at the ADD, as Kubernetes runs CNI once per sandbox: a later
change of them on a running pod changes nothing until the pod's next sandbox. A pod the
agent has not seen reflected yet is wired with its main interface only.

On resync, pods whose network namespace no longer exists are dropped (the sandbox is gone;
the kubelet's DEL may never reach a restarted agent); their IPs are released by IPAM once
Kubernetes deletes the pods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import structlog

from contivpy.cni.types import CniCode, CniError
from contivpy.controllers.base import ControllerBase
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.state_file import StateFile
from contivpy.deviceplugin.memif import MemifAllocation, MemifGrant
from contivpy.errors import PermanentError
from contivpy.events.types import (
    AddPod,
    Config,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    PodCustomIfUpdate,
    UpdateResult,
)
from contivpy.models.custom_if import (
    CustomIfError,
    CustomIfType,
    CustomInterface,
    microservice_label,
    parse_custom_interfaces,
    requests_memif,
)
from contivpy.models.k8s_codec import Pod

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PodMemif:
    """The memif socket of a pod's custom memifs: VPP's socket id for it and the pod's memif
    grant (the socket file on the host and the secret, from the memif device plugin)."""

    socket_id: int
    grant: MemifGrant

    @property
    def socket_path(self) -> str:
        return str(self.grant.host_socket)

    @property
    def secret(self) -> str:
        return self.grant.secret


@dataclass(frozen=True, slots=True)
class LocalPod:
    """A pod wired on this node."""

    pod: PodID
    container_id: str
    netns: str
    ifname: str = "eth0"
    custom: tuple[CustomInterface, ...] = ()
    microservice: str = ""  # the label of the agent inside the pod (a CNF), "" for none
    memif: PodMemif | None = None
    # False: wired before its reflected annotations reached the agent; they are read (once)
    # when they do (a PodCustomIfUpdate follow-up)
    annotations_read: bool = True

    def memif_id(self, interface: CustomInterface) -> int:
        """The memif ID of one of its custom memifs: 1..n in name order."""
        memifs = [i for i in self.custom if i.type is CustomIfType.MEMIF]
        return memifs.index(interface) + 1


@dataclass(frozen=True, slots=True)
class Registration:
    """Undo token of an AddPod (or a PodCustomIfUpdate): the pod registered and what it
    replaced (None: nothing)."""

    pod: PodID
    replaced: LocalPod | None


class NetworkNames(Protocol):
    """The custom networks an ADD checks a pod's annotation against."""

    def existing(self) -> Collection[str]:
        """Every CustomNetwork reflected (joinable or not)."""

    def joinable(self) -> Collection[str]:
        """Those pods may join."""


def pod_id(event: AddPod | DeletePod) -> PodID:
    """The PodID of a CNI event."""
    return PodID(event.request.pod.namespace, event.request.pod.name)


class PodManager(ControllerBase[Registration]):
    """See the module docstring."""

    name = "podmanager"

    def __init__(
        self,
        state: StateFile,
        *,
        netns_exists: Callable[[str], bool] = os.path.exists,
        networks: NetworkNames | None = None,
    ) -> None:
        self._state = state
        self._netns_exists = netns_exists
        # the custom networks (customnetworks', which is made after this controller and reads
        # its pods: the composition root sets it then; None: none exists)
        self.networks = networks
        self._pods: dict[PodID, LocalPod] = {}
        # contivpp.io annotations of the reflected pods
        self._annotations: dict[PodID, dict[str, str]] = {}

    @property
    def pods(self) -> Mapping[PodID, LocalPod]:
        """Local pods (read-only view)."""
        return self._pods

    def reflected(self, pod: PodID) -> bool:
        """Whether the pod's reflected state (its annotations) has reached this agent."""
        return pod in self._annotations

    def asks_for_memif(self, pod: PodID) -> bool:
        """Whether the pod's reflected annotations name a custom memif (so its ADD needs its
        memif grant). Not a validation: the ADD validates."""
        return requests_memif(self._annotations.get(pod, {}))

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource == "pod"
        return isinstance(event, AddPod | DeletePod | PodCustomIfUpdate)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._annotations = {
            PodID(model.namespace, model.name): dict(model.annotations)
            for model in state.get("pod", {}).values()
            if isinstance(model, Pod)
        }
        if resync_count > 1:
            return {}  # the registry is ours; later resyncs have nothing to add to it
        pods: dict[PodID, LocalPod] = {}
        for entry in self._state.read().get("pods", []):
            try:
                local = _local_pod(entry)
            except (KeyError, TypeError, ValueError):
                log.error("pod state entry ignored: malformed", entry=entry)
                continue
            if local.netns and not self._netns_exists(local.netns):
                log.info("pod sandbox gone while the agent was down", pod=str(local.pod))
                continue
            pods[local.pod] = local
        self._pods = pods
        self._save()
        return {}

    async def update(self, event: Event) -> UpdateResult[Registration]:
        if isinstance(event, AddPod):
            pod = pod_id(event)
            local = self._registration(pod, event)
            undo = Registration(pod, self._pods.get(pod))
            self._pods[pod] = local
            self._save()
            extra = f" with {', '.join(map(str, local.custom))}" if local.custom else ""
            return UpdateResult(f"pod {pod} registered{extra}", undo=undo)
        if isinstance(event, KubeStateChange):
            return UpdateResult(follow_ups=self._follow(event))
        if isinstance(event, PodCustomIfUpdate):
            return self._late_custom_interfaces(PodID(event.namespace, event.pod_name))
        if isinstance(event, DeletePod):
            pod = pod_id(event)
            known = self._pods.get(pod)
            if known is None or known.container_id != event.request.container_id:
                return UpdateResult()  # not ours (an old sandbox's DEL after a newer ADD)
            del self._pods[pod]
            self._save()
            return UpdateResult(f"pod {pod} unregistered")
        return UpdateResult()

    async def revert(self, event: Event, undo: Registration | None) -> None:
        if undo is None:
            return
        if undo.replaced is None:
            self._pods.pop(undo.pod, None)
        else:
            self._pods[undo.pod] = undo.replaced
        self._save()

    def persist(self) -> None:
        self._state.flush()

    def _follow(self, event: KubeStateChange) -> tuple[Event, ...]:
        """Keep what an ADD reads: pod annotations. A local pod wired before its annotations
        arrived gets a PodCustomIfUpdate when they do."""
        if isinstance(event.new, Pod):
            pod = PodID(event.new.namespace, event.new.name)
            self._annotations[pod] = dict(event.new.annotations)
            local = self._pods.get(pod)
            if local is not None and not local.annotations_read:
                return (PodCustomIfUpdate(pod.namespace, pod.name),)
        elif isinstance(event.prev, Pod):
            self._annotations.pop(PodID(event.prev.namespace, event.prev.name), None)
        return ()

    def _late_custom_interfaces(self, pod: PodID) -> UpdateResult[Registration]:
        """The custom interfaces of a pod whose annotations came after its ADD (read once:
        later changes wait for a new sandbox, as for any pod). A memif needs its grant, which
        the ADD looked up (an unreflected pod's grant is kept for this); a pod the ADD found
        no grant for is refused until its sandbox is re-created."""
        local = self._pods.get(pod)
        if local is None or local.annotations_read:
            return UpdateResult()
        annotations = self._annotations.get(pod, {})
        undo = Registration(pod, local)
        read = replace(local, annotations_read=True)
        granted = local.memif.grant.count if local.memif is not None else 0
        try:
            custom = self._custom_interfaces(annotations, local.ifname, granted, pod)
        except CniError as error:
            self._pods[pod] = read  # read once: the error is recorded, not retried forever
            self._save()
            hint = (
                "; the ADD found no memif grant for it: a memif needs a new sandbox"
                if not granted
                else ""
            )
            raise PermanentError(
                f"{error.message} (read when the pod's annotations reached the agent, after "
                f"its CNI ADD{hint if 'memif' in error.message else ''})"
            ) from error
        memif = read.memif if any(i.type is CustomIfType.MEMIF for i in custom) else None
        self._pods[pod] = replace(
            read, custom=custom, microservice=microservice_label(annotations), memif=memif
        )
        self._save()
        names = ", ".join(map(str, custom))
        return UpdateResult(f"pod {pod} custom interfaces {names or 'none'}", undo=undo)

    def _registration(self, pod: PodID, event: AddPod) -> LocalPod:
        """The pod as an ADD registers it; a CniError when its annotations cannot be honoured."""
        request = event.request
        annotations = self._annotations.get(pod, {})
        grant = event.memif
        custom = self._custom_interfaces(
            annotations, request.ifname, grant.count if grant is not None else 0, pod
        )
        memif = None
        reflected = pod in self._annotations
        # Unreflected: its annotations, read when they come, may ask for the granted memifs.
        if grant is not None and (
            not reflected or any(i.type is CustomIfType.MEMIF for i in custom)
        ):
            memif = PodMemif(self._socket_id_for(pod), grant)
        return LocalPod(
            pod,
            request.container_id,
            request.netns,
            request.ifname,
            custom,
            microservice_label(annotations),
            memif,
            annotations_read=reflected,
        )

    def _custom_interfaces(
        self,
        annotations: dict[str, str],
        ifname: str,
        memifs_granted: int,
        pod: PodID | None = None,
    ) -> tuple[CustomInterface, ...]:
        """The annotation's custom interfaces; a CniError (INVALID_CONFIG) naming the
        annotation and the entry when they cannot be honoured."""
        try:
            return parse_custom_interfaces(
                annotations,
                main_interface=ifname,
                memifs_granted=memifs_granted,
                networks=self.networks.existing() if self.networks is not None else (),
                joinable=self.networks.joinable() if self.networks is not None else (),
            )
        except CustomIfError as error:
            prefix = f"pod {pod}: " if pod is not None else ""
            raise CniError(CniCode.INVALID_CONFIG, f"{prefix}{error}") from error

    def _socket_id_for(self, pod: PodID) -> int:
        """VPP's memif socket id for the pod: the one it has, else the lowest one free."""
        known = self._pods.get(pod)
        if known is not None and known.memif is not None:
            return known.memif.socket_id
        used = {p.memif.socket_id for p in self._pods.values() if p.memif is not None}
        socket_id = 1
        while socket_id in used:
            socket_id += 1
        return socket_id

    def _save(self) -> None:
        self._state.write(self._document)

    def _document(self) -> dict[str, Any]:
        return {"pods": [_entry(p) for p in sorted(self._pods.values(), key=lambda p: p.pod)]}


def _entry(pod: LocalPod) -> dict[str, Any]:
    """A pod's record in the state file (the file is written 0600: it holds memif secrets)."""
    entry: dict[str, Any] = {
        "namespace": pod.pod.namespace,
        "name": pod.pod.name,
        "container_id": pod.container_id,
        "netns": pod.netns,
        "ifname": pod.ifname,
    }
    if pod.custom:
        entry["custom"] = [str(i) for i in pod.custom]
    if pod.microservice:
        entry["microservice"] = pod.microservice
    if not pod.annotations_read:
        entry["annotations_read"] = False
    if pod.memif is not None:
        entry["memif"] = {
            "socket_id": pod.memif.socket_id,
            "allocations": [
                {"devices": list(a.device_ids), "dir": str(a.host_dir), "secret": a.secret}
                for a in pod.memif.grant.allocations
            ],
        }
    return entry


def _local_pod(entry: dict[str, Any]) -> LocalPod:
    """A pod read back from the state file (KeyError, TypeError, ValueError if malformed)."""
    custom = []
    for text in entry.get("custom", []):
        name, kind, network = str(text).split("/")
        custom.append(CustomInterface(name, CustomIfType(kind), network))
    memif = entry.get("memif")
    grant = None
    if memif is not None:
        allocations = tuple(
            MemifAllocation(tuple(map(str, a["devices"])), Path(a["dir"]), str(a["secret"]))
            for a in memif["allocations"]
        )
        grant = PodMemif(int(memif["socket_id"]), MemifGrant(allocations))
    return LocalPod(
        PodID(entry["namespace"], entry["name"]),
        entry["container_id"],
        entry["netns"],
        entry.get("ifname", "eth0"),
        tuple(custom),
        str(entry.get("microservice", "")),
        grant,
        annotations_read=bool(entry.get("annotations_read", True)),
    )
