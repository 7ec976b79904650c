"""The Kubernetes API stand-in as one object: start it, point clients at it, drive it.

In: settings, an optional port, and optionally a pod network callback (which turns on the
simulated scheduler and kubelets); the endpoints controller runs unless turned off. Out: a
running HTTP API server on 127.0.0.1 (``url``, ``write_kubeconfig``) and a Python API for tests
and the demo that writes through the same rules as HTTP clients: create, apply (create or
merge-patch), get, list, delete, register nodes, install the contivpp.io CRDs, and the levers a
real cluster has no button for: ``compact`` (force 410 for old versions), ``drop_watches`` (as
an API server restart) and ``stats``.

Usage::

    async with KubeApiStandIn(pod_network=allocator.setup) as kube:
        kube.write_kubeconfig(tmp / "kubeconfig")
        kube.register_node("node-1", "192.168.16.1", "10.1.1.0/24")
        kube.apply_yaml(MANIFEST)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from contivpy.async_service import AsyncService
from contivpy.sim.kube.apiserver import ApiServer, ApiServerSettings
from contivpy.sim.kube.crds import contivpp_crds
from contivpy.sim.kube.device_plugins import KubeletDevicePlugins
from contivpy.sim.kube.endpoints import EndpointsController
from contivpy.sim.kube.errors import KubeApiError
from contivpy.sim.kube.http_server import KubeHttpServer
from contivpy.sim.kube.kubeconfig import write_kubeconfig
from contivpy.sim.kube.kubelet import KubeletSettings, KubeletSimulation, node_manifest
from contivpy.sim.kube.manifests import dependency_order, load_manifest_files, load_manifest_text
from contivpy.sim.kube.objects import JsonObject, JsonObjects, deep_copy, name_of, namespace_of
from contivpy.sim.kube.patching import MERGE_PATCH
from contivpy.sim.kube.pod_network import PodNetworkSetup, PodNetworkTeardown
from contivpy.sim.kube.resources import ResourceType

T = TypeVar("T")
ApplyAction = Literal["created", "configured", "unchanged"]


class KubeApiStandIn(AsyncService):
    """HTTP server, store and (optionally) kubelet simulation, started and stopped together."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: ApiServerSettings | None = None,
        pod_network: PodNetworkSetup | None = None,
        pod_teardown: PodNetworkTeardown | None = None,
        kubelet: KubeletSettings | None = None,
        endpoints_controller: bool = True,
    ) -> None:
        self.api = ApiServer(settings)
        self._endpoints = EndpointsController(self.api) if endpoints_controller else None
        self._http = KubeHttpServer(self.api, host, port)
        self._kubelet = (
            KubeletSimulation(self.api, pod_network, pod_teardown, kubelet)
            if pod_network is not None
            else None
        )
        self._device_plugins: dict[str, KubeletDevicePlugins] = {}

    async def start(self) -> None:
        await self._http.start()
        self.api.bootstrap(self._http.host, self._http.port)
        if self._endpoints is not None:
            await self._endpoints.start()
        if self._kubelet is not None:
            await self._kubelet.start()

    async def stop(self) -> None:
        if self._kubelet is not None:
            await self._kubelet.stop()
        plugins, self._device_plugins = list(self._device_plugins.values()), {}
        for manager in plugins:
            await manager.stop()
        if self._endpoints is not None:
            await self._endpoints.stop()
        await self._http.stop()

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def port(self) -> int:
        return self._http.port

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        return write_kubeconfig(path, self.url, namespace)

    # --- objects ---------------------------------------------------------------------------

    def _type_of(self, obj: JsonObject) -> ResourceType:
        return self.api.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))

    def _namespace(self, resource_type: ResourceType, namespace: str) -> str:
        return (namespace or "default") if resource_type.namespaced else ""

    def create(self, obj: JsonObject) -> JsonObject:
        resource_type = self._type_of(obj)
        namespace = self._namespace(resource_type, namespace_of(obj))
        return deep_copy(self.api.writer.create(resource_type, namespace, obj))

    def apply(self, obj: JsonObject) -> tuple[ApplyAction, JsonObject]:
        """Create, or merge-patch onto the live object (like ``apply_manifests`` over HTTP)."""
        resource_type = self._type_of(obj)
        namespace = self._namespace(resource_type, namespace_of(obj))
        writer = self.api.writer
        existing = self.api.store.get(resource_type.key, namespace, name_of(obj))
        if existing is None:
            return "created", deep_copy(writer.create(resource_type, namespace, obj))
        patched = writer.patch(resource_type, namespace, name_of(obj), obj, MERGE_PATCH)
        action: ApplyAction = "unchanged" if patched is existing else "configured"
        return action, deep_copy(patched)

    def apply_all(self, objects: Iterable[JsonObject]) -> list[tuple[ApplyAction, JsonObject]]:
        return [self.apply(o) for o in dependency_order(list(objects))]

    def apply_yaml(self, text: str) -> list[tuple[ApplyAction, JsonObject]]:
        return self.apply_all(load_manifest_text(text))

    def apply_files(self, paths: Sequence[Path]) -> list[tuple[ApplyAction, JsonObject]]:
        return self.apply_all(load_manifest_files(paths))

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> JsonObject:
        resource_type = self.api.resource(api_version, kind)
        found = self.api.writer.get(resource_type, self._namespace(resource_type, namespace), name)
        return deep_copy(resource_type.present(found))

    def find(
        self, api_version: str, kind: str, name: str, namespace: str = ""
    ) -> JsonObject | None:
        """Like ``get``, but None when the object does not exist."""
        try:
            return self.get(api_version, kind, name, namespace)
        except KubeApiError as error:
            if error.code == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> JsonObjects:
        resource_type = self.api.resource(api_version, kind)
        return [
            deep_copy(resource_type.present(o))
            for o in self.api.store.objects(resource_type.key, namespace)
        ]

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Any,
        *,
        namespace: str = "",
        subresource: str = "",
        content_type: str = MERGE_PATCH,
    ) -> JsonObject:
        resource_type = self.api.resource(api_version, kind)
        namespace = self._namespace(resource_type, namespace)
        patched = self.api.writer.patch(
            resource_type, namespace, name, patch, content_type, subresource=subresource
        )
        return deep_copy(patched)

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> JsonObject:
        resource_type = self.api.resource(api_version, kind)
        namespace = self._namespace(resource_type, namespace)
        return deep_copy(self.api.writer.delete(resource_type, namespace, name))

    def register_node(
        self, name: str, internal_ip: str, pod_cidr: str = "", labels: dict[str, str] | None = None
    ) -> JsonObject:
        """Create (or update) a Ready Node, as its kubelet would on start."""
        return self.apply(node_manifest(name, internal_ip, pod_cidr, labels))[1]

    async def serve_device_plugins(
        self, node: str, device_plugins_dir: Path, pod_resources_socket: Path | None = None
    ) -> KubeletDevicePlugins:
        """Play the node's kubelet towards device plugins: Registration on
        ``<device_plugins_dir>/kubelet.sock``, pod-resources List on ``pod_resources_socket``;
        the node's pods are admitted through the registered plugins (with the kubelet
        simulation on). Stopped with the stand-in; ``device_plugins(node)`` finds it again."""
        if node in self._device_plugins:
            raise ValueError(f"node {node!r}: its device plugins are already served")
        manager = KubeletDevicePlugins(device_plugins_dir, pod_resources_socket)
        await manager.start()
        self._device_plugins[node] = manager
        if self._kubelet is not None:
            self._kubelet.attach_device_plugins(node, manager)
        return manager

    def device_plugins(self, node: str) -> KubeletDevicePlugins:
        """The node's kubelet device manager (devices, grants per pod: ``grants_of``)."""
        return self._device_plugins[node]

    def install_contivpp_crds(self) -> JsonObjects:
        """Create the contivpp.io CRDs: CustomNetwork, ExternalInterface, ServiceFunctionChain,
        CustomConfiguration."""
        return [self.apply(crd)[1] for crd in contivpp_crds()]

    # --- levers ----------------------------------------------------------------------------

    def compact(self, keep: int = 0) -> int:
        """Forget all but the last ``keep`` changes; older versions now answer 410."""
        return self.api.store.compact(keep)

    def drop_watches(self) -> int:
        """Close every open watch stream (clients resume from their last version)."""
        return self.api.drop_watches()

    def stats(self) -> JsonObject:
        return {**self.api.stats(), "requests": dict(self._http.requests)}

    async def wait_for(
        self, check: Callable[[], T | None], within: float = 5.0, poll: float = 0.05
    ) -> T:
        """Re-evaluate ``check`` after every change in the store (and every ``poll`` seconds,
        for conditions outside it) until it returns something other than None; TimeoutError
        after ``within`` seconds."""
        changed = asyncio.Event()
        self.api.store.on_any_change(changed.set)
        try:
            async with asyncio.timeout(within):
                while (result := check()) is None:
                    changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), poll)
                return result
        finally:
            self.api.store.on_any_change(changed.set, remove=True)
