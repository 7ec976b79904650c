"""The Kubernetes API over kubernetes_asyncio: the only module that imports it (project rule).

In: a kubeconfig file (or the in-cluster service account) and collection paths. Out:
``KubeApi``, a ``KubeSource``: paginated lists and watch streams with ``allowWatchBookmarks``,
and a ``KubeWriter``: single-object reads, merge patches (a custom resource's status) and
creates (Events), as parsed JSON; kubernetes_asyncio's and aiohttp's errors translated into
``contivpy.reflector.errors`` here, with the original chained.

Why not ``kubernetes_asyncio.watch.Watch``: it deserializes every object into typed models (a
malformed object then breaks the stream, not just itself), quietly retries a 410 once with the
same version, reads lines with aiohttp's ``readline`` (64 KiB limit; a Node with many images
exceeds it) and opens a second ApiClient of the default configuration. Requests here go through
``ApiClient.call_api`` with ``_preload_content=False``, which returns the aiohttp response
unchecked, so status codes are checked here and every response is released.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import structlog
from kubernetes_asyncio import client as kube_client
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from contivpy.errors import ConfigError
from contivpy.reflector.errors import (
    KubeApiRequestError,
    KubeApiUnavailableError,
    ReflectorError,
    ResourceExpiredError,
    ResourceNotServedError,
)
from contivpy.reflector.source import JsonObject, ObjectList, WatchedEvent, WatchEventType

log = structlog.get_logger(__name__)

_WATCH_TYPES: frozenset[str] = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})
_CONNECT_TIMEOUT = 10.0
_READ_MARGIN = 30.0  # a watch stream silent this long past its timeout is dead


_MERGE_PATCH = "application/merge-patch+json"
_WRITE_TIMEOUT = 30.0


class KubeApi:
    """``KubeSource`` and ``KubeWriter`` over one kubernetes_asyncio ``ApiClient`` (see the
    module doc)."""

    def __init__(
        self,
        api: Any,
        *,
        watch_timeout: int = 300,
        page_size: int = 500,
        list_timeout: float = 60.0,
    ) -> None:
        self._api = api
        self._watch_timeout = watch_timeout
        self._page_size = page_size
        self._list_timeout = list_timeout

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, kubeconfig: Path | None, *, context: str | None = None, watch_timeout: int = 300
    ) -> AsyncIterator[KubeApi]:
        """Load the kubeconfig (None: in-cluster config) and yield a connected ``KubeApi``;
        the HTTP session is closed on exit."""
        configuration = kube_client.Configuration()
        try:
            if kubeconfig is None:
                kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
            else:
                await kube_config.load_kube_config(
                    config_file=str(kubeconfig),
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,  # never rewrite the operator's file
                )
        except (ConfigException, OSError, ValueError) as error:
            where = "in-cluster config" if kubeconfig is None else f"kubeconfig {kubeconfig}"
            raise ConfigError(f"{where}: {error}") from error
        async with kube_client.ApiClient(configuration) as api:
            yield cls(api, watch_timeout=watch_timeout)

    async def list_objects(self, path: str) -> ObjectList:
        items: list[JsonObject] = []
        version = ""
        token = ""
        while True:
            query = [("limit", str(self._page_size))]
            if token:
                query.append(("continue", token))
            timeout = aiohttp.ClientTimeout(total=self._list_timeout)
            async with self._request(path, query, timeout) as response:
                page = _json_object(await _read(response), path)
            metadata = page.get("metadata") or {}
            page_items = page.get("items") or []
            if not isinstance(metadata, dict) or not isinstance(page_items, list):
                raise KubeApiUnavailableError(f"list {path}: not a list object")
            items.extend(item for item in page_items if isinstance(item, dict))
            version = version or str(metadata.get("resourceVersion") or "")
            token = str(metadata.get("continue") or "")
            if not token:
                return ObjectList(items, version)

    async def watch_objects(
        self, path: str, resource_version: str
    ) -> AsyncGenerator[WatchedEvent, None]:
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(self._watch_timeout)),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        timeout = aiohttp.ClientTimeout(
            connect=_CONNECT_TIMEOUT, sock_read=self._watch_timeout + _READ_MARGIN
        )
        async with self._request(path, query, timeout) as response:
            pending = bytearray()
            try:
                async for chunk in response.content.iter_any():
                    pending += chunk
                    while (end := pending.find(b"\n")) >= 0:
                        line = bytes(pending[:end])
                        del pending[: end + 1]
                        if line.strip():
                            yield _watch_event(line, path)
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                raise KubeApiUnavailableError(f"watch {path}: {error!r}") from error
            if bytes(pending).strip():
                yield _watch_event(bytes(pending), path)

    async def get_object(self, path: str) -> JsonObject:
        return await self._write("GET", path)

    async def merge_patch(self, path: str, patch: JsonObject) -> JsonObject:
        return await self._write("PATCH", path, patch, content_type=_MERGE_PATCH)

    async def create_object(self, path: str, obj: JsonObject) -> JsonObject:
        return await self._write("POST", path, obj)

    async def _write(
        self,
        method: str,
        path: str,
        body: JsonObject | None = None,
        *,
        content_type: str = "application/json",
    ) -> JsonObject:
        limits = aiohttp.ClientTimeout(total=_WRITE_TIMEOUT)
        async with self._request(
            path, [], limits, method=method, body=body, content_type=content_type
        ) as response:
            return _json_object(await _read(response), path)

    @contextlib.asynccontextmanager
    async def _request(
        self,
        path: str,
        query: list[tuple[str, str]],
        limits: aiohttp.ClientTimeout,
        *,
        method: str = "GET",
        body: JsonObject | None = None,
        content_type: str = "application/json",
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            response = cast(
                aiohttp.ClientResponse,
                await self._api.call_api(
                    path,
                    method,
                    query_params=query,
                    header_params={"Accept": "application/json", "Content-Type": content_type},
                    body=body,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=limits,
                ),
            )
        except ApiException as error:
            raise _status_error(error.status or 0, str(error.reason), path) from error
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise KubeApiUnavailableError(f"{method} {path}: {error!r}") from error
        try:
            if not 200 <= response.status < 300:
                answer = await _read(response)
                raise _status_error(response.status, _status_message(answer), path)
            yield response
        finally:
            response.release()


async def _read(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise KubeApiUnavailableError(f"reading {response.url}: {error!r}") from error


def _json_object(body: bytes, path: str) -> JsonObject:
    try:
        parsed = json.loads(body)
    except ValueError as error:
        raise KubeApiUnavailableError(f"{path}: answer is not JSON ({error})") from error
    if not isinstance(parsed, dict):
        raise KubeApiUnavailableError(f"{path}: answer is not a JSON object")
    return parsed


def _watch_event(line: bytes, path: str) -> WatchedEvent:
    event = _json_object(line, f"watch {path}")
    kind, obj = event.get("type"), event.get("object")
    if not isinstance(obj, dict):
        raise KubeApiUnavailableError(f"watch {path}: event without an object")
    if kind == "ERROR":
        code = obj.get("code")
        raise _status_error(code if isinstance(code, int) else 0, _status_text(obj), path)
    if kind not in _WATCH_TYPES:
        raise KubeApiUnavailableError(f"watch {path}: unknown event type {kind!r}")
    metadata = obj.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
    return WatchedEvent(cast(WatchEventType, kind), obj, str(version or ""))


def _status_message(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace")
    return _status_text(status) if isinstance(status, dict) else str(status)[:200]


def _status_text(status: JsonObject) -> str:
    reason, message = status.get("reason"), status.get("message")
    return f"{reason}: {message}" if reason else str(message or status)[:200]


def _status_error(code: int, message: str, path: str) -> ReflectorError:
    text = f"{path}: {message}"
    if code == 410:
        return ResourceExpiredError(text)
    if code == 404:
        return ResourceNotServedError(text)
    if code in (0, 429) or code >= 500:
        return KubeApiUnavailableError(f"HTTP {code}: {text}")
    return KubeApiRequestError(code, text)
