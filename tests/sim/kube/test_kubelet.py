"""The simulated scheduler and kubelets: nodes for pods, pod IPs through the callback."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes_asyncio import client

from contivpy.sim.kube import (
    ApiServerSettings,
    KubeApiStandIn,
    KubeletSettings,
    PodCidrAllocator,
    PodNetworkFailure,
)
from contivpy.sim.kube.pod_network import PodNetworkResult

FAST_RETRY = KubeletSettings(retry_initial=0.01, retry_max=0.05, max_attempts=3)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox"}], **spec},
    }


class FakeCni:
    """Hands out 10.1.<node index>.<n>; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[str] = []
        self.torn_down: list[str] = []

    async def setup(self, pod: dict[str, Any]) -> PodNetworkResult:
        self.calls.append(pod["metadata"]["name"])
        if self.failures:
            self.failures -= 1
            return PodNetworkFailure("vswitch not ready")
        node = pod["spec"]["nodeName"].rsplit("-", 1)[1]
        return f"10.1.{node}.{len(self.calls) + 1}"

    async def teardown(self, pod: dict[str, Any]) -> None:
        self.torn_down.append(pod["metadata"]["name"])


def running(kube: KubeApiStandIn, name: str) -> dict[str, Any] | None:
    found = kube.find("v1", "Pod", name, "default")
    return found if found and found["status"].get("phase") == "Running" else None


@pytest.fixture
def cni() -> FakeCni:
    return FakeCni()


@pytest.fixture
async def cluster(cni: FakeCni) -> AsyncIterator[KubeApiStandIn]:
    standin = KubeApiStandIn(
        settings=ApiServerSettings(bookmark_interval=0.1),
        pod_network=cni.setup,
        pod_teardown=cni.teardown,
        kubelet=FAST_RETRY,
    )
    async with standin:
        standin.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
        standin.register_node("node-2", "192.168.16.2", "10.1.2.0/24")
        yield standin


async def test_pods_are_spread_and_get_ips_from_the_callback(
    cluster: KubeApiStandIn, cni: FakeCni
) -> None:
    for name in ("a", "b", "c", "d"):
        cluster.create(pod(name))
    pods = [await cluster.wait_for(lambda n=name: running(cluster, n)) for name in "abcd"]
    assert Counter(p["spec"]["nodeName"] for p in pods) == {"node-1": 2, "node-2": 2}
    first = pods[0]
    node_index = first["spec"]["nodeName"][-1]
    assert first["status"]["podIP"].startswith(f"10.1.{node_index}.")
    assert first["status"]["podIPs"] == [{"ip": first["status"]["podIP"]}]
    assert first["status"]["hostIP"] == f"192.168.16.{node_index}"
    conditions = {c["type"]: c["status"] for c in first["status"]["conditions"]}
    assert conditions["Ready"] == conditions["PodScheduled"] == "True"
    assert first["status"]["containerStatuses"][0]["ready"] is True
    assert sorted(cni.calls) == ["a", "b", "c", "d"]


async def test_spec_node_name_and_host_network_are_honoured(
    cluster: KubeApiStandIn, cni: FakeCni
) -> None:
    cluster.create(pod("pinned", nodeName="node-2"))
    cluster.create(pod("host", hostNetwork=True, nodeName="node-1"))
    pinned = await cluster.wait_for(lambda: running(cluster, "pinned"))
    host = await cluster.wait_for(lambda: running(cluster, "host"))
    assert pinned["spec"]["nodeName"] == "node-2"
    assert host["status"]["podIP"] == "192.168.16.1"
    assert cni.calls == ["pinned"]  # host-network pods do not go through the CNI


async def test_a_failing_callback_records_an_event_and_is_retried(
    cluster: KubeApiStandIn, cni: FakeCni
) -> None:
    cni.failures = 1
    cluster.create(pod("a"))
    started = await cluster.wait_for(lambda: running(cluster, "a"))
    assert cni.calls == ["a", "a"]
    async with client.ApiClient(client.Configuration(host=cluster.url)) as api:
        events = await client.CoreV1Api(api).list_namespaced_event(
            "default", field_selector="involvedObject.name=a"
        )
    assert [(e.reason, e.type) for e in events.items] == [("FailedCreatePodSandBox", "Warning")]
    assert "vswitch not ready" in events.items[0].message
    conditions = {c["type"]: c["status"] for c in started["status"]["conditions"]}
    assert conditions["PodReadyToStartContainers"] == "True"


