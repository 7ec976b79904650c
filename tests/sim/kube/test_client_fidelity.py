"""What real clients rely on, over plain HTTP (kubectl drives the same in test_kubectl.py):
OpenAPI v3 documents, fieldValidation=Strict, dryRun=All, Table responses, events.k8s.io/v1
Events, strategic merge patch directives, and the generic built-in kinds."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from contivpy.sim.kube import KubeApiError, KubeApiStandIn, contivpp_crds
from contivpy.sim.kube.http_client import RestClient
from contivpy.sim.kube.patching import STRATEGIC_MERGE_PATCH, apply_patch
from contivpy.sim.kube.tables import human_duration

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox", **container}]},
    }


async def test_openapi_v3_names_each_kinds_patch_with_field_validation(
    kube: KubeApiStandIn,
) -> None:
    kube.install_contivpp_crds()
    async with RestClient(kube.url) as rest:
        root = await rest.request("GET", "/openapi/v3")
        assert {"api/v1", "apis/apps/v1", "apis/contivpp.io/v1"} <= set(root["paths"])
        url = root["paths"]["apis/contivpp.io/v1"]["serverRelativeURL"]
        assert url.startswith("/openapi/v3/apis/contivpp.io/v1?hash=")
        document = await rest.request("GET", url)
        item = document["paths"][
            "/apis/contivpp.io/v1/namespaces/{namespace}/customnetworks/{name}"
        ]
        patch = item["patch"]
        assert patch["x-kubernetes-group-version-kind"] == {
            "group": "contivpp.io",
            "version": "v1",
            "kind": "CustomNetwork",
        }
        assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in patch[
            "parameters"
        ]
        schema = document["components"]["schemas"]["io.contivpp.v1.CustomNetwork"]
        crd = next(c for c in contivpp_crds() if c["spec"]["names"]["kind"] == "CustomNetwork")
        source = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert {k: v for k, v in schema.items() if k != "x-kubernetes-group-version-kind"} == (
            source
        )
        core = await rest.request("GET", root["paths"]["api/v1"]["serverRelativeURL"])
        pod_schema = core["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
        assert pod_schema["properties"]["spec"]["required"] == ["containers"]
        with pytest.raises(KubeApiError) as raised:
            await rest.request("GET", "/openapi/v3/apis/nope.io/v1")
        assert raised.value.code == 404


async def test_strict_field_validation_names_unknown_fields(kube: KubeApiStandIn) -> None:
    async with RestClient(kube.url) as rest:
        with pytest.raises(KubeApiError) as raised:
            await rest.request(
                "POST", f"{PODS}?fieldValidation=Strict", pod("a", imagee="x", nme="y")
            )
        assert raised.value.code == 400
        assert raised.value.message == (
            'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
            'unknown field "spec.containers[0].imagee", unknown field "spec.containers[0].nme"'
        )
        assert kube.find("v1", "Pod", "a", "default") is None
        # A strategic merge patch's directives are not fields.
        await rest.request("POST", f"{PODS}?fieldValidation=Strict", pod("a"))
        directives = {"spec": {"$setElementOrder/containers": [{"name": "main"}]}}
        await rest.request(
            "PATCH", f"{PODS}/a?fieldValidation=Strict", directives, STRATEGIC_MERGE_PATCH
        )
        with pytest.raises(KubeApiError, match="fieldValidation: Unsupported value"):
            await rest.request("POST", f"{PODS}?fieldValidation=Loose", pod("b"))


async def test_dry_run_answers_without_storing(kube: KubeApiStandIn) -> None:
    async with RestClient(kube.url) as rest:
        version = kube.stats()["resourceVersion"]
        created = await rest.request("POST", f"{PODS}?dryRun=All", pod("dry"))
        assert created["metadata"]["uid"]
        assert created["status"]["phase"] == "Pending"  # defaulted as if stored
        assert kube.find("v1", "Pod", "dry", "default") is None
        with pytest.raises(KubeApiError) as raised:
            await rest.request("POST", f"{PODS}?dryRun=All", pod("dry", image=""))
        assert raised.value.code == 422  # validated all the same
        await rest.request("POST", PODS, pod("kept"))
        version = kube.stats()["resourceVersion"]
        patch = {"metadata": {"labels": {"a": "b"}}}
        patched = await rest.request(
            "PATCH", f"{PODS}/kept?dryRun=All", patch, "application/merge-patch+json"
        )
        assert patched["metadata"]["labels"] == {"a": "b"}
        await rest.request("DELETE", f"{PODS}/kept?dryRun=All")
        await rest.request("DELETE", f"{PODS}/kept", {"dryRun": ["All"]})
        assert kube.stats()["resourceVersion"] == version
        assert "labels" not in kube.get("v1", "Pod", "kept", "default")["metadata"]
        with pytest.raises(KubeApiError, match="dryRun: Unsupported value"):
            await rest.request("POST", f"{PODS}?dryRun=Some", pod("x"))


async def test_tables_for_lists_single_objects_and_custom_resources(
    kube: KubeApiStandIn,
) -> None:
    kube.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
    kube.create(pod("web"))
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.get(kube.url + PODS, headers=accept) as response:
            listed = await response.json()
        async with session.get(
            f"{kube.url}/api/v1/nodes/node-1?includeObject=None", headers=accept
        ) as response:
            node = await response.json()
        async with session.get(kube.url + PODS) as response:
            plain = await response.json()
    assert listed["kind"] == "Table"
    names = [c["name"] for c in listed["columnDefinitions"]]
    assert names[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert {c["name"] for c in listed["columnDefinitions"] if c["priority"] == 1} >= {"IP", "Node"}
    (row,) = listed["rows"]
    assert row["cells"][:4] == ["web", "0/1", "Pending", "0"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert node["rows"][0]["cells"][:2] == ["node-1", "Ready"]
    assert "object" not in node["rows"][0]
    assert plain["kind"] == "PodList"


def test_ages_read_as_kubectl_prints_them() -> None:
    samples = {0: "0s", 119: "119s", 120: "2m", 302: "5m2s", 700: "11m", 3 * 3600 + 60: "3h1m"}
    samples |= {9 * 3600: "9h", 50 * 3600: "2d2h", 10 * 86400: "10d", 800 * 86400: "2y70d"}
    for seconds, text in samples.items():
        assert human_duration(seconds) == text


async def test_events_k8s_io_is_a_view_of_core_events(kube: KubeApiStandIn) -> None:
    path = "/apis/events.k8s.io/v1/namespaces/default/events"
    event = {
        "metadata": {"name": "e1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "contivpy-agent",
        "reportingInstance": "node-1",
        "action": "Wire",
        "reason": "BadCustomInterface",
        "note": "annotation contivpp.io/custom-if: bad",
        "type": "Warning",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u1"},
    }
    async with RestClient(kube.url) as rest:
        created = await rest.request("POST", path, event)
        assert created["apiVersion"] == "events.k8s.io/v1"
        assert created["note"] == event["note"]
        core = kube.get("v1", "Event", "e1", "default")
        assert core["message"] == event["note"]
        assert core["involvedObject"]["name"] == "web"
        assert core["reportingComponent"] == "contivpy-agent"
        selected = await rest.request("GET", f"{path}?fieldSelector=regarding.name%3Dweb")
        assert [e["note"] for e in selected["items"]] == [event["note"]]
        by_uid = "/api/v1/namespaces/default/events?fieldSelector=involvedObject.uid%3Du1"
        assert [e["message"] for e in (await rest.request("GET", by_uid))["items"]] == [
            event["note"]
        ]
        patched = await rest.request(
            "PATCH", f"{path}/e1", {"note": "fixed"}, "application/merge-patch+json"
        )
        assert patched["note"] == "fixed"
        assert kube.get("v1", "Event", "e1", "default")["message"] == "fixed"


def test_strategic_merge_patch_directives_kubectl_sends() -> None:
    live = {"spec": {"finalizers": ["a", "b"], "containers": [{"name": "x", "image": "1"}]}}
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "x"}],
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "containers": [{"name": "x", "image": "2"}],
        }
    }
    assert apply_patch(live, patch, STRATEGIC_MERGE_PATCH) == {
        "spec": {"finalizers": ["b"], "containers": [{"name": "x", "image": "2"}]}
    }


async def test_generic_built_in_kinds_are_served_checked_and_listed(
    kube: KubeApiStandIn,
) -> None:
    async with RestClient(kube.url) as rest:
        apps = await rest.request("GET", "/apis/apps/v1")
        assert {r["name"] for r in apps["resources"]} >= {"daemonsets", "deployments"}
        path = "/apis/apps/v1/namespaces/default/daemonsets"
        with pytest.raises(KubeApiError) as raised:
            await rest.request("POST", path, {"metadata": {"name": "ds"}, "spec": {}})
        assert raised.value.code == 422
        assert "spec.selector: Required value" in raised.value.message
        daemonset = {
            "metadata": {"name": "ds"},
            "spec": {
                "selector": {"matchLabels": {"app": "a"}},
                "template": {
                    "metadata": {"labels": {"app": "a"}},
                    "spec": {"containers": [{"name": "a", "image": "a"}]},
                },
            },
        }
        await rest.request("POST", path, daemonset)
        listed = await rest.request("GET", "/apis/apps/v1/daemonsets")
        assert [d["metadata"]["name"] for d in listed["items"]] == ["ds"]
        lease = {"metadata": {"name": "l"}, "spec": {"leaseDurationSeconds": "15"}}
        with pytest.raises(KubeApiError, match=r"spec\.leaseDurationSeconds"):
            await rest.request(
                "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease
            )


async def test_a_crds_printer_columns_make_its_table(kube: KubeApiStandIn) -> None:
    crd = contivpp_crds()[0]
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Type", "type": "string", "jsonPath": ".spec.type"},
        {"name": "Subnet", "type": "string", "jsonPath": ".spec.subnetCIDR", "priority": 1},
    ]
    kube.apply(crd)
    network = {"metadata": {"name": "n1"}, "spec": {"type": "L3", "subnetCIDR": "10.9.0.0/16"}}
    kube.create({"apiVersion": "contivpp.io/v1", "kind": "CustomNetwork", **network})
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    path = "/apis/contivpp.io/v1/namespaces/default/customnetworks"
    async with (
        aiohttp.ClientSession() as session,
        session.get(kube.url + path, headers=accept) as response,
    ):
        listed = await response.json()
    columns = [(c["name"], c["priority"]) for c in listed["columnDefinitions"]]
    assert columns == [("Name", 0), ("Type", 0), ("Subnet", 1)]
    assert listed["rows"][0]["cells"] == ["n1", "L3", "10.9.0.0/16"]
