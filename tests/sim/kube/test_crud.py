"""Create, read, update, patch, delete and subresources, with the real server's refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from contivpy.sim.kube import KubeApiStandIn


def pod(name: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}], **spec},
    }


def status_of(error: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.body)
    return body


async def test_create_get_and_refusals(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_pod("default", pod("a"))
    assert created.status.phase == "Pending"
    assert created.spec.restart_policy == "Always"
    fetched = await core.read_namespaced_pod("a", "default")
    assert fetched.metadata.uid == created.metadata.uid
    with pytest.raises(ApiException) as exists:
        await core.create_namespaced_pod("default", pod("a"))
    assert exists.value.status == 409
    assert status_of(exists.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_pod("nope", "default")
    status = status_of(missing.value)
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 404, "NotFound")
    assert status["message"] == 'pods "nope" not found'
    with pytest.raises(ApiException) as no_namespace:
        await core.create_namespaced_pod("ghost", pod("a", namespace="ghost"))
    assert status_of(no_namespace.value)["message"] == 'namespaces "ghost" not found'


async def test_invalid_objects_are_422_with_causes(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as raised:
        await core.create_namespaced_pod("default", {"metadata": {"name": "Bad_Name"}, "spec": {}})
    status = status_of(raised.value)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    fields = {c["field"] for c in status["details"]["causes"]}
    assert fields == {"metadata.name", "spec.containers"}
    with pytest.raises(ApiException) as no_ports:
        await core.create_namespaced_service("default", {"metadata": {"name": "s"}, "spec": {}})
    assert status_of(no_ports.value)["details"]["causes"][0]["field"] == "spec.ports"


async def test_update_with_a_stale_version_conflicts(core: client.CoreV1Api) -> None:
    created = await core.create_namespaced_service(
        "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    )
    stale_version = created.metadata.resource_version
    created.spec.ports = [client.V1ServicePort(port=81)]
    current = await core.replace_namespaced_service("web", "default", created)
    assert current.metadata.generation == 2
    assert current.spec.ports[0].target_port == 81
    created.metadata.resource_version = stale_version
    with pytest.raises(ApiException) as stale:
        await core.replace_namespaced_service("web", "default", created)
    assert stale.value.status == 409
    assert "the object has been modified" in status_of(stale.value)["message"]


async def test_an_update_that_changes_nothing_stores_nothing(
    kube: KubeApiStandIn, core: client.CoreV1Api
) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    before = kube.api.store.resource_version
    same = await core.patch_namespaced_pod("a", "default", {"metadata": {"labels": {"app": "a"}}})
    assert kube.api.store.resource_version == before
    assert same.metadata.resource_version == str(before)


async def test_patch_kinds(core: client.CoreV1Api) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    merged = await core.patch_namespaced_pod(
        "a", "default", {"metadata": {"labels": {"tier": "web"}}}
    )
    assert merged.metadata.labels == {"app": "a", "tier": "web"}
    removed = await core.patch_namespaced_pod(
        "a",
        "default",
        {"metadata": {"labels": {"tier": None}}},
        _content_type="application/merge-patch+json",
    )
    assert removed.metadata.labels == {"app": "a"}
    json_patched = await core.patch_namespaced_pod(
        "a", "default", [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}}]
    )
    assert json_patched.metadata.annotations == {"k": "v"}
    with pytest.raises(ApiException) as immutable:
        await core.patch_namespaced_pod("a", "default", {"spec": {"hostNetwork": True}})
    assert immutable.value.status == 422
    with pytest.raises(ApiException) as conflict:
        await core.patch_namespaced_pod("a", "default", {"metadata": {"resourceVersion": "1"}})
    assert conflict.value.status == 409


async def test_pod_status_subresource(core: client.CoreV1Api) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    status = {
        "status": {
            "phase": "Running",
            "podIP": "10.1.1.2",
            "podIPs": [{"ip": "10.1.1.2"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
        "metadata": {"labels": {"ignored": "yes"}},
    }
    patched = await core.patch_namespaced_pod_status("a", "default", status)
    assert (patched.status.phase, patched.status.pod_ip) == ("Running", "10.1.1.2")
    assert "ignored" not in patched.metadata.labels
    merged = await core.patch_namespaced_pod_status(
        "a", "default", {"status": {"conditions": [{"type": "Initialized", "status": "True"}]}}
    )
    assert {c.type for c in merged.status.conditions} == {"Ready", "Initialized"}
    merged.status.phase = "Failed"
    main = await core.replace_namespaced_pod("a", "default", merged)
    assert main.status.phase == "Running"  # status is not written through the main resource
    main.status.phase = "Succeeded"
    written = await core.replace_namespaced_pod_status("a", "default", main)
    assert written.status.phase == "Succeeded"
    assert written.metadata.generation == 1


async def test_binding_sets_the_node_once(core: client.CoreV1Api) -> None:
    await core.create_namespaced_pod("default", pod("a"))
    binding = {"metadata": {"name": "a"}, "target": {"kind": "Node", "name": "node-1"}}

    async def bind() -> int:
        # The server answers with a Status, which the client cannot read as a V1Binding (a
        # known kubernetes client issue), so read the raw response as schedulers do.
        response = await core.create_namespaced_pod_binding(
            "a", "default", binding, _preload_content=False
        )
        response.release()
        return int(response.status)

    assert await bind() == 201
    bound = await core.read_namespaced_pod("a", "default")
    assert bound.spec.node_name == "node-1"
    assert bound.status.conditions[0].type == "PodScheduled"
    assert await bind() == 409


async def test_services_get_cluster_ips_and_node_ports(core: client.CoreV1Api) -> None:
    kubernetes = await core.read_namespaced_service("kubernetes", "default")
    assert kubernetes.spec.cluster_ip == "10.96.0.1"
    spec = {"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}
    created = await core.create_namespaced_service(
        "default", {"metadata": {"name": "web"}, "spec": spec}
    )
    assert created.spec.cluster_ip == "10.96.0.2"
    node_ports = [p.node_port for p in created.spec.ports]
    assert len(set(node_ports)) == 2
    assert all(30000 <= p < 32768 for p in node_ports)
    assert created.spec.ports[0].target_port == 80
    again = await core.patch_namespaced_service(
        "web", "default", {"spec": {"ports": [{"name": "a", "port": 80}]}}
    )
    assert again.spec.cluster_ip == "10.96.0.2"
    assert again.spec.ports[0].node_port == node_ports[0]


async def test_delete_and_namespace_cascade(kube: KubeApiStandIn, core: client.CoreV1Api) -> None:
    await core.create_namespace({"metadata": {"name": "team"}})
    await core.create_namespaced_pod("team", pod("a", namespace="team"))
    await core.create_namespaced_config_map("team", {"metadata": {"name": "cfg"}})
    with pytest.raises(ApiException) as precondition:
        await core.delete_namespaced_config_map(
            "cfg", "team", body={"preconditions": {"resourceVersion": "1"}}
        )
    assert precondition.value.status == 409
    gone = await core.delete_namespaced_pod("a", "team")
    assert gone.metadata.name == "a"
    await core.create_namespaced_pod("team", pod("b", namespace="team"))
    await core.delete_namespace("team")
    assert kube.list("v1", "Pod", "team") == []
    assert kube.list("v1", "ConfigMap", "team") == []
    with pytest.raises(ApiException) as missing:
        await core.delete_namespaced_pod("b", "team")
    assert missing.value.status == 404


async def test_delete_collection_with_a_selector(core: client.CoreV1Api) -> None:
    for name in ("a", "b", "c"):
        await core.create_namespaced_pod("default", pod(name))
    await core.delete_collection_namespaced_pod("default", label_selector="app in (a,b)")
    left = await core.list_namespaced_pod("default")
    assert [p.metadata.name for p in left.items] == ["c"]


async def test_python_api_writes_follow_the_same_rules(kube: KubeApiStandIn) -> None:
    action, created = kube.apply({"apiVersion": "v1", "kind": "Pod", **pod("a")})
    assert action == "created"
    assert created["metadata"]["namespace"] == "default"
    action, _ = kube.apply({"apiVersion": "v1", "kind": "Pod", **pod("a")})
    assert action == "unchanged"
    labelled = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "1"}}}
    assert kube.apply(labelled)[0] == "configured"
    assert kube.get("v1", "Pod", "a", "default")["metadata"]["labels"] == {"app": "a", "x": "1"}
    assert kube.find("v1", "Pod", "zz", "default") is None
    kube.delete("v1", "Pod", "a", "default")
    stats = kube.stats()
    assert stats["objects"]["pods"] == 0
    assert stats["removes"] == 1
