"""A node's CNI as a kubelet's container runtime drives it: conf dir, plugin binaries, netns.

In: a pod (Kubernetes JSON) the simulated kubelet starts or stops, and the node's CNI settings
(``CniSettings``): the network configuration directory (the first ``*.conflist``, ``*.conf``
or ``*.json`` by name, re-read at every call as the runtime does), the plugin directories
(CNI_PATH) and the directory where sandboxes' network namespaces are pinned. Out: the pod's
IP addresses from the chain's final result, or a ``PodNetworkFailure`` with the failing
plugin's CNI error — what a kubelet reports as FailedCreatePodSandBox.

ADD runs the list's plugins in order, each given the previous one's result as ``prevResult``
and, for a plugin that declares the ``portMappings`` capability, the pod's hostPorts as
``runtimeConfig``; a failed ADD is undone with a DEL, as containerd does. DEL runs them in
reverse with the cached ADD result. The stand-in's pods have no processes: a sandbox's
"network namespace" is an empty file at ``<netns dir>/cni-<sandbox id>``, which is what a CNI
plugin checks exists; node agents serving such pods run with ``configureLinux: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from contivpy.sim.kube.objects import JsonObject, metadata_of, name_of, namespace_of
from contivpy.sim.kube.pod_network import PodNetworkFailure, PodNetworkResult

log = structlog.get_logger(__name__)

CONFIG_SUFFIXES = (".conflist", ".conf", ".json")


class CniFailure(Exception):
    """A plugin failed, or the configuration could not be used; the message says which."""


@dataclass(frozen=True, slots=True)
class CniSettings:
    conf_dir: Path = Path("/etc/cni/net.d")
    bin_dirs: tuple[Path, ...] = (Path("/opt/cni/bin"),)
    netns_dir: Path = Path("/var/run/netns")
    ifname: str = "eth0"


@dataclass(frozen=True, slots=True)
class NetworkList:
    """A network configuration list: its name, version and plugin configurations."""

    path: Path
    name: str
    cni_version: str
    plugins: tuple[JsonObject, ...]


def sandbox_id(pod: JsonObject) -> str:
    """The pod sandbox's container ID: its uid without dashes."""
    return str(metadata_of(pod).get("uid", "")).replace("-", "")


def load_network(conf_dir: Path) -> NetworkList:
    """The first network configuration of ``conf_dir`` in name order, as a list."""
    try:
        files = sorted(p for p in conf_dir.iterdir() if p.suffix in CONFIG_SUFFIXES)
    except OSError as error:
        raise CniFailure(f"no network config in {conf_dir}: {error.strerror}") from error
    if not files:
        raise CniFailure(f"no network config found in {conf_dir}")
    path = files[0]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CniFailure(f"{path}: cannot read the network config: {error}") from error
    if not isinstance(document, dict):
        raise CniFailure(f"{path}: the network config is not a JSON object")
    if path.suffix == ".conflist":
        plugins = document.get("plugins")
        if not isinstance(plugins, list) or not plugins:
            raise CniFailure(f"{path}: plugins: expected a non-empty list")
    else:
        plugins = [document]  # a single plugin's configuration
    for index, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("type"), str):
            raise CniFailure(f"{path}: plugins[{index}].type: expected the plugin's name")
    return NetworkList(
        path=path,
        name=str(document.get("name", "")),
        cni_version=str(document.get("cniVersion", "1.0.0")),
        plugins=tuple(plugins),
    )


def _host_ports(pod: JsonObject) -> list[JsonObject]:
    """The runtimeConfig.portMappings the runtime gives portMappings-capable plugins."""
    mappings: list[JsonObject] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                mappings.append(
                    {
                        "hostPort": port["hostPort"],
                        "containerPort": port.get("containerPort"),
                        "protocol": str(port.get("protocol", "TCP")).lower(),
                        **({"hostIP": port["hostIP"]} if port.get("hostIP") else {}),
                    }
                )
    return mappings


