"""deploy/kubernetes/: the manifests for a real cluster.

- every object passes Kubernetes' own JSON schemas for its kind, strictly (an unknown or
  misspelt field fails), with the schemas kubernetes-validate ships;
- the agent's ConfigMap is deploy/agent.yaml with exactly the cluster's values changed, and
  the agent loads it; the CNI ConfigMap holds the conflist and the install script verbatim;
  scripts/gen-kube-config writes the committed file byte for byte;
- the commands the pods run are ones contivpy's CLI accepts; the pods mount what they name,
  the agent's probes reach the port its config serves on, and the agents and the reflector
  reach etcd on the port its Service opens.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from contivpy.agent.config_file import load_agent_file
from contivpy.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(KUBE.glob("*.yaml"))
# The oldest Kubernetes docs/INSTALL.md names, and the newest the validator ships.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
# What the agent's ConfigMap changes in deploy/agent.yaml (scripts/gen-kube-config).
CLUSTER_VALUES = {
    ("memifDevicePlugin", "enabled"): True,
    ("http", "address"): "0.0.0.0:9999",
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        doc
        for path in MANIFESTS
        for doc in documents(path)
        if doc["kind"] == kind and doc["metadata"]["name"] == name
    ]
    return found


def pod_spec(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(kind, name)["spec"]["template"]["spec"]
    return spec


def container(kind: str, name: str, container_name: str) -> dict[str, Any]:
    (found,) = [c for c in pod_spec(kind, name)["containers"] if c["name"] == container_name]
    return found


def config_map_data(name: str) -> dict[str, str]:
    data: dict[str, str] = find("ConfigMap", name)["data"]
    return data


def expanded(args: list[str], env: dict[str, str]) -> list[str]:
    """Container args with $(VAR) replaced, as the kubelet does."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env[m[1]], arg) for arg in args]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_object_passes_the_kubernetes_schemas_strictly(path: Path, version: str) -> None:
    docs = documents(path)
    assert docs, path
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_is_strict() -> None:
    """A misspelt field fails (the check above would not catch it otherwise)."""
    daemonset = copy.deepcopy(find("DaemonSet", "contivpy-agent"))
    daemonset["spec"]["template"]["spec"]["hostNetwrok"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, VERSIONS[-1], strict=True)


def test_scripts_gen_kube_config_writes_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "agent-config.yaml"
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run([str(ROOT / "scripts" / "gen-kube-config"), str(out)], check=True, env=env)
    assert out.read_text() == (KUBE / "agent-config.yaml").read_text()


def test_the_agent_config_map_is_agent_yaml_with_the_cluster_values() -> None:
    shipped = yaml.safe_load((ROOT / "deploy" / "agent.yaml").read_text())
    in_cluster = yaml.safe_load(config_map_data("contivpy-agent")["agent.yaml"])
    for (section, key), value in CLUSTER_VALUES.items():
        assert in_cluster[section][key] == value != shipped[section][key]
        in_cluster[section][key] = shipped[section][key]
    assert in_cluster == shipped


def test_the_agent_loads_its_config_map_with_the_daemonset_args(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(config_map_data("contivpy-agent")["agent.yaml"])
    agent = container("DaemonSet", "contivpy-agent", "agent")
    args = build_parser().parse_args(expanded(agent["args"], {"HOST_IP": "192.0.2.7"}))
    assert args.config == Path("/etc/contivpy/agent.yaml")
    loaded = load_agent_file(
        config, node_name=args.node_name, endpoints=(args.etcd,) if args.etcd else ()
    )
    assert loaded.store.endpoints == ("192.0.2.7:32379",)
    assert loaded.agent.memif_plugin.enabled
    assert loaded.http.address == "0.0.0.0:9999"
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in agent["env"]}
    assert env["NODE_NAME"] == "spec.nodeName"  # the config's nodeName is empty


def test_the_cni_config_map_holds_the_conflist_and_the_install_script() -> None:
    data = config_map_data("contivpy-cni")
    assert data["10-contivpy.conflist"] == (ROOT / "deploy" / "10-contivpy.conflist").read_text()
    assert data["install-cni.sh"] == (KUBE / "install-cni.sh").read_text()
    init = pod_spec("DaemonSet", "contivpy-agent")["initContainers"][0]
    assert init["command"] == ["/bin/sh", "/etc/contivpy/cni/install-cni.sh"]


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("DaemonSet", "contivpy-agent"),
        ("Deployment", "contivpy-reflector"),
        ("StatefulSet", "contivpy-etcd"),
    ],
)
def test_every_mount_names_a_volume_and_every_volume_is_mounted(kind: str, name: str) -> None:
    spec = pod_spec(kind, name)
    volumes = {volume["name"] for volume in spec.get("volumes", [])}
    mounted = {
        mount["name"]
        for c in spec["containers"] + spec.get("initContainers", [])
        for mount in c.get("volumeMounts", [])
    }
    assert mounted == volumes
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            find("ConfigMap", volume["configMap"]["name"])