async def test_a_pod_that_never_gets_a_network_stays_pending(
    cluster: KubeApiStandIn, cni: FakeCni
) -> None:
    cni.failures = 10

    def failed_for_good() -> dict[str, Any] | None:
        return None if len(cni.calls) < FAST_RETRY.max_attempts else {}

    cluster.create(pod("a"))
    await cluster.wait_for(failed_for_good)
    stuck = cluster.get("v1", "Pod", "a", "default")
    assert stuck["status"]["phase"] == "Pending"
    conditions = {c["type"]: c for c in stuck["status"]["conditions"]}
    assert conditions["PodReadyToStartContainers"]["reason"] == "FailedCreatePodSandBox"


async def test_unschedulable_until_a_node_fits(cluster: KubeApiStandIn) -> None:
    cluster.create(pod("picky", nodeSelector={"zone": "b"}))

    def unschedulable() -> dict[str, Any] | None:
        found = cluster.get("v1", "Pod", "picky", "default")
        conditions = {c["type"]: c for c in found["status"].get("conditions", [])}
        scheduled = conditions.get("PodScheduled", {})
        return found if scheduled.get("reason") == "Unschedulable" else None

    waiting = await cluster.wait_for(unschedulable)
    assert "nodeName" not in waiting["spec"]
    cluster.register_node("node-3", "192.168.16.3", "10.1.3.0/24", labels={"zone": "b"})
    placed = await cluster.wait_for(lambda: running(cluster, "picky"))
    assert placed["spec"]["nodeName"] == "node-3"


async def test_deleting_a_networked_pod_tears_it_down(
    cluster: KubeApiStandIn, cni: FakeCni
) -> None:
    cluster.create(pod("a"))
    await cluster.wait_for(lambda: running(cluster, "a"))
    cluster.delete("v1", "Pod", "a", "default")
    await cluster.wait_for(lambda: cni.torn_down or None)
    assert cni.torn_down == ["a"]


async def test_round_robin_placement_and_the_cidr_allocator() -> None:
    standin: KubeApiStandIn
    allocator = PodCidrAllocator(lambda name: standin.find("v1", "Node", name))
    standin = KubeApiStandIn(
        pod_network=allocator.setup,
        pod_teardown=allocator.teardown,
        kubelet=KubeletSettings(placement="round-robin"),
    )
    async with standin:
        standin.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
        standin.register_node("node-2", "192.168.16.2", "10.1.2.0/24")
        for name in ("a", "b", "c"):
            standin.create(pod(name))
            await standin.wait_for(lambda n=name: running(standin, n))
        pods = {n: standin.get("v1", "Pod", n, "default") for n in "abc"}
        assert [pods[n]["spec"]["nodeName"] for n in "abc"] == ["node-1", "node-2", "node-1"]
        assert [pods[n]["status"]["podIP"] for n in "abc"] == ["10.1.1.2", "10.1.2.2", "10.1.1.3"]
        standin.delete("v1", "Pod", "a", "default")
        standin.create(pod("d", nodeName="node-1"))
        await standin.wait_for(lambda: running(standin, "d"))
        assert standin.get("v1", "Pod", "d", "default")["status"]["podIP"] == "10.1.1.2"


async def test_endpoints_follow_service_selectors_and_pod_readiness(
    cluster: KubeApiStandIn,
) -> None:
    web = pod("web-1")
    web["metadata"]["labels"] = {"app": "web"}
    web["spec"]["containers"][0]["ports"] = [{"name": "http", "containerPort": 8080}]
    cluster.create(web)
    cluster.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
        }
    )
    started = await cluster.wait_for(lambda: running(cluster, "web-1"))

    def endpoints() -> dict[str, Any] | None:
        found = cluster.find("v1", "Endpoints", "web", "default")
        return found if found and found.get("subsets") else None

    subsets = (await cluster.wait_for(endpoints))["subsets"]
    assert subsets[0]["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    address = subsets[0]["addresses"][0]
    assert address["ip"] == started["status"]["podIP"]
    assert address["targetRef"]["name"] == "web-1"
    assert address["nodeName"] == started["spec"]["nodeName"]
    cluster.delete("v1", "Pod", "web-1", "default")

    def emptied() -> dict[str, Any] | None:
        found = cluster.find("v1", "Endpoints", "web", "default")
        return found if found and not found.get("subsets") else None

    await cluster.wait_for(emptied)
    cluster.delete("v1", "Service", "web", "default")
    await cluster.wait_for(
        lambda: True if cluster.find("v1", "Endpoints", "web", "default") is None else None
    )
