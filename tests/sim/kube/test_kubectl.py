"""A real kubectl against the stand-in: apply with validation, dry runs, Tables, Events, and
the built-in kinds of a cluster install. Skipped where kubectl is not installed (Debian's
``kubernetes-client`` package provides it).

One stand-in (with two simulated nodes) serves the whole module; each test works in a
namespace of its own. kubectl runs as a subprocess, awaited, so the stand-in keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from contivpy.sim.kube import KubeApiStandIn, KubeletSettings, PodNetworkFailure
from contivpy.sim.kube.pod_network import PodNetworkResult

KUBECTL = shutil.which("kubectl")
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
INSTALL = Path(__file__).parent / "manifests" / "cluster-install.yaml"

pytestmark = [
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (kubernetes-client)"),
    pytest.mark.asyncio(loop_scope="module"),
]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class Kubectl:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    async def __call__(self, *args: str, stdin: str = "") -> Run:
        assert KUBECTL is not None
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            f"--kubeconfig={self.kubeconfig}",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"HOME": str(self.kubeconfig.parent), "PATH": "/usr/bin:/bin"},
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 20)
        assert process.returncode is not None
        return Run(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str = "") -> str:
        run = await self(*args, stdin=stdin)
        assert run.code == 0, run.err
        return run.out


async def network(pod: dict[str, Any]) -> PodNetworkResult:
    """As the agent's CNI answers: an address, or a refusal naming the bad annotation."""
    annotation = (pod["metadata"].get("annotations") or {}).get("contivpp.io/custom-if", "")
    if "warp-drive" in annotation:
        return PodNetworkFailure(
            f"annotation contivpp.io/custom-if: {annotation!r}: unknown interface type "
            "'warp-drive' (tap, veth, memif)"
        )
    node = pod["spec"]["nodeName"].rsplit("-", 1)[1]
    return f"10.1.{node}.{abs(hash(pod['metadata']['name'])) % 200 + 2}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kube() -> AsyncIterator[KubeApiStandIn]:
    settings = KubeletSettings(retry_initial=0.01, retry_max=0.02, max_attempts=2)
    async with KubeApiStandIn(pod_network=network, kubelet=settings) as standin:
        standin.install_contivpp_crds()
        standin.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
        standin.register_node("node-2", "192.168.16.2", "10.1.2.0/24")
        yield standin


@pytest.fixture(scope="module")
def kubectl(kube: KubeApiStandIn, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(kube.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "kubeconfig"))


def namespace(kube: KubeApiStandIn, name: str) -> str:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def test_apply_validates_with_the_servers_schemas_and_names_unknown_fields(
    kube: KubeApiStandIn, kubectl: Kubectl, tmp_path: Path
) -> None:
    ns = namespace(kube, "apply")
    manifest = str(EXAMPLES / "custom-network.yaml")
    out = await kubectl.ok("apply", "-n", ns, "-f", manifest)
    assert "customnetwork.contivpp.io/net1 created" in out
    assert "pod/net-pod-a created" in out
    assert kube.get("contivpp.io/v1", "CustomNetwork", "net1", ns)["spec"]["type"] == "L3"
    out = await kubectl.ok("apply", "-n", ns, "-f", manifest)  # now a PATCH of each object
    assert "pod/net-pod-b unchanged" in out

    text = (EXAMPLES / "custom-network.yaml").read_text()
    typo = tmp_path / "typo.yaml"
    typo.write_text(text.replace("net1", "net2").replace("subnetCIDR", "subnetCIRD"))
    run = await kubectl("apply", "-n", ns, "-f", str(typo))
    assert run.code != 0
    assert 'unknown field "spec.subnetCIRD"' in run.err
    assert kube.find("contivpp.io/v1", "CustomNetwork", "net2", ns) is None
    typo.write_text(text.replace("net-pod", "typo-pod").replace("image:", "imagee:"))
    run = await kubectl("apply", "-n", ns, "-f", str(typo))
    assert 'strict decoding error: unknown field "spec.containers[0].imagee"' in run.err
    assert kube.find("v1", "Pod", "typo-pod-a", ns) is None
    # The same typo in an update of a stored object is refused too.
    typo.write_text(text.replace("subnetOneNodePrefixLen", "subnetOneNodePrefix"))
    run = await kubectl("apply", "-n", ns, "-f", str(typo))
    assert 'unknown field "spec.subnetOneNodePrefix"' in run.err
    assert kube.get("contivpp.io/v1", "CustomNetwork", "net1", ns)["spec"] == {
        "type": "L3",
        "subnetCIDR": "10.200.0.0/16",
        "subnetOneNodePrefixLen": 24,
    }


