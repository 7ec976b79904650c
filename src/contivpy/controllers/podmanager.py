"""The local pod registry: which pods this node has wired, with their sandbox.

In: AddPod / DeletePod events (from the CNI server) and resyncs. Out: the registry other
controllers read (container ID, netns path, interface name per pod), kept in a local state
file so an agent restart knows its pods without asking a container runtime (Contiv needed
Docker for that). Contributes no desired state itself. An ADD of a registered pod replaces
its registration (a new sandbox); its undo token (``Registration``) restores the old one.

On resync, pods whose network namespace no longer exists are dropped (the sandbox is gone;
the kubelet's DEL may never reach a restarted agent); their IPs are released by IPAM once
Kubernetes deletes the pods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from contivpy.controllers.base import ControllerBase
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.state_file import StateFile
from contivpy.events.types import AddPod, Config, DeletePod, Event, KubeState, UpdateResult

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LocalPod:
    """A pod wired on this node."""

    pod: PodID
    container_id: str
    netns: str
    ifname: str = "eth0"


@dataclass(frozen=True, slots=True)
class Registration:
    """Undo token of an AddPod: the pod registered and what it replaced (None: nothing)."""

    pod: PodID
    replaced: LocalPod | None


def pod_id(event: AddPod | DeletePod) -> PodID:
    """The PodID of a CNI event."""
    return PodID(event.request.pod.namespace, event.request.pod.name)


class PodManager(ControllerBase[Registration]):
    """See the module docstring."""

    name = "podmanager"

    def __init__(
        self, state: StateFile, *, netns_exists: Callable[[str], bool] = os.path.exists
    ) -> None:
        self._state = state
        self._netns_exists = netns_exists
        self._pods: dict[PodID, LocalPod] = {}

    @property
    def pods(self) -> Mapping[PodID, LocalPod]:
        """Local pods (read-only view)."""
        return self._pods

    def handles(self, event: Event) -> bool:
        return isinstance(event, AddPod | DeletePod)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        if resync_count > 1:
            return {}  # the registry is ours; later resyncs have nothing to add to it
        pods: dict[PodID, LocalPod] = {}
        for entry in self._state.read().get("pods", []):
            try:
                local = LocalPod(
                    PodID(entry["namespace"], entry["name"]),
                    entry["container_id"],
                    entry["netns"],
                    entry.get("ifname", "eth0"),
                )
            except (KeyError, TypeError):
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
            request = event.request
            undo = Registration(pod, self._pods.get(pod))
            self._pods[pod] = LocalPod(pod, request.container_id, request.netns, request.ifname)
            self._save()
            return UpdateResult(f"pod {pod} registered", undo=undo)
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

    def _save(self) -> None:
        self._state.write(self._document)

    def _document(self) -> dict[str, Any]:
        return {
            "pods": [
                {
                    "namespace": p.pod.namespace,
                    "name": p.pod.name,
                    "container_id": p.container_id,
                    "netns": p.netns,
                    "ifname": p.ifname,
                }
                for p in sorted(self._pods.values(), key=lambda p: p.pod)
            ]
        }
