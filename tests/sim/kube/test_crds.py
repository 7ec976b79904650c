"""CRDs and the contivpp.io custom resources through CustomObjectsApi."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from contivpy.sim.kube import KubeApiError, KubeApiStandIn, contivpp_crds, contivpp_crds_yaml

GROUP, VERSION = "contivpp.io", "v1"
MERGE = "application/merge-patch+json"


def network(name: str, kind: str = "L2", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "contivpp.io/v1",
        "kind": "CustomNetwork",
        "metadata": {"name": name},
        "spec": {"type": kind, "subnetCIDR": "10.100.0.0/16", **extra},
    }


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


async def test_kinds_are_served_once_their_crds_exist(
    api_client: client.ApiClient, custom: client.CustomObjectsApi
) -> None:
    groups = await client.ApisApi(api_client).get_api_versions()
    assert GROUP not in {g.name for g in groups.groups}
    with pytest.raises(ApiException) as before:
        await custom.list_namespaced_custom_object(GROUP, VERSION, "default", "customnetworks")
    assert before.value.status == 404
    extensions = client.ApiextensionsV1Api(api_client)
    versions = []
    for crd in contivpp_crds():
        created = await extensions.create_custom_resource_definition(crd)
        established = {c.type: c.status for c in created.status.conditions}
        assert established == {"NamesAccepted": "True", "Established": "True"}
        versions.append(created.metadata.resource_version)
    groups = await client.ApisApi(api_client).get_api_versions()
    assert GROUP in {g.name for g in groups.groups}
    again = await extensions.patch_custom_resource_definition(
        "customnetworks.contivpp.io", contivpp_crds()[0]
    )
    assert again.metadata.resource_version == versions[0]  # re-applying a CRD changes nothing
    resources = await custom.get_api_resources(GROUP, VERSION)
    names = {r.name for r in resources.resources}
    assert {"customnetworks", "externalinterfaces", "servicefunctionchains"} <= names
    assert {"customconfigurations", "customnetworks/status"} <= names


async def test_custom_resources_list_watch_and_validate(
    kube: KubeApiStandIn, custom: client.CustomObjectsApi
) -> None:
    kube.install_contivpp_crds()
    listed = await custom.list_namespaced_custom_object(GROUP, VERSION, "default", "customnetworks")
    version = listed["metadata"]["resourceVersion"]
    created = await custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "customnetworks", network("net1", unknownField=1)
    )
    assert "unknownField" not in created["spec"]  # pruned, as the real server does
    assert created["metadata"]["generation"] == 1
    async with watch.Watch() as stream:
        events = []
        async with asyncio.timeout(5):
            async for event in stream.stream(
                custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                "default",
                "customnetworks",
                resource_version=version,
            ):
                events.append(event)
                break
    assert events[0]["type"] == "ADDED"
    assert events[0]["object"]["kind"] == "CustomNetwork"
    assert events[0]["object"]["apiVersion"] == "contivpp.io/v1"
    with pytest.raises(ApiException) as invalid:
        await custom.create_namespaced_custom_object(
            GROUP, VERSION, "default", "customnetworks", network("bad", kind="L4")
        )
    status = json.loads(invalid.value.body)
    assert status["code"] == 422
    assert status["details"]["causes"][0]["field"] == "spec.type"
    items = (
        await custom.list_namespaced_custom_object(GROUP, VERSION, "default", "customnetworks")
    )["items"]
    assert [(i["kind"], i["metadata"]["name"]) for i in items] == [("CustomNetwork", "net1")]


async def test_custom_resource_status_is_a_subresource(
    kube: KubeApiStandIn, custom: client.CustomObjectsApi
) -> None:
    kube.install_contivpp_crds()
    await custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "customnetworks", {**network("net1"), "status": {"x": 1}}
    )
    written = await custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "default",
        "customnetworks",
        "net1",
        {"status": {"status": "Success", "message": "rendered"}},
        _content_type=MERGE,
    )
    assert written["status"] == {"status": "Success", "message": "rendered"}
    assert written["metadata"]["generation"] == 1
    changed = await custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        "customnetworks",
        "net1",
        {"spec": {"type": "L3"}, "status": {"status": "Failure"}},
        _content_type=MERGE,
    )
    assert changed["spec"]["type"] == "L3"
    assert changed["status"]["status"] == "Success"
    assert changed["metadata"]["generation"] == 2


async def test_a_dict_sent_as_json_patch_is_refused(
    kube: KubeApiStandIn, custom: client.CustomObjectsApi
) -> None:
    # CustomObjectsApi labels a dict body application/json-patch+json unless told otherwise;
    # a real server refuses that, and so does the stand-in, so the mistake shows up in tests.
    kube.install_contivpp_crds()
    await custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "customnetworks", network("net1")
    )
    with pytest.raises(ApiException) as raised:
        await custom.patch_namespaced_custom_object(
            GROUP, VERSION, "default", "customnetworks", "net1", {"spec": {"type": "L3"}}
        )
    assert raised.value.status == 400


async def test_deleting_a_crd_removes_its_objects_and_kind(
    kube: KubeApiStandIn, api_client: client.ApiClient, custom: client.CustomObjectsApi
) -> None:
    kube.install_contivpp_crds()
    await custom.create_namespaced_custom_object(
        GROUP, VERSION, "default", "customnetworks", network("net1")
    )
    await client.ApiextensionsV1Api(api_client).delete_custom_resource_definition(
        "customnetworks.contivpp.io"
    )
    with pytest.raises(ApiException) as gone:
        await custom.list_namespaced_custom_object(GROUP, VERSION, "default", "customnetworks")
    assert gone.value.status == 404
    assert kube.api.store.count((GROUP, "customnetworks")) == 0
    sfc = {
        "apiVersion": "contivpp.io/v1",
        "kind": "ServiceFunctionChain",
        "metadata": {"name": "chain1"},
        "spec": {
            "network": "n",
            "chain": [{"name": "in", "type": "Pod", "podSelector": {"a": "b"}}],
        },
    }
    assert kube.apply(sfc)[0] == "created"


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ({"type": "L3", "subnetCIDR": "10.200.0.0/16", "subnetOneNodePrefixLen": 24}, None),
        ({"type": "L3", "subnetCIDR": "fd00:200::/48", "subnetOneNodePrefixLen": 64}, None),
        ({"type": "L2"}, None),
        ({"type": "L2", "subnetCIDR": ""}, None),  # empty: no subnet, as when absent
        # Syntax only: the octet 300 passes and the reflector's status refuses it.
        ({"type": "L3", "subnetCIDR": "10.300.0.0/16", "subnetOneNodePrefixLen": 24}, None),
        ({"type": "L3", "subnetCIDR": "net1"}, "spec.subnetCIDR"),
        ({"type": "L3", "subnetCIDR": "10.200.0.0"}, "spec.subnetCIDR"),
        ({"type": "L3", "subnetCIDR": "10.200.0.0/16 10.201.0.0/16"}, "spec.subnetCIDR"),
        ({"type": "L3", "subnetCIDR": "10.200.0.0/16\n"}, "spec.subnetCIDR"),
        ({"type": "L3", "subnetCIDR": "10.200.0.0/1600"}, "spec.subnetCIDR"),
        (
            {"type": "L3", "subnetCIDR": "10.200.0.0/16", "subnetOneNodePrefixLen": 0},
            "spec.subnetOneNodePrefixLen",
        ),
        (
            {"type": "L3", "subnetCIDR": "fd00::/48", "subnetOneNodePrefixLen": 129},
            "spec.subnetOneNodePrefixLen",
        ),
        ({"type": "L4"}, "spec.type"),
    ],
)
def test_custom_network_admission_checks_what_a_schema_can(
    kube: KubeApiStandIn, spec: dict[str, Any], refused: str | None
) -> None:
    kube.install_contivpp_crds()
    manifest = {
        "apiVersion": "contivpp.io/v1",
        "kind": "CustomNetwork",
        "metadata": {"name": "net1", "namespace": "default"},
        "spec": spec,
    }
    if refused is None:
        kube.apply(manifest)
        assert kube.get("contivpp.io/v1", "CustomNetwork", "net1", "default")["spec"] == spec
        return
    with pytest.raises(KubeApiError) as invalid:
        kube.apply(manifest)
    assert invalid.value.code == 422
    assert [c["field"] for c in (invalid.value.details or {})["causes"]] == [refused]


def test_crd_manifests_render_as_plain_yaml() -> None:
    text = contivpp_crds_yaml()
    assert "&id" not in text  # no YAML anchors from shared schema fragments
    documents = list(yaml.safe_load_all(text))
    assert [d["spec"]["names"]["kind"] for d in documents] == [
        "CustomNetwork",
        "ExternalInterface",
        "ServiceFunctionChain",
        "CustomConfiguration",
    ]
    for document in documents:
        version = document["spec"]["versions"][0]
        assert version["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] == "object"
