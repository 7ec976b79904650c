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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from contivpy.sim.kube.pod_network import PodNetworkFailure, PodNetworkResult


class AgentNode(Protocol):
    """A demo node as the kubelet sees it: its name and its agent's CNI socket."""

    @property
    def name(self) -> str: ...

    @property
    def cni_socket(self) -> Path: ...


def _socket_of(nodes: Iterable[AgentNode], pod: dict[str, Any]) -> Path | None:
    name = str((pod.get("spec") or {}).get("nodeName", ""))
    return next((node.cni_socket for node in nodes if node.name == name), None)


async def add_on_node(
    nodes: Iterable[AgentNode],
    pod: dict[str, Any],
    prepare: Callable[[str], None] | None = None,
) -> PodNetworkResult:
    """The pod's ADD, sent to the agent of the node it is scheduled on; ``prepare`` gets the
    sandbox's container ID first (the real demo makes its network namespace there)."""
    socket = _socket_of(nodes, pod)
    if socket is None:
        name = (pod.get("spec") or {}).get("nodeName", "")
        return PodNetworkFailure(f"no contivpy agent on node {name!r}")
    if prepare is not None:
        prepare(sandbox_id(pod))
    return await add(pod, socket)


async def delete_on_node(nodes: Iterable[AgentNode], pod: dict[str, Any]) -> None:
    """The pod's DEL, sent to its node's agent (nothing when the node has none)."""
    socket = _socket_of(nodes, pod)
    if socket is not None:
        await delete(pod, socket)


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