async def test_server_dry_run_validates_and_stores_nothing(
    kube: KubeApiStandIn, kubectl: Kubectl, tmp_path: Path
) -> None:
    ns = namespace(kube, "dry-run")
    manifest = str(EXAMPLES / "custom-network.yaml")
    text = (EXAMPLES / "custom-network.yaml").read_text()
    before = kube.stats()["resourceVersion"]
    out = await kubectl.ok("apply", "--dry-run=server", "-n", ns, "-f", manifest)
    assert "pod/net-pod-a created (server dry run)" in out
    assert kube.stats()["resourceVersion"] == before
    assert kube.list("v1", "Pod", ns) == []

    await kubectl.ok("apply", "-n", ns, "-f", manifest)
    stored = kube.get("contivpp.io/v1", "CustomNetwork", "net1", ns)
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("L3", "L2"))
    out = await kubectl.ok("apply", "--dry-run=server", "-n", ns, "-f", str(changed))
    assert "customnetwork.contivpp.io/net1 configured (server dry run)" in out
    assert kube.get("contivpp.io/v1", "CustomNetwork", "net1", ns) == stored
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("L3", "L4"))
    run = await kubectl("apply", "--dry-run=server", "-n", ns, "-f", str(bad))
    assert 'spec.type: Unsupported value: "L4"' in run.err
    out = await kubectl.ok("delete", "--dry-run=server", "-n", ns, "pod", "net-pod-a")
    assert "(server dry run)" in out
    assert kube.find("v1", "Pod", "net-pod-a", ns) is not None


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


async def test_get_wide_prints_the_servers_table_columns(
    kube: KubeApiStandIn, kubectl: Kubectl
) -> None:
    ns = namespace(kube, "tables")
    await kubectl.ok("apply", "-n", ns, "-f", str(EXAMPLES / "custom-network.yaml"))
    pod = await kube.wait_for(
        lambda: (p := kube.get("v1", "Pod", "net-pod-a", ns))["status"].get("podIP") and p
    )
    rows = table(await kubectl.ok("get", "pods", "-n", ns, "-o", "wide"))
    assert rows[0] == [
        "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
        "READINESS", "GATES",
    ]  # fmt: skip
    row = next(r for r in rows if r[0] == "net-pod-a")
    assert row[1:4] == ["1/1", "Running", "0"]
    assert row[5:7] == [pod["status"]["podIP"], pod["spec"]["nodeName"]]
    rows = table(await kubectl.ok("get", "nodes", "-o", "wide"))
    assert rows[0][:7] == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
    ]  # fmt: skip
    assert [r[:2] + r[5:6] for r in rows[1:]] == [
        ["node-1", "Ready", "192.168.16.1"],
        ["node-2", "Ready", "192.168.16.2"],
    ]
    rows = table(await kubectl.ok("get", "customnetworks", "-n", ns))
    assert rows[0] == ["NAME", "AGE"]
    assert rows[1][0] == "net1"
    # A watch streams Tables too: the list, then each change as a row.
    rows = table(await kubectl.ok("get", "pods", "-n", ns, "--watch", "--request-timeout=1s"))
    assert rows[0][:3] == ["NAME", "READY", "STATUS"]


