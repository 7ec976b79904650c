"""Building blocks for testing one controller on its own: CNI events, reflected pods, a
NodeSync that claimed its node ID in the session's real etcd, and ``NodeRig`` (a node's base
controllers with the one under test on top, fed as the event loop feeds them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from contivpy.cni.types import CniRequest, PodRef
from contivpy.controllers.base import ControllerBase
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.podmanager import PodManager
from contivpy.controllers.state_file import StateFile
from contivpy.events.types import (
    AddPod,
    Config,
    DBResync,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    ResyncResult,
    UpdateResult,
)
from contivpy.models.k8s_codec import K8sModel, Pod, VppNode, id_of, key_of
from contivpy.settings import AgentSettings
from contivpy.store import Store

START = DBResync({}, revision=1)
RIG_NODE = "n1"
RIG_SETTINGS = AgentSettings(node_name=RIG_NODE)


def request(name: str, container: str = "c1", namespace: str = "default") -> CniRequest:
    """A CNI request for a pod in the sandbox ``container``."""
    netns = f"/var/run/netns/{name}-{container}"
    return CniRequest(container, netns, "eth0", PodRef(namespace, name))


def add(name: str, container: str = "c1") -> AddPod:
    return AddPod(request(name, container))


def delete(name: str, container: str = "c1") -> DeletePod:
    return DeletePod(request(name, container))


def pod(name: str, node: str = "n1", ip: str = "", namespace: str = "default") -> Pod:
    """A reflected Kubernetes pod scheduled on ``node``."""
    return Pod(name=name, namespace=namespace, node_name=node, ip_address=ip)


def pod_deleted(model: Pod) -> KubeStateChange:
    """The reflector's deletion of a pod."""
    return KubeStateChange("pod", key_of(model), model, None, revision=99)


async def nodesync_with_id(node: str, store: Store, prefix: str) -> NodeSync:
    """A NodeSync that claimed its node ID (a first resync, nothing reflected yet)."""
    nodesync = NodeSync(node, store, key_prefix=prefix)
    await nodesync.resync(START, {}, 1)
    assert nodesync.node_id is not None
    return nodesync


@dataclass
class NodeRig:
    """One node's nodesync, podmanager and IPAM with the controller under test on top
    (``controller()``, ``top``), fed reflected changes and CNI events as the event loop feeds
    them: handlers in order, reversed for a DeletePod. ``state`` is what the reflector has put
    in etcd (node ``n1`` with ID 1: pods in 10.1.1.0/24, VPP at 192.168.16.1)."""

    dir: Path
    state: KubeState = field(default_factory=dict)
    resync_change: str = ""  # the line of the last resync's record

    def __post_init__(self) -> None:
        self.put_state(VppNode(id=1, name=RIG_NODE, ip_addresses=["192.168.16.1/24"]))
        self.build()

    def build(self) -> None:
        """(Re)make the controllers, as an agent restart does."""
        self.nodesync = NodeSync(RIG_NODE, cast(Store, None), key_prefix="/t/")
        self.pods = PodManager(StateFile(self.dir / "pods.json"), netns_exists=lambda _: True)
        self.ipam = Ipam(
            RIG_SETTINGS.ipam, self.nodesync, self.pods, StateFile(self.dir / "ipam.json")
        )
        self.top = self.controller()

    def controller(self) -> ControllerBase[Any]:
        raise NotImplementedError

    def put_state(self, model: K8sModel) -> KubeStateChange:
        """``model`` reflected (added or changed): the change the agent gets."""
        resource, key = id_of(model).resource, key_of(model)
        prev = self.state.setdefault(resource, {}).get(key)
        self.state[resource][key] = model
        return KubeStateChange(resource, key, prev, model, revision=2)

    def drop_state(self, model: K8sModel) -> KubeStateChange:
        """``model`` removed from the reflected state: the change the agent gets."""
        resource, key = id_of(model).resource, key_of(model)
        prev = self.state.get(resource, {}).pop(key, None)
        return KubeStateChange(resource, key, prev, None, revision=2)

    async def resync(self) -> Config:
        """A full resync of ``state``: the controller under test's desired configuration."""
        event = DBResync(self.state, revision=1)
        for controller in (self.nodesync, self.pods, self.ipam):
            await controller.resync(event, self.state, 1)
        built = await self.top.resync(event, self.state, 1)
        assert isinstance(built, ResyncResult)
        self.resync_change = built.change
        return built.config

    async def one(self, event: Event) -> UpdateResult[Any]:
        """One event, without its follow-ups: the controller under test's result."""
        controllers: list[ControllerBase[Any]] = [self.nodesync, self.pods, self.ipam, self.top]
        if isinstance(event, DeletePod):
            controllers.reverse()
        found: UpdateResult[Any] = UpdateResult()
        for controller in controllers:
            if controller.handles(event):
                result = await controller.update(event)
                if controller is self.top:
                    found = result
        return found
