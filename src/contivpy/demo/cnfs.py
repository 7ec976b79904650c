"""The demo's CNF pods: each pod with a microservice label runs a VPP of its own (a simulator)
with the CNF agent (``contivpy cnf``) inside, as a ligato vpp-agent CNF would.

In: the running pods of the Kubernetes stand-in, the memif mounts its kubelet gave them (the
device plugin's socket directory, mounted at ``/run/vpp`` in the pod), the cluster's store.
Out: per CNF pod a ``DemoCnf`` — a VPP simulator whose ``/run/vpp`` is that directory (so the
memif slave the CNF agent creates on ``/run/vpp/memif.sock`` meets the vswitch's master on the
host path) and a running CnfAgent applying ``/vnf-agent/<label>/config/``. Stopped on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contivpy.cnf.agent import CnfAgent
from contivpy.deviceplugin.memif import CONTAINER_DIR as MEMIF_CONTAINER_DIR
from contivpy.models.custom_if import MICROSERVICE_LABEL_ANNOTATION
from contivpy.sim.kube import KubeApiStandIn
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store import Store

CONTAINER_DIR = str(MEMIF_CONTAINER_DIR)  # where the kubelet mounts the memif directory


@dataclass
class DemoCnf:
    """One CNF pod's VPP and agent."""

    namespace: str
    name: str
    label: str
    node: str
    sim: VppSimulator
    agent: CnfAgent


def cnf_pods(kube: KubeApiStandIn) -> list[dict[str, Any]]:
    """Running pods with a microservice label, by name."""
    found = []
    for pod in kube.list("v1", "Pod"):
        annotations = pod["metadata"].get("annotations") or {}
        running = (pod.get("status") or {}).get("phase") == "Running"
        if running and annotations.get(MICROSERVICE_LABEL_ANNOTATION, "").strip():
            found.append(pod)
    return sorted(found, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def memif_dir(kube: KubeApiStandIn, pod: dict[str, Any]) -> Path | None:
    """The host directory the pod's kubelet mounted at /run/vpp (its memif socket's)."""
    meta, node = pod["metadata"], str(pod["spec"].get("nodeName", ""))
    try:
        grants = kube.device_plugins(node).grants_of(meta["namespace"], meta["name"])
    except KeyError:
        return None
    for grant in grants:
        for container_path, host_path, _ in grant.mounts:
            if container_path == CONTAINER_DIR:
                return Path(host_path)
    return None


async def start_cnfs(
    stack: contextlib.AsyncExitStack,
    kube: KubeApiStandIn,
    store: Store,
    workdir: Path,
    *,
    skip: Collection[tuple[str, str]] = (),
) -> list[DemoCnf]:
    """Start a VPP and a CNF agent for every running CNF pod (but those in ``skip``, by
    namespace and name); stopped by ``stack``."""
    cnfs = []
    for pod in cnf_pods(kube):
        meta = pod["metadata"]
        if (meta["namespace"], meta["name"]) in skip:
            continue
        label = meta["annotations"][MICROSERVICE_LABEL_ANNOTATION].strip()
        directory = workdir / f"cnf-{meta['name']}"
        directory.mkdir(parents=True, exist_ok=True)
        host_dir = memif_dir(kube, pod)
        mounts = {CONTAINER_DIR: str(host_dir)} if host_dir is not None else {}
        sim = VppSimulator(str(directory / "api.sock"), mounts=mounts)
        await stack.enter_async_context(sim)
        agent = CnfAgent(store, label, sim.socket_path)
        await agent.start(vpp_timeout=10)
        stack.push_async_callback(agent.stop)
        await agent.wait_synced()
        node = str(pod["spec"].get("nodeName", ""))
        cnfs.append(DemoCnf(meta["namespace"], meta["name"], label, node, sim, agent))
    return cnfs
