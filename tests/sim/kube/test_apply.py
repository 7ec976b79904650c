"""Applying YAML manifests: over HTTP (apply_manifests, the CLI entry) and in-process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from contivpy.sim.kube import KubeApiError, KubeApiStandIn, ManifestError, apply_manifests
from contivpy.sim.kube.commands import run_kube_apply, serve_kube
from contivpy.sim.kube.crds import contivpp_crds_yaml
from contivpy.sim.kube.http_client import RestClient
from contivpy.sim.kube.kubeconfig import server_from_kubeconfig
from contivpy.sim.kube.manifests import load_manifest_text

MANIFEST = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{containerPort: 80}]
---
apiVersion: contivpp.io/v1
kind: CustomNetwork
metadata:
  name: net1
  namespace: demo
spec:
  type: L3
  subnetCIDR: 10.100.0.0/16
  subnetOneNodePrefixLen: 24
---
# an empty document is skipped
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: demo}
  spec:
    selector: {app: web}
    ports: [{port: 80}]
---
apiVersion: v1
kind: Namespace
metadata:
  name: demo
"""


def write_manifests(directory: Path) -> list[Path]:
    crds = directory / "crds.yaml"
    crds.write_text(contivpp_crds_yaml())
    app = directory / "app.yaml"
    app.write_text(MANIFEST)
    return [crds, app]


async def test_apply_creates_then_reports_unchanged_then_configured(
    kube: KubeApiStandIn, tmp_path: Path
) -> None:
    paths = write_manifests(tmp_path)
    first = await apply_manifests(kube.url, paths)
    assert [r.describe() for r in first] == [
        "namespace/demo created",
        "customresourcedefinition.apiextensions.k8s.io/customnetworks.contivpp.io created",
        "customresourcedefinition.apiextensions.k8s.io/externalinterfaces.contivpp.io created",
        "customresourcedefinition.apiextensions.k8s.io/servicefunctionchains.contivpp.io created",
        "customresourcedefinition.apiextensions.k8s.io/customconfigurations.contivpp.io created",
        "pod/web -n demo created",
        "customnetwork.contivpp.io/net1 -n demo created",
        "service/web -n demo created",
    ]
    again = await apply_manifests(kube.url, paths)
    assert {r.action for r in again} == {"unchanged"}
    kube.api.writer.bind("demo", "web", "node-1")  # server-side changes survive re-apply
    (tmp_path / "app.yaml").write_text(MANIFEST.replace("app: web}", "app: web, v: '2'}", 1))
    third = await apply_manifests(kube.url, [tmp_path / "app.yaml"])
    assert [r.action for r in third] == ["unchanged", "configured", "unchanged", "unchanged"]
    pod = kube.get("v1", "Pod", "web", "demo")
    assert pod["metadata"]["labels"] == {"app": "web", "v": "2"}
    assert pod["spec"]["nodeName"] == "node-1"


async def test_apply_failures(kube: KubeApiStandIn, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n")
    with pytest.raises(KubeApiError) as raised:
        await apply_manifests(kube.url, [bad])
    assert raised.value.code == 422
    results = await apply_manifests(kube.url, [bad], raise_on_error=False)
    assert not results[0].ok
    assert "spec.containers" in results[0].describe()
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    with pytest.raises(KubeApiError) as not_served:
        await apply_manifests(kube.url, [unknown], discovery_retries=0)
    assert not_served.value.code == 404


BAD_SELECTORS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-selectors, namespace: default}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: Foo, values: [web]}]
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{key: team, operator: In}]
        - podSelector:
            matchExpressions: [{key: role, operator: Exists, values: [x]}]
"""


async def test_a_network_policy_with_bad_selectors_is_refused_naming_each_field(
    kube: KubeApiStandIn, tmp_path: Path
) -> None:
    """As the API server's ValidateLabelSelector: an unknown operator, In without values,
    Exists with values; nothing is stored."""
    bad = tmp_path / "policy.yaml"
    bad.write_text(BAD_SELECTORS)
    results = await apply_manifests(kube.url, [bad], raise_on_error=False)
    text = results[0].describe()
    assert not results[0].ok
    assert 'spec.podSelector.matchExpressions[0].operator: Invalid value: "Foo"' in text
    assert "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values" in text
    assert "spec.ingress[0].from[1].podSelector.matchExpressions[0].values" in text
    assert kube.list("networking.k8s.io/v1", "NetworkPolicy", "default") == []
    fixed = BAD_SELECTORS.replace("operator: Foo", "operator: NotIn")
    fixed = fixed.replace("operator: In}", "operator: In, values: [a]}")
    bad.write_text(fixed.replace("operator: Exists, values: [x]", "operator: Exists"))
    assert [r.action for r in await apply_manifests(kube.url, [bad])] == ["created"]


def test_manifest_loading_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        load_manifest_text("- just\n- a list\n")
    with pytest.raises(ManifestError):
        load_manifest_text("metadata: {name: no-kind}\n")
    with pytest.raises(ManifestError):
        load_manifest_text("a: [unclosed\n")
    objects = load_manifest_text(MANIFEST)
    assert [o["kind"] for o in objects] == ["Pod", "CustomNetwork", "Service", "Namespace"]


async def test_in_process_apply_matches_http_apply(kube: KubeApiStandIn) -> None:
    kube.apply_yaml(contivpp_crds_yaml())
    results = kube.apply_yaml(MANIFEST)
    assert [(action, obj["kind"]) for action, obj in results] == [
        ("created", "Namespace"),
        ("created", "Pod"),
        ("created", "CustomNetwork"),
        ("created", "Service"),
    ]
    assert {action for action, _ in kube.apply_yaml(MANIFEST)} == {"unchanged"}


async def _running_pod_ip(kubeconfig: Path) -> str:
    """The pod IP the served stand-in's simulated kubelet gave demo/web."""
    async with RestClient(server_from_kubeconfig(kubeconfig)) as rest:
        async with asyncio.timeout(5):
            while True:
                found = await rest.request("GET", "/api/v1/namespaces/demo/pods/web")
                if found["status"].get("phase") == "Running":
                    return str(found["status"]["podIP"])
                await asyncio.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served_in_thread(tmp_path: Path) -> Iterator[Path]:
    """``contivpy sim kube serve`` (serve_kube) in a thread with two simulated nodes; yields
    the kubeconfig it wrote."""
    kubeconfig = tmp_path / "kubeconfig"
    loop = uvloop.new_event_loop()
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        await serve_kube(port=_free_port(), kubeconfig=kubeconfig, nodes=2, stop=stop[0])

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    deadline = time.monotonic() + 5
    while not kubeconfig.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield kubeconfig
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(5)
        loop.close()


def test_cli_entries_serve_and_apply(
    served_in_thread: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(MANIFEST)
    assert run_kube_apply([app], kubeconfig=served_in_thread) == 0
    out = capsys.readouterr().out
    assert "pod/web -n demo created" in out
    assert "customnetwork.contivpp.io/net1 -n demo unchanged" not in out
    assert run_kube_apply([app], kubeconfig=served_in_thread) == 0
    assert "pod/web -n demo unchanged" in capsys.readouterr().out
    assert uvloop.run(_running_pod_ip(served_in_thread)).startswith("10.1.")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n")
    assert run_kube_apply([bad], kubeconfig=served_in_thread) == 1
    assert run_kube_apply([tmp_path / "missing.yaml"], kubeconfig=served_in_thread) == 2
    assert run_kube_apply([app], server_url="http://127.0.0.1:1") == 2