class CniRunner:
    """Runs one node's CNI network configuration for its pods."""

    def __init__(self, settings: CniSettings) -> None:
        self._settings = settings
        self._results: dict[str, JsonObject] = {}  # sandbox id -> its ADD result (libcni's cache)

    def netns_path(self, pod: JsonObject) -> Path:
        return self._settings.netns_dir / f"cni-{sandbox_id(pod)[:12]}"

    async def add(self, pod: JsonObject) -> PodNetworkResult:
        """Network the pod's sandbox; its IP addresses, or why not."""
        try:
            network = load_network(self._settings.conf_dir)
            netns = self.netns_path(pod)
            netns.parent.mkdir(parents=True, exist_ok=True)
            netns.touch()
        except (CniFailure, OSError) as error:
            return PodNetworkFailure(f"cni plugin not initialized: {error}")
        result: JsonObject | None = None
        try:
            for plugin in network.plugins:
                result = await self._exec("ADD", network, plugin, pod, result)
        except CniFailure as error:
            await self._undo(network, pod)
            where = f"{namespace_of(pod)}/{name_of(pod)}"
            return PodNetworkFailure(f"failed to set up {where} network {network.name!r}: {error}")
        self._results[sandbox_id(pod)] = result or {}
        return [str(ip.get("address", "")).split("/")[0] for ip in (result or {}).get("ips") or []]

    async def delete(self, pod: JsonObject) -> None:
        """Tear the pod's sandbox network down; CniFailure naming the plugin that failed."""
        network = load_network(self._settings.conf_dir)
        cached = self._results.pop(sandbox_id(pod), None)
        errors: list[str] = []
        for plugin in reversed(network.plugins):
            try:
                await self._exec("DEL", network, plugin, pod, cached)
            except CniFailure as error:
                errors.append(str(error))
        self.netns_path(pod).unlink(missing_ok=True)
        if errors:
            raise CniFailure("; ".join(errors))

    async def _undo(self, network: NetworkList, pod: JsonObject) -> None:
        for plugin in reversed(network.plugins):
            try:
                await self._exec("DEL", network, plugin, pod, None)
            except CniFailure as error:
                log.warning("kube.cni.undo_failed", pod=name_of(pod), error=str(error))
        self.netns_path(pod).unlink(missing_ok=True)

    def _binary(self, kind: str) -> Path:
        for directory in self._settings.bin_dirs:
            candidate = directory / kind
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        searched = [str(d) for d in self._settings.bin_dirs]
        raise CniFailure(f"failed to find plugin {kind!r} in path {searched}")

    async def _exec(
        self,
        command: str,
        network: NetworkList,
        plugin: JsonObject,
        pod: JsonObject,
        previous: JsonObject | None,
    ) -> JsonObject:
        kind = str(plugin["type"])
        config: JsonObject = {**plugin, "cniVersion": network.cni_version, "name": network.name}
        if previous is not None:
            config["prevResult"] = previous
        if (plugin.get("capabilities") or {}).get("portMappings"):
            config["runtimeConfig"] = {"portMappings": _host_ports(pod)}
        config.pop("capabilities", None)
        binary = self._binary(kind)
        try:
            process = await asyncio.create_subprocess_exec(
                str(binary),
                env=self._environment(command, pod),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise CniFailure(f"plugin type={kind!r}: cannot run {binary}: {error}") from error
        try:
            out, err = await process.communicate(json.dumps(config).encode())
        except BaseException:
            # Cancelled (the sandbox given up, the stand-in stopping): the plugin must not
            # outlive the call, as a runtime kills a plugin it stops waiting for.
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        try:
            document: Any = json.loads(out) if out.strip() else {}
        except ValueError:
            document = {"msg": out.decode(errors="replace").strip()}
        if process.returncode != 0:
            raise CniFailure(
                f"plugin type={kind!r} failed ({command.lower()}): "
                + _error_text(document, err, process.returncode)
            )
        if command == "DEL":
            return previous or {}
        if not isinstance(document, dict):
            raise CniFailure(f"plugin type={kind!r}: its result is not a JSON object")
        return document

    def _environment(self, command: str, pod: JsonObject) -> dict[str, str]:
        meta = metadata_of(pod)
        cid = sandbox_id(pod)
        return {
            **os.environ,  # the runtime's own environment (PATH), as containerd passes it
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": cid,
            "CNI_NETNS": str(self.netns_path(pod)),
            "CNI_IFNAME": self._settings.ifname,
            "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={meta.get('namespace', '')};"
            f"K8S_POD_NAME={meta.get('name', '')};K8S_POD_INFRA_CONTAINER_ID={cid};"
            f"K8S_POD_UID={meta.get('uid', '')}",
            "CNI_PATH": os.pathsep.join(str(d) for d in self._settings.bin_dirs),
        }


def _error_text(document: Any, stderr: bytes, code: int | None) -> str:
    """A plugin's CNI error (``code``, ``msg``), else its stderr, else its exit code."""
    if isinstance(document, dict) and document.get("msg"):
        prefix = f"CNI error {document['code']}: " if "code" in document else ""
        return f"{prefix}{document['msg']}"
    return stderr.decode(errors="replace").strip() or f"exit code {code}"


def bin_dirs(text: str) -> tuple[Path, ...]:
    """CNI_PATH-style directories (``a:b``) as paths."""
    return tuple(Path(part) for part in text.split(os.pathsep) if part)