async def test_events_show_in_get_events_and_describe(
    kube: KubeApiStandIn, kubectl: Kubectl
) -> None:
    ns = namespace(kube, "events")
    manifest = (EXAMPLES / "custom-network.yaml").read_text()
    bad = manifest.replace("net1/tap/net1", "net1/warp-drive/net1")
    await kubectl.ok("apply", "-n", ns, "-f", "-", stdin=bad)

    def warned() -> list[dict[str, Any]] | None:
        events = [e for e in kube.list("v1", "Event", ns) if e["type"] == "Warning"]
        names = {e["involvedObject"]["name"] for e in events}
        return events if {"net-pod-a", "net-pod-b"} <= names else None

    await kube.wait_for(warned, within=10)
    rows = table(await kubectl.ok("get", "events", "-n", ns))
    assert rows[0][:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert any("FailedCreatePodSandBox" in r and "pod/net-pod-a" in r for r in rows)
    selected = await kubectl.ok(
        "get", "events", "-n", ns, "--field-selector", "involvedObject.name=net-pod-b", "-o",
        "json",
    )  # fmt: skip
    assert {e["involvedObject"]["name"] for e in json.loads(selected)["items"]} == {"net-pod-b"}
    described = await kubectl.ok("describe", "pod", "-n", ns, "net-pod-a")
    events = described.split("Events:")[1]
    assert "FailedCreatePodSandBox" in events
    assert "annotation contivpp.io/custom-if" in events
    assert "warp-drive" in events
    # The same events through events.k8s.io/v1, converted from the stored core/v1 Events.
    selector = "regarding.name=net-pod-a"
    command = ("get", "events.v1.events.k8s.io", "-n", ns, "-o", "json")
    listed = json.loads(await kubectl.ok(*command, "--field-selector", selector))
    notes = [e["note"] for e in listed["items"]]
    assert notes
    assert all("warp-drive" in n for n in notes)
    assert {e["regarding"]["name"] for e in listed["items"]} == {"net-pod-a"}


async def test_a_cluster_install_applies_dry_run_and_for_real(
    kube: KubeApiStandIn, kubectl: Kubectl, tmp_path: Path
) -> None:
    ns = namespace(kube, "install")
    before = kube.stats()["resourceVersion"]
    out = await kubectl.ok("apply", "--dry-run=server", "-n", ns, "-f", str(INSTALL))
    assert out.count("(server dry run)") == 12
    assert kube.stats()["resourceVersion"] == before
    out = await kubectl.ok("apply", "-n", ns, "-f", str(INSTALL))
    assert out.count(" created") == 12
    kinds = "ds,deploy,sts,sa,cm,secret,role,rolebinding,lease,svc"
    names = (await kubectl.ok("get", kinds, "-n", ns, "-o", "name")).split()
    for expected in (
        "daemonset.apps/agent",
        "deployment.apps/reflector",
        "statefulset.apps/etcd",
        "serviceaccount/agent",
        "configmap/agent-config",
        "secret/etcd-client",
        "role.rbac.authorization.k8s.io/leader-election",
        "rolebinding.rbac.authorization.k8s.io/leader-election",
        "lease.coordination.k8s.io/reflector",
        "service/etcd",
    ):
        assert expected in names
    cluster = await kubectl.ok("get", "clusterrole,clusterrolebinding", "-o", "name")
    assert "clusterrole.rbac.authorization.k8s.io/install-test-reader" in cluster
    secret = kube.get("v1", "Secret", "etcd-client", ns)
    assert secret["data"] == {"token": "bm90LWEtcmVhbC1zZWNyZXQ="}
    assert "stringData" not in secret
    out = await kubectl.ok("apply", "-n", ns, "-f", str(INSTALL))
    # kubectl patches stringData in again (the server never shows it), so it says
    # "configured" as against a real cluster; the stored Secret does not change.
    assert out.count(" unchanged") == 11
    assert kube.get("v1", "Secret", "etcd-client", ns) == secret
    # The schema's types and required fields hold for built-in kinds as well.
    text = INSTALL.read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("hostNetwork: true", 'hostNetwork: "yes"'))
    run = await kubectl("apply", "-n", ns, "-f", str(broken))
    assert "spec.template.spec.hostNetwork" in run.err
    assert "must be of type boolean" in run.err
    binding = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: typo}\n"
        "roleRf: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: leader-election}\n"
    )
    run = await kubectl("apply", "--dry-run=server", "-n", ns, "-f", "-", stdin=binding)
    assert 'RoleBinding in version "rbac.authorization.k8s.io/v1"' in run.err
    assert 'unknown field "roleRf"' in run.err
