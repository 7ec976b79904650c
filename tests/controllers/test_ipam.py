"""IPAM on its own (a real NodeSync over the session's etcd for the node ID, a real
PodManager, state files in a temporary directory): exhaustion, release, revert and what
survives a restart."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from contivpy.cni.types import CniCode, CniError
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import PodManager
from contivpy.controllers.state_file import StateFile
from contivpy.events.types import KubeState
from contivpy.settings import IpamSettings
from contivpy.store import Store
from controllers.parts import START, add, delete, nodesync_with_id, pod, pod_deleted

# A /29 per node: node 1's is 10.1.0.8/29, hosts 2..5 are pods' (1 is the gateway, 6 the NAT
# loopback).
SMALL = IpamSettings(pod_subnet_one_node_prefix_len=29)


def host(number: int) -> str:
    """A pod address of node 1."""
    return f"10.1.0.{8 + number}"


@dataclass
class Node:
    """The controllers IPAM works with, on one node, and how to restart them."""

    nodesync: NodeSync
    tmp_path: Path
    settings: IpamSettings
    pods: PodManager | None = None
    ipam: Ipam | None = None

    async def start(self, state: KubeState | None = None) -> Ipam:
        """(Re)start podmanager and IPAM from their state files and ``state``."""
        pods = PodManager(StateFile(self.tmp_path / "pods.json"), netns_exists=lambda _: True)
        ipam = Ipam(self.settings, self.nodesync, pods, StateFile(self.tmp_path / "ipam.json"))
        for controller in (pods, ipam):
            await controller.resync(START, state or {}, 1)
        self.pods, self.ipam = pods, ipam
        return ipam

    async def add(self, name: str, container: str = "c1") -> ipaddress.IPv4Address:
        """A CNI ADD as the loop runs it: podmanager, then IPAM."""
        assert self.pods is not None
        assert self.ipam is not None
        event = add(name, container)
        await self.pods.update(event)
        await self.ipam.update(event)
        ip = self.ipam.ip_of(PodID("default", name))
        assert isinstance(ip, ipaddress.IPv4Address)
        return ip

    def persist(self) -> None:
        assert self.pods is not None
        assert self.ipam is not None
        self.pods.persist()
        self.ipam.persist()


@pytest.fixture
async def node(store: Store, key_prefix: str, tmp_path: Path) -> Node:
    return Node(await nodesync_with_id("n1", store, key_prefix), tmp_path, SMALL)


async def test_exhaustion_is_a_cni_error_naming_the_subnet_and_allocates_nothing(
    node: Node,
) -> None:
    ipam = await node.start()
    ips = [await node.add(f"p{i}") for i in range(4)]
    assert [str(ip) for ip in ips] == [host(n) for n in (2, 3, 4, 5)]
    with pytest.raises(CniError, match=r"10\.1\.0\.8/29") as raised:
        await ipam.update(add("p4"))
    assert raised.value.code == CniCode.IP_EXHAUSTED
    assert PodID("default", "p4") not in ipam.allocations()
    assert len(ipam.allocations()) == 4


async def test_a_pod_keeps_its_ip_while_kubernetes_has_it_and_loses_it_when_gone(
    node: Node,
) -> None:
    reflected = pod("web")
    ipam = await node.start({"pod": {"default/web": reflected}})
    await node.add("web")
    assert node.pods is not None
    await node.pods.update(delete("web"))
    await ipam.update(delete("web"))
    # The CNI DEL came, but Kubernetes still has the pod: its IP is not handed out again.
    assert PodID("default", "web") in ipam.allocations()
    await ipam.update(pod_deleted(reflected))
    assert ipam.allocations() == {}


async def test_a_pod_unknown_to_kubernetes_is_released_by_its_cni_del(node: Node) -> None:
    ipam = await node.start()
    await node.add("web")
    assert node.pods is not None
    await node.pods.update(delete("web"))
    result = await ipam.update(delete("web"))
    assert ipam.allocations() == {}
    assert f"released {host(2)}" in result.change


async def test_revert_releases_only_what_the_add_allocated(node: Node) -> None:
    ipam = await node.start()
    kept = await node.add("web")
    # A new sandbox of the same pod keeps its IP: reverting that ADD must not release it.
    again = add("web", container="c2")
    result = await ipam.update(again)
    await ipam.revert(again, result.undo)
    assert ipam.ip_of(PodID("default", "web")) == kept
    # A new pod's reverted ADD frees its IP for the next pod.
    fresh = add("db")
    result = await ipam.update(fresh)
    await ipam.revert(fresh, result.undo)
    assert PodID("default", "db") not in ipam.allocations()
    assert str(await node.add("cache")) == host(4)  # round robin goes on after the last given


async def test_allocations_survive_a_restart_from_the_state_file_and_reflected_pods(
    node: Node,
) -> None:
    ipam = await node.start({"pod": {"default/gone": pod("gone")}})
    await node.add("local")
    await node.add("gone")
    assert node.pods is not None
    await node.pods.update(delete("gone"))
    await ipam.update(delete("gone"))  # kept: Kubernetes still has the pod
    node.persist()
    # Restarted after Kubernetes deleted "gone" (while the agent was down).
    reflected = {
        "default/local": pod("local"),
        "default/elsewhere": pod("elsewhere", ip=host(5)),  # reported by Kubernetes only
        "default/other-node": pod("other-node", node="n2", ip="10.1.0.18"),
    }
    ipam = await node.start({"pod": reflected})
    assert {str(k): str(v) for k, v in ipam.allocations().items()} == {
        "default/local": host(2),
        "default/elsewhere": host(5),
    }
    # What is held is never handed out again; what was freed is.
    assert str(await node.add("new")) == host(3)
