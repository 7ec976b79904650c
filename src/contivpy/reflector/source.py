"""What the informers need from the Kubernetes API: list a collection, watch it from a version.

In: nothing (definitions). Out: ``KubeSource``, the protocol ``contivpy.reflector.watching``
implements over kubernetes_asyncio (and tests may implement over anything), and the plain
values it returns: objects are parsed JSON (``dict``) exactly as the API server sent them, so
a malformed object reaches the converter, which names its bad field, instead of failing
deep inside a client library's deserializer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

JsonObject: TypeAlias = dict[str, Any]
WatchEventType: TypeAlias = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


@dataclass(frozen=True, slots=True)
class ObjectList:
    """Every object of a collection at one version (all pages joined)."""

    items: list[JsonObject]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchedEvent:
    """One watch event. A BOOKMARK carries only the version (``object`` is its metadata)."""

    type: WatchEventType
    object: JsonObject
    resource_version: str


class KubeSource(Protocol):
    """List and watch collections by path (``/api/v1/pods``).

    Errors are ``contivpy.reflector.errors``: ``ResourceExpiredError`` (relist),
    ``ResourceNotServedError`` (kind not installed), ``KubeApiUnavailableError`` (back off and
    retry), ``KubeApiRequestError`` (refused).
    """

    async def list_objects(self, path: str) -> ObjectList:
        """The whole collection, paginated underneath, at one version."""
        ...

    def watch_objects(self, path: str, resource_version: str) -> AsyncGenerator[WatchedEvent, None]:
        """Changes after ``resource_version`` with bookmarks, until the server ends the stream
        (its timeout): then the caller watches again from the last version it saw. Use it in
        ``contextlib.aclosing`` so the connection is released when the caller stops early."""
        ...


@runtime_checkable
class KubeWriter(Protocol):
    """The few writes the reflector makes to Kubernetes: a custom resource's status and
    Events about it. Paths are an object's (``/apis/contivpp.io/v1/namespaces/ns/x/y``) or a
    collection's; errors as for ``KubeSource`` (``ResourceNotServedError`` when the object is
    gone)."""

    async def get_object(self, path: str) -> JsonObject:
        """One object."""
        ...

    async def merge_patch(self, path: str, patch: JsonObject) -> JsonObject:
        """Apply a JSON merge patch (``.../status`` for the status subresource)."""
        ...

    async def create_object(self, path: str, obj: JsonObject) -> JsonObject:
        """POST ``obj`` to the collection at ``path``."""
        ...
