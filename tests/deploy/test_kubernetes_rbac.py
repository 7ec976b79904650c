"""deploy/kubernetes/rbac.yaml grants each component exactly the API requests its code makes.

The reflector's requests are derived from the code itself: the collections it lists and
watches (``contivpy.reflector.kinds.KINDS``), the requests ``ObjectStatus`` makes when it
writes the status of each kind that gets one (recorded through a ``KubeWriter`` that answers
like an API server), for the plurals crd_status and custom_config_writer write, and those
``RefusalEvents`` makes for a refused Service, Endpoints with a bad address and a refused
NetworkPolicy. The expected
rules are each request's (API group, resource, verb), the same triple an API server's RBAC
authorizer checks. The agent makes none: it has no role and no token.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from contivpy.backoff import Backoff
from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    IpBlock,
    Policy,
    PolicyIngressRule,
    PolicyPeer,
    Service,
    ServicePort,
    SliceEndpoint,
    encode,
    key_of,
)
from contivpy.reflector import crd_status, custom_config_writer
from contivpy.reflector.kinds import KINDS
from contivpy.reflector.object_status import ObjectStatus, Readiness, object_path
from contivpy.reflector.policy_events import POLICY, PolicyChecker
from contivpy.reflector.refusal_events import RefusalEvents
from contivpy.reflector.service_events import ENDPOINT_SLICE, ENDPOINTS, SERVICE, ServiceChecker
from contivpy.reflector.view import ReflectedView
from contivpy.store import ValueCompare

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
Access = tuple[str, str, str]  # (API group, resource[/subresource], verb)


def _docs(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((KUBE / name).read_text()) if doc]


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def access(method: str, path: str) -> Access:
    """The RBAC triple of one request: ``GET /apis/g/v1/namespaces/ns/plural/x`` -> get."""
    parts = path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]  # namespaced: /namespaces/<ns>/<resource>...
    resource, named = rest[0], len(rest) > 1
    if len(rest) > 2:
        resource += "/" + rest[2]  # a subresource
    verbs = {
        "GET": "get" if named else "list",
        "WATCH": "watch",
        "PATCH": "patch",
        "POST": "create",
    }
    return group, resource, verbs[method]


class RecordingApi:
    """A KubeWriter that records each request and answers as an API server would."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    async def get_object(self, path: str) -> dict[str, Any]:
        self.requests.append(("GET", path))
        namespace, name = path.split("/")[-3], path.split("/")[-1]
        return {"metadata": {"name": name, "namespace": namespace, "uid": "u1"}}

    async def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("PATCH", path))
        return patch

    async def create_object(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(("POST", path))
        return obj


def reflector_requests() -> set[Access]:
    """Every request the reflector's code makes (see the module doc)."""
    found = {access(verb, kind.path) for kind in KINDS for verb in ("GET", "WATCH")}
    status_plurals = (
        crd_status.CHAIN_PLURAL,
        crd_status.EXTERNAL_PLURAL,
        crd_status.NETWORK_PLURAL,
        custom_config_writer.PLURAL,
    )
    api = RecordingApi()
    for plural in status_plurals:
        writer = ObjectStatus(api, plural)
        # A failing status: the status is written and a Warning Event created.
        asyncio.run(writer.report(object_path(plural, "ns1", "x"), Readiness(False, "R", "m")))
    assert len(api.requests) == 3 * len(status_plurals)  # read, patch, Event for each
    api.requests += asyncio.run(service_event_requests())
    return found | {access(method, path) for method, path in api.requests}


class _Leading:
    """A store whose fence always holds (the only call ``RefusalEvents`` makes on it)."""

    async def txn(self, txn: object) -> object:
        return type("Result", (), {"succeeded": True})()


async def service_event_requests() -> list[tuple[str, str]]:
    """The requests ``RefusalEvents`` makes for a refused Service (port 0), its Endpoints
    (an address that is no IP), another Service's EndpointSlice (the same) and a
    NetworkPolicy (a CIDR that is none): each object read once, an Event about each."""
    view = ReflectedView([SERVICE, ENDPOINTS, ENDPOINT_SLICE, POLICY])
    refused = Service(namespace="ns1", name="x", ports=[ServicePort(port=0)])
    endpoints = Endpoints(
        namespace="ns1",
        name="x",
        subsets=[
            EndpointSubset(addresses=[EndpointAddress(ip="nope")], ports=[EndpointPort(port=80)])
        ],
    )
    policy = Policy(
        namespace="ns1",
        name="x",
        ingress_rules=[PolicyIngressRule(from_=[PolicyPeer(ip_block=IpBlock(cidr="nope"))])],
    )
    sliced = Service(namespace="ns1", name="y", ports=[ServicePort(port=80)])
    endpoint_slice = EndpointSlice(
        namespace="ns1",
        name="y-abcde",
        service_name="y",
        address_type="IPv4",
        endpoints=[SliceEndpoint(addresses=["nope"])],
        ports=[EndpointPort(port=80)],
    )
    for kind, model in (
        (SERVICE, refused),
        (ENDPOINTS, endpoints),
        (POLICY, policy),
        (SERVICE, sliced),
        (ENDPOINT_SLICE, endpoint_slice),
    ):
        view.put(kind, key_of(model), encode(model))
    api = RecordingApi()
    store: Any = _Leading()
    checkers = (ServiceChecker(), PolicyChecker())
    writer = RefusalEvents(
        store, view, api, checkers, fence=ValueCompare("k", b""), retry=Backoff()
    )
    assert await writer.sync()
    assert writer.events == 4, api.requests
    return api.requests


def granted(role: dict[str, Any]) -> set[Access]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_access_reads_api_paths_as_rbac_does() -> None:
    assert access("GET", "/api/v1/pods") == ("", "pods", "list")
    assert access("WATCH", "/apis/networking.k8s.io/v1/networkpolicies") == (
        "networking.k8s.io",
        "networkpolicies",
        "watch",
    )
    assert access("PATCH", "/apis/contivpp.io/v1/namespaces/a/customnetworks/n/status") == (
        "contivpp.io",
        "customnetworks/status",
        "patch",
    )
    assert access("POST", "/api/v1/namespaces/default/events") == ("", "events", "create")
    assert access("GET", "/api/v1/namespaces/kube-system") == ("", "namespaces", "get")


def test_the_reflector_role_grants_exactly_what_its_code_requests() -> None:
    role = _find(_docs("rbac.yaml"), "ClusterRole", "contivpy-reflector")
    expected = reflector_requests()
    for kind in KINDS:  # every reflected kind is listed and watched
        assert access("GET", kind.path) in expected
    assert granted(role) == expected
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert "resourceNames" not in rule
        assert "nonResourceURLs" not in rule


def test_the_reflector_runs_as_the_bound_service_account() -> None:
    rbac = _docs("rbac.yaml")
    binding = _find(rbac, "ClusterRoleBinding", "contivpy-reflector")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "contivpy-reflector",
    }
    (subject,) = binding["subjects"]
    deployment = _find(_docs("reflector.yaml"), "Deployment", "contivpy-reflector")
    pod = deployment["spec"]["template"]["spec"]
    assert subject["kind"] == "ServiceAccount"
    assert subject["name"] == pod["serviceAccountName"]
    assert subject["namespace"] == deployment["metadata"]["namespace"]
    _find(rbac, "ServiceAccount", subject["name"])


def test_the_agent_has_no_api_access() -> None:
    """The agent's code never talks to the API server (the import contract keeps the
    Kubernetes client in the reflector): no binding names its account, and no token is
    mounted into its pods."""
    rbac = _docs("rbac.yaml")
    daemonset = _find(_docs("agent-daemonset.yaml"), "DaemonSet", "contivpy-agent")
    pod = daemonset["spec"]["template"]["spec"]
    account = _find(rbac, "ServiceAccount", pod["serviceAccountName"])
    assert account["automountServiceAccountToken"] is False
    assert pod["automountServiceAccountToken"] is False
    bound = {
        subject["name"]
        for doc in rbac
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in doc["subjects"]
    }
    assert pod["serviceAccountName"] not in bound
