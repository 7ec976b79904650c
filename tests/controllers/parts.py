"""Building blocks for testing one controller on its own: CNI events, reflected pods, and a
NodeSync that claimed its node ID in the session's real etcd."""

from __future__ import annotations

from contivpy.cni.types import CniRequest, PodRef
from contivpy.controllers.nodesync import NodeSync
from contivpy.events.types import AddPod, DBResync, DeletePod, KubeStateChange
from contivpy.models.k8s_codec import Pod, key_of
from contivpy.store import Store

START = DBResync({}, revision=1)


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
