"""``apply`` over HTTP: create-or-update manifests on any Kubernetes API server.

In: a server URL (the stand-in's, or a real server reachable without credentials) and
manifest objects or files. Out: one ApplyResult per object: created, configured (changed) or
unchanged, or failed with the server's message. The client side's aiohttp module; it speaks
only REST and discovery, so it has no knowledge of the stand-in's internals.

Update is a JSON merge patch of the manifest onto the live object: fields the manifest names
are set, fields it omits are kept (server-assigned ones like spec.nodeName and clusterIP
included). Unlike ``kubectl apply``, fields removed from a manifest are not removed from the
object (there is no last-applied record). A kind a just-created CRD serves may take a moment to
appear in discovery on a real server, so look-ups of unknown kinds are retried briefly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from contivpy.async_service import AsyncService
from contivpy.sim.kube.errors import KubeApiError, ServerUnreachable
from contivpy.sim.kube.manifests import load_manifest_files
from contivpy.sim.kube.objects import JsonObject, name_of, namespace_of, resource_version_of
from contivpy.sim.kube.patching import MERGE_PATCH

ApplyAction = Literal["created", "configured", "unchanged", "failed"]


@dataclass(frozen=True, slots=True)
class ApplyResult:
    kind: str
    group: str
    name: str
    namespace: str
    action: ApplyAction
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.action != "failed"

    def describe(self) -> str:
        """kubectl's wording: ``pod/web created``, ``customnetwork.contivpp.io/n1 unchanged``."""
        kind = f"{self.kind.lower()}.{self.group}" if self.group else self.kind.lower()
        where = f" -n {self.namespace}" if self.namespace else ""
        text = f"{kind}/{self.name}{where} {self.action}"
        return f"{text}: {self.error}" if self.error else text


@dataclass(frozen=True, slots=True)
class _Resource:
    prefix: str  # /api/v1 or /apis/<group>/<version>
    plural: str
    namespaced: bool


class RestClient(AsyncService):
    """A minimal Kubernetes REST client: discovery, get, create, merge patch."""

    def __init__(self, server_url: str, *, discovery_retries: int = 5) -> None:
        self._base = server_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._discovery: dict[str, dict[str, _Resource]] = {}  # apiVersion -> kind -> resource
        self._discovery_retries = discovery_retries

    async def start(self) -> None:
        """Open the HTTP session requests go through."""
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> JsonObject:
        """One REST call; a non-2xx answer raises KubeApiError built from its Status."""
        assert self._session is not None, "use RestClient as an async context manager"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        try:
            async with self._session.request(
                method, self._base + path, data=data, headers=headers
            ) as response:
                text = await response.text()
                status, reason = response.status, response.reason or ""
        except aiohttp.ClientError as error:
            raise ServerUnreachable(f"cannot reach {self._base}: {error}") from error
        try:
            document = json.loads(text) if text else {}
        except ValueError:
            document = {}
        if status >= 400:
            raise KubeApiError(
                status,
                str(document.get("reason", reason)),
                str(document.get("message", text.strip())),
                details=document.get("details"),
            )
        result: JsonObject = document
        return result

    async def _group_version(self, api_version: str) -> dict[str, _Resource]:
        prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        try:
            document = await self.request("GET", prefix)
        except KubeApiError as error:
            if error.code == 404:
                return {}
            raise
        resources = {}
        for entry in document.get("resources") or []:
            if "/" not in entry["name"]:
                resources[entry["kind"]] = _Resource(prefix, entry["name"], entry["namespaced"])
        return resources

    async def resource(self, api_version: str, kind: str) -> _Resource:
        for attempt in range(self._discovery_retries + 1):
            known = self._discovery.get(api_version, {})
            if kind in known:
                return known[kind]
            if attempt:
                await asyncio.sleep(0.1 * attempt)
            self._discovery[api_version] = await self._group_version(api_version)
        raise KubeApiError(404, "NotFound", f'no resource for kind "{kind}" in {api_version}')

    def _path(self, resource: _Resource, namespace: str, name: str = "") -> str:
        path = resource.prefix
        if resource.namespaced:
            path += f"/namespaces/{namespace}"
        path += f"/{resource.plural}"
        return f"{path}/{name}" if name else path

    async def apply(self, obj: JsonObject, default_namespace: str = "default") -> ApplyResult:
        """Create ``obj`` or merge-patch it onto the live object; raises KubeApiError."""
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        group = api_version.rpartition("/")[0]
        name = name_of(obj)
        resource = await self.resource(api_version, kind)
        namespace = (namespace_of(obj) or default_namespace) if resource.namespaced else ""
        try:
            live = await self.request("GET", self._path(resource, namespace, name))
        except KubeApiError as error:
            if error.code != 404:
                raise
            await self.request("POST", self._path(resource, namespace), obj)
            return ApplyResult(kind, group, name, namespace, "created")
        path = self._path(resource, namespace, name)
        patched = await self.request("PATCH", path, obj, MERGE_PATCH)
        changed = resource_version_of(patched) != resource_version_of(live)
        return ApplyResult(kind, group, name, namespace, "configured" if changed else "unchanged")


async def apply_objects(
    server_url: str,
    objects: Sequence[JsonObject],
    *,
    namespace: str = "default",
    raise_on_error: bool = True,
    discovery_retries: int = 5,
) -> list[ApplyResult]:
    """Apply objects in order; with ``raise_on_error`` the first failure raises KubeApiError.
    An unreachable server always raises (ServerUnreachable): no object could be applied.
    ``discovery_retries``: extra discovery look-ups (0.1 s, 0.2 s, ...) for an unknown kind."""
    results: list[ApplyResult] = []
    async with RestClient(server_url, discovery_retries=discovery_retries) as client:
        for obj in objects:
            try:
                results.append(await client.apply(obj, namespace))
            except KubeApiError as error:
                if raise_on_error or isinstance(error, ServerUnreachable):
                    raise
                api_version = str(obj.get("apiVersion"))
                results.append(
                    ApplyResult(
                        str(obj.get("kind")),
                        api_version.rpartition("/")[0],
                        name_of(obj),
                        namespace_of(obj),
                        "failed",
                        error.message,
                    )
                )
    return results


async def apply_manifests(
    server_url: str,
    paths: Sequence[Path | str],
    *,
    namespace: str = "default",
    raise_on_error: bool = True,
    discovery_retries: int = 5,
) -> list[ApplyResult]:
    """Apply every object of the manifest files (or directories) at ``paths``."""
    objects = load_manifest_files(Path(p) for p in paths)
    return await apply_objects(
        server_url,
        objects,
        namespace=namespace,
        raise_on_error=raise_on_error,
        discovery_retries=discovery_retries,
    )
