"""The simulated kubelet's CNI calls: the real `contivpy cni` plugin, run as a process.

In: a pod (Kubernetes JSON) the simulated kubelet starts or stops, and the node's CNI socket.
Out: the pod's IP from the plugin's CNI result, or a failure with the plugin's CNI error —
exactly what a kubelet would see. The netns path is a name only for simulated pods; the
real-VPP demo creates the namespace first (:func:`pod_netns_name`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from contivpy.sim.kube.pod_network import PodNetworkFailure, PodNetworkResult


def sandbox_id(pod: dict[str, Any]) -> str:
    """A container ID for the pod's sandbox (its uid without dashes, as hex)."""
    return str(pod["metadata"]["uid"]).replace("-", "")


def pod_netns_name(cid: str) -> str:
    """The name of the pod sandbox's network namespace (under /var/run/netns)."""
    return f"cni-{cid[:12]}"


async def run_plugin(
    command: str, pod: dict[str, Any], cni_socket: Path
) -> tuple[int, dict[str, Any]]:
    """Run `contivpy cni` for ``command`` (ADD or DEL); returns its exit code and JSON."""
    meta = pod["metadata"]
    cid = sandbox_id(pod)
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": f"/var/run/netns/{pod_netns_name(cid)}",
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={meta['namespace']};"
        f"K8S_POD_NAME={meta['name']}",
        "CNI_PATH": "/opt/cni/bin",
    }
    config = {
        "cniVersion": "1.0.0",
        "name": "k8s-pod-network",
        "type": "contivpy",
        "grpcServer": str(cni_socket),
        # The simulated pods' netns paths are names only (their agents run with
        # configureLinux false): the plugin must not require them to exist.
        "simulatedNetns": True,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "contivpy.cli",
        "cni",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate(json.dumps(config).encode())
    code = process.returncode if process.returncode is not None else 1
    try:
        document = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        document = {"msg": out.decode(errors="replace")}
    return code, document


async def add(pod: dict[str, Any], cni_socket: Path) -> PodNetworkResult:
    """CNI ADD; the pod's IP or the plugin's error."""
    code, result = await run_plugin("ADD", pod, cni_socket)
    if code != 0:
        return PodNetworkFailure(f"CNI error {result.get('code')}: {result.get('msg')}")
    return [str(ip["address"]).split("/")[0] for ip in result.get("ips", [])]


async def delete(pod: dict[str, Any], cni_socket: Path) -> None:
    """CNI DEL (errors are the kubelet's to retry; the demo only logs them)."""
    await run_plugin("DEL", pod, cni_socket)
