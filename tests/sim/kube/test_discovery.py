"""Discovery documents and the kubeconfig, as clients use them to find the server's API."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from contivpy.sim.kube import KubeApiError, KubeApiStandIn
from contivpy.sim.kube.http_client import RestClient


@pytest.mark.parametrize("slash", ["", "/"])
async def test_discovery_documents(kube: KubeApiStandIn, slash: str) -> None:
    async with RestClient(kube.url) as rest:
        version = await rest.request("GET", "/version" + slash)
        assert version["major"] == "1"
        assert version["gitVersion"].startswith("v1.")
        core = await rest.request("GET", "/api" + slash)
        assert core["kind"] == "APIVersions"
        assert core["versions"] == ["v1"]
        v1 = await rest.request("GET", "/api/v1" + slash)
        names = {r["name"] for r in v1["resources"]}
        assert {"pods", "pods/status", "pods/binding", "namespaces", "services"} <= names
        assert {"endpoints", "nodes"} <= names
        groups = await rest.request("GET", "/apis" + slash)
        served = {g["name"]: [v["version"] for v in g["versions"]] for g in groups["groups"]}
        assert served["networking.k8s.io"] == ["v1"]
        assert served["discovery.k8s.io"] == ["v1"]
        assert served["apiextensions.k8s.io"] == ["v1"]
        networking = await rest.request("GET", "/apis/networking.k8s.io/v1" + slash)
        policy = next(r for r in networking["resources"] if r["name"] == "networkpolicies")
        assert policy["namespaced"] is True
        assert "watch" in policy["verbs"]
        group = await rest.request("GET", "/apis/discovery.k8s.io" + slash)
        assert group["preferredVersion"]["groupVersion"] == "discovery.k8s.io/v1"
        pods = await rest.request("GET", "/api/v1/namespaces/default/pods" + slash)
        assert pods["kind"] == "PodList"


async def test_typed_clients_for_every_reflected_kind(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    assert (await core.list_namespace()).items
    assert (await core.list_service_for_all_namespaces()).items[0].metadata.name == "kubernetes"
    assert (await core.list_endpoints_for_all_namespaces()).items
    assert (await core.list_node()).items == []
    policies = client.NetworkingV1Api(api_client)
    policy = {
        "metadata": {"name": "deny"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    await policies.create_namespaced_network_policy("default", policy)
    listed = await policies.list_network_policy_for_all_namespaces()
    assert [p.metadata.name for p in listed.items] == ["deny"]
    slices = client.DiscoveryV1Api(api_client)
    assert (await slices.list_endpoint_slice_for_all_namespaces()).items == []
    version = await client.VersionApi(api_client).get_code()
    assert version.major == "1"


async def test_kubeconfig_loads_into_kubernetes_asyncio(
    kube: KubeApiStandIn, tmp_path: Path
) -> None:
    path = kube.write_kubeconfig(tmp_path / "kubeconfig")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == kube.url
    async with client.ApiClient(configuration) as api:
        namespaces = await client.CoreV1Api(api).list_namespace()
    assert {n.metadata.name for n in namespaces.items} >= {"default", "kube-system"}


async def test_unknown_paths_are_404_status(kube: KubeApiStandIn) -> None:
    async with RestClient(kube.url) as rest:
        for path in ("/api/v2", "/apis/nope.io", "/api/v1/widgets", "/api/v1/pods/x/y/z"):
            with pytest.raises(KubeApiError) as raised:
                await rest.request("GET", path)
            assert raised.value.code == 404
