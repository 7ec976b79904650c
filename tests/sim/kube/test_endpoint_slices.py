"""The stand-in's endpointslice controller, and discovery.k8s.io/v1 served to real clients.

In: Services and pods created in a stand-in with two simulated nodes (and, for the pure part,
service and pod JSON). Out (checked): the EndpointSlices kube-controller-manager would keep —
one per service and family, labelled with the service and the managing controller, owned by
the service, each endpoint with its conditions, node and pod, named target ports resolved — as
kubernetes_asyncio lists and watches them and a real kubectl prints them; kept in step as pods
come and go, rewritten when deleted by hand, gone with their service; slices of others left
alone.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, watch

from contivpy.sim.kube import ApiServerSettings, KubeApiStandIn, KubeletSettings
from contivpy.sim.kube.endpoint_slices import MAX_ENDPOINTS, desired_slices
from contivpy.sim.kube.pod_network import PodNetworkResult

MANAGED = "endpointslice.kubernetes.io/managed-by"
SERVICE_LABEL = "kubernetes.io/service-name"


def pod(name: str, app: str = "web", port: int = 8080) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "busybox",
                    "ports": [{"name": "web", "containerPort": port}],
                }
            ]
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "web"}],
    },
}


async def network(pod: dict[str, Any]) -> PodNetworkResult:
    node = pod["spec"]["nodeName"].rsplit("-", 1)[1]
    return f"10.1.{node}.{int(pod['metadata']['name'].rsplit('-', 1)[1]) + 10}"


@pytest.fixture
async def cluster() -> AsyncIterator[KubeApiStandIn]:
    standin = KubeApiStandIn(
        settings=ApiServerSettings(bookmark_interval=0.1),
        pod_network=network,
        kubelet=KubeletSettings(retry_initial=0.01, retry_max=0.05, max_attempts=3),
    )
    async with standin:
        standin.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
        standin.register_node("node-2", "192.168.16.2", "10.1.2.0/24")
        yield standin


def slices_of(kube: KubeApiStandIn, service: str) -> list[dict[str, Any]]:
    return [
        s
        for s in kube.list("discovery.k8s.io/v1", "EndpointSlice", "default")
        if s["metadata"].get("labels", {}).get(SERVICE_LABEL) == service
    ]


def addresses(endpoint_slice: dict[str, Any]) -> list[str]:
    return sorted(a for e in endpoint_slice.get("endpoints") or [] for a in e["addresses"])


async def settled(kube: KubeApiStandIn, want: list[str]) -> dict[str, Any]:
    """The one slice of web once it holds exactly ``want``."""

    def check() -> dict[str, Any] | None:
        found = slices_of(kube, "web")
        return found[0] if len(found) == 1 and addresses(found[0]) == sorted(want) else None

    return await kube.wait_for(check)


async def test_a_service_gets_one_slice_kept_in_step_with_its_pods(
    cluster: KubeApiStandIn,
) -> None:
    cluster.create(SERVICE)
    empty = await settled(cluster, [])  # the controller's placeholder: no pods yet
    assert empty["addressType"] == "IPv4"
    for name in ("web-1", "web-2"):
        cluster.create(pod(name))
    one = await settled(cluster, ["10.1.1.11", "10.1.2.12"])
    assert one["metadata"]["name"].startswith("web-")
    assert one["metadata"]["name"] == empty["metadata"]["name"]  # replaced in place
    labels = one["metadata"]["labels"]
    assert labels[SERVICE_LABEL] == "web"
    assert labels[MANAGED] == "endpointslice-controller.k8s.io"
    assert labels["tier"] == "front"
    (owner,) = one["metadata"]["ownerReferences"]
    service = cluster.get("v1", "Service", "web", "default")
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Service",
        "web",
        service["metadata"]["uid"],
    )
    assert one["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    first = one["endpoints"][0]
    assert first["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert first["nodeName"] == "node-1"
    assert first["targetRef"]["kind"] == "Pod"
    assert first["targetRef"]["name"] == "web-1"
    assert (
        first["targetRef"]["uid"] == cluster.get("v1", "Pod", "web-1", "default")["metadata"]["uid"]
    )

    cluster.delete("v1", "Pod", "web-1", "default")
    await settled(cluster, ["10.1.2.12"])
    cluster.delete("v1", "Service", "web", "default")
    await cluster.wait_for(lambda: not slices_of(cluster, "web") or None)


async def test_named_ports_differing_per_pod_give_one_slice_each(cluster: KubeApiStandIn) -> None:
    cluster.create(SERVICE)
    cluster.create(pod("web-1", port=8080))
    cluster.create(pod("web-2", port=9090))

    def two() -> list[dict[str, Any]] | None:
        found = slices_of(cluster, "web")
        return found if sum(len(addresses(s)) for s in found) == 2 and len(found) == 2 else None

    found = await cluster.wait_for(two)
    by_port = {s["ports"][0]["port"]: addresses(s) for s in found}
    assert by_port == {8080: ["10.1.1.11"], 9090: ["10.1.2.12"]}


async def test_a_managed_slice_deleted_by_hand_comes_back_and_others_are_left_alone(
    cluster: KubeApiStandIn,
) -> None:
    cluster.create(SERVICE)
    cluster.create(pod("web-1"))
    mine = await settled(cluster, ["10.1.1.11"])
    theirs = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "web-extra",
            "namespace": "default",
            "labels": {SERVICE_LABEL: "web-by-hand", MANAGED: "someone-else"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.9.9.9"]}],
        "ports": [{"name": "http", "port": 80}],
    }
    cluster.create(theirs)
    cluster.delete("discovery.k8s.io/v1", "EndpointSlice", mine["metadata"]["name"], "default")
    again = await settled(cluster, ["10.1.1.11"])
    assert again["metadata"]["name"] != mine["metadata"]["name"]
    assert addresses(
        cluster.get("discovery.k8s.io/v1", "EndpointSlice", "web-extra", "default")
    ) == ["10.9.9.9"]


async def test_kubernetes_asyncio_lists_and_watches_slices(cluster: KubeApiStandIn) -> None:
    async with client.ApiClient(client.Configuration(host=cluster.url)) as api:
        discovery = client.DiscoveryV1Api(api)
        listed = await discovery.list_endpoint_slice_for_all_namespaces()
        assert listed.items == []
        cluster.create(SERVICE)
        cluster.create(pod("web-1"))
        seen: list[tuple[str, list[str]]] = []
        async with watch.Watch() as watcher, asyncio.timeout(10):
            async for event in watcher.stream(
                discovery.list_endpoint_slice_for_all_namespaces,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=5,
            ):
                obj = event["object"]
                seen.append((event["type"], [a for e in obj.endpoints or [] for a in e.addresses]))
                if seen[-1] == ("MODIFIED", ["10.1.1.11"]):
                    break
        assert seen[0] == ("ADDED", [])
        assert obj.metadata.labels[SERVICE_LABEL] == "web"
        assert obj.endpoints[0].conditions.ready is True
        assert obj.endpoints[0].node_name == "node-1"
        assert obj.ports[0].port == 8080
        one = await discovery.read_namespaced_endpoint_slice(obj.metadata.name, "default")
        assert one.address_type == "IPv4"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_gets_endpointslices(cluster: KubeApiStandIn, tmp_path: Path) -> None:
    cluster.create(SERVICE)
    cluster.create(pod("web-1"))
    one = await settled(cluster, ["10.1.1.11"])
    config = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    process = await asyncio.create_subprocess_exec(
        "kubectl",
        f"--kubeconfig={config}",
        "get",
        "endpointslices",
        "-n",
        "default",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    rows = [line.split() for line in out.decode().splitlines()]
    assert rows[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    row = next(r for r in rows if r[0] == one["metadata"]["name"])
    assert row[1:4] == ["IPv4", "8080", "10.1.1.11"]


# -- the pure part: conditions, families, chunks --------------------------------------------


def running_pod(name: str, ip: str, *, ready: bool = True, **extra: Any) -> dict[str, Any]:
    obj = pod(name)
    obj["metadata"]["uid"] = f"uid-{name}"
    obj["metadata"].update(extra)
    obj["spec"]["nodeName"] = "node-1"
    ips = [{"ip": a} for a in ip.split(",")]
    obj["status"] = {
        "phase": "Running",
        "podIP": ips[0]["ip"],
        "podIPs": ips,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    return obj


def test_conditions_follow_readiness_and_termination() -> None:
    (found,) = desired_slices(
        SERVICE,
        [
            running_pod("a-1", "10.1.1.1"),
            running_pod("a-2", "10.1.1.2", ready=False),
            running_pod("a-3", "10.1.1.3", deletionTimestamp="2026-01-01T00:00:00Z"),
        ],
    )
    conditions = {e["addresses"][0]: e["conditions"] for e in found["endpoints"]}
    assert conditions == {
        "10.1.1.1": {"ready": True, "serving": True, "terminating": False},
        "10.1.1.2": {"ready": False, "serving": False, "terminating": False},
        "10.1.1.3": {"ready": False, "serving": True, "terminating": True},
    }


def test_a_dual_stack_service_gets_a_slice_per_family() -> None:
    dual = {**SERVICE, "spec": {**SERVICE["spec"], "ipFamilies": ["IPv4", "IPv6"]}}
    found = desired_slices(dual, [running_pod("a-1", "10.1.1.1,fd00:1:1::1")])
    assert [(s["addressType"], addresses(s)) for s in found] == [
        ("IPv4", ["10.1.1.1"]),
        ("IPv6", ["fd00:1:1::1"]),
    ]
    single = desired_slices(SERVICE, [running_pod("a-1", "10.1.1.1,fd00:1:1::1")])
    assert [s["addressType"] for s in single] == ["IPv4"]


def test_a_large_service_is_cut_into_slices_of_at_most_100() -> None:
    pods = [running_pod(f"a-{i}", f"10.1.{i // 200}.{i % 200 + 1}") for i in range(250)]
    found = desired_slices(SERVICE, pods)
    assert [len(s["endpoints"]) for s in found] == [MAX_ENDPOINTS, MAX_ENDPOINTS, 50]
    assert len({a for s in found for a in addresses(s)}) == 250