def test_the_agent_mounts_what_its_config_names() -> None:
    """Each host path the agent's config uses is mounted at that path from the host."""
    config = yaml.safe_load(config_map_data("contivpy-agent")["agent.yaml"])
    spec = pod_spec("DaemonSet", "contivpy-agent")
    host_paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    mounts = {
        m["mountPath"]: host_paths.get(m["name"])
        for m in container("DaemonSet", "contivpy-agent", "agent")["volumeMounts"]
    }
    paths = config["paths"]
    plugin = config["memifDevicePlugin"]
    for needed in (
        paths["stateDir"],
        str(Path(paths["vppSocket"]).parent),
        str(Path(paths["cniSocket"]).parent),
        str(Path(paths["debugSocket"]).parent),
        plugin["devicePluginsDir"],
        plugin["memifDir"],
        str(Path(plugin["podResourcesSocket"]).parent),
        "/var/run/netns",
    ):
        assert mounts.get(needed) == needed, needed
    conflist = yaml.safe_load(config_map_data("contivpy-cni")["10-contivpy.conflist"])
    assert conflist["plugins"][0]["grpcServer"] == paths["cniSocket"]


def test_the_agent_is_privileged_on_the_host_network_of_every_node() -> None:
    spec = pod_spec("DaemonSet", "contivpy-agent")
    assert spec["hostNetwork"] is True
    assert spec["hostPID"] is True
    assert {"operator": "Exists"} in spec["tolerations"]
    assert container("DaemonSet", "contivpy-agent", "agent")["securityContext"]["privileged"]


def test_the_agent_probes_its_health_endpoints() -> None:
    agent = container("DaemonSet", "contivpy-agent", "agent")
    ports = {port["name"]: port["containerPort"] for port in agent["ports"]}
    liveness, readiness = agent["livenessProbe"]["httpGet"], agent["readinessProbe"]["httpGet"]
    assert (liveness["path"], readiness["path"]) == ("/healthz", "/readyz")
    config = yaml.safe_load(config_map_data("contivpy-agent")["agent.yaml"])
    host, _, port = config["http"]["address"].rpartition(":")
    # The kubelet probes the pod's IP, the node's own on the host network: the agent must
    # listen there, not on 127.0.0.1 only.
    assert host == "0.0.0.0"
    assert ports[liveness["port"]] == ports[readiness["port"]] == int(port)


def test_the_components_reach_etcd_on_its_node_port() -> None:
    (port,) = find("Service", "contivpy-etcd")["spec"]["ports"]
    etcd = container("StatefulSet", "contivpy-etcd", "etcd")
    assert f"--listen-client-urls=http://0.0.0.0:{port['targetPort']}" in etcd["command"]
    assert etcd["image"].startswith("quay.io/coreos/etcd:")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert etcd["image"] == compose["services"]["etcd"]["image"]
    parser = build_parser()
    for kind, name, container_name in (
        ("DaemonSet", "contivpy-agent", "agent"),
        ("Deployment", "contivpy-reflector", "reflector"),
    ):
        args = container(kind, name, container_name)["args"]
        parsed = parser.parse_args(expanded(args, {"HOST_IP": "192.0.2.7"}))
        assert parsed.etcd == f"192.0.2.7:{port['nodePort']}"


def test_the_reflector_is_leader_elected_with_its_metrics_port_declared() -> None:
    deployment = find("Deployment", "contivpy-reflector")
    assert deployment["spec"]["replicas"] == 2
    reflector = container("Deployment", "contivpy-reflector", "reflector")
    args = build_parser().parse_args(expanded(reflector["args"], {"HOST_IP": "192.0.2.7"}))
    assert args.kubeconfig is None  # in-cluster: its ServiceAccount
    assert args.election_ttl >= 1
    assert args.metrics_address == "192.0.2.7"
    assert [p["containerPort"] for p in reflector["ports"]] == [args.metrics_port]


def test_every_contivpy_container_runs_the_one_image() -> None:
    images = {
        c["image"]
        for kind, name in (("DaemonSet", "contivpy-agent"), ("Deployment", "contivpy-reflector"))
        for c in pod_spec(kind, name)["containers"] + pod_spec(kind, name).get("initContainers", [])
    }
    assert images == {"contivpy:0.1.0"}  # the placeholder docs/INSTALL.md replaces
