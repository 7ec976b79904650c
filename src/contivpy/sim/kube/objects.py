"""The stand-in's object vocabulary: Kubernetes objects as plain JSON dicts.

In: JSON objects as clients send them. Out: typed accessors for the few metadata fields the
stand-in reasons about (name, namespace, resourceVersion, labels), dotted-path reads for field
selectors, and timestamps in the API server's format. The stand-in is a store of JSON
objects, not of typed models; everything below ``metadata`` is opaque unless a module needs it.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
JsonObjects: TypeAlias = list[JsonObject]  # for classes whose own ``list`` method shadows list


def metadata_of(obj: JsonObject) -> JsonObject:
    """The object's metadata dict (an empty dict when absent or malformed)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def name_of(obj: JsonObject) -> str:
    name = metadata_of(obj).get("name")
    return name if isinstance(name, str) else ""


def namespace_of(obj: JsonObject) -> str:
    namespace = metadata_of(obj).get("namespace")
    return namespace if isinstance(namespace, str) else ""


def labels_of(obj: JsonObject) -> dict[str, str]:
    labels = metadata_of(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


def resource_version_of(obj: JsonObject) -> str:
    version = metadata_of(obj).get("resourceVersion")
    return version if isinstance(version, str) else ""


def deep_copy(obj: JsonObject) -> JsonObject:
    """A copy the caller may change without touching the stored object."""
    return copy.deepcopy(obj)


def read_path(obj: JsonObject, dotted: str) -> Any:
    """The value at a dotted path such as ``spec.nodeName``, or None when any step is missing."""
    node: Any = obj
    for step in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def field_text(value: Any) -> str:
    """A field's value as field selectors compare it: missing is "", booleans are lower case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def utc_timestamp(now: datetime.datetime | None = None) -> str:
    """RFC 3339 with second precision in UTC, as metadata.creationTimestamp is written."""
    moment = now if now is not None else datetime.datetime.now(datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
