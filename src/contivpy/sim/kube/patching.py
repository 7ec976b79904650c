"""PATCH bodies applied to stored objects: JSON merge patch, a strategic merge patch subset,
and JSON patch.

In: the current object, the patch document and its Content-Type. Out: the patched object (a
new dict; the input is not changed). Wrong shapes are 400 BadRequest and unknown content types
415, as on the real API server.

The strategic merge patch here is a subset: it is a merge patch, except that lists whose
Kubernetes patch strategy is "merge" (containers by name, conditions by type, ...) are merged
item by item on their merge key, and ``$patch: delete`` in such an item removes it. That is
what kubelets and controllers rely on when they patch status; of the other directives
(what ``kubectl apply`` sends), ``$deleteFromPrimitiveList/<list>`` removes values, and
``$setElementOrder/<list>``, ``$retainKeys`` and a map's ``$patch`` are read and ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from contivpy.sim.kube.errors import KubeApiError, bad_request, unsupported_media_type
from contivpy.sim.kube.objects import JsonObject

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# Field name -> merge key of the list items, from the Kubernetes API's patchMergeKey tags.
# "ports" holds container ports (containerPort) or service ports (port): the key present wins.
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "containerStatuses": ("name",),
    "initContainerStatuses": ("name",),
    "conditions": ("type",),
    "addresses": ("type",),
    "podIPs": ("ip",),
    "hostIPs": ("ip",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"),
}


def apply_patch(target: JsonObject, patch: Any, content_type: str) -> JsonObject:
    """Patch ``target`` as the Content-Type says; returns a new object."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch must be a JSON array of operations")
        return apply_json_patch(target, patch)
    if media_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        raise unsupported_media_type(content_type)
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    result = merge_patch(target, patch, strategic=media_type == STRATEGIC_MERGE_PATCH)
    if not isinstance(result, dict):
        raise bad_request("the patch did not produce an object")
    return result


def merge_patch(target: Any, patch: Any, *, strategic: bool = False) -> Any:
    """RFC 7386 merge patch; with ``strategic``, merge-strategy lists merge on their key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: JsonObject = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith("$"):
            _directive(result, key, value)
        elif value is None:
            result.pop(key, None)
        elif strategic and isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            result[key] = merge_patch(result.get(key), value, strategic=strategic)
    return result


def _directive(result: JsonObject, key: str, value: Any) -> None:
    """A strategic merge patch directive at this level of the object. kubectl sends
    ``$setElementOrder/<list>`` (the order of merged items) and ``$retainKeys``, which do not
    change what the stand-in stores, and ``$deleteFromPrimitiveList/<list>``, which does."""
    name, _, field = key.partition("/")
    if name == "$deleteFromPrimitiveList" and isinstance(result.get(field), list):
        gone = value if isinstance(value, list) else [value]
        result[field] = [item for item in result[field] if item not in gone]


def _merge_key(field: str, items: list[Any]) -> str | None:
    candidates = _MERGE_KEYS.get(field, ())
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in candidates:
        if all(key in item for item in items):
            return key
    return None


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(field, current + patch)
    if key is None:
        return copy.deepcopy(patch)
    merged = copy.deepcopy(current)
    for item in patch:
        index = next((i for i, old in enumerate(merged) if old[key] == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del merged[index]
        elif index is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[index] = merge_patch(merged[index], item, strategic=True)
    return merged


def apply_json_patch(target: JsonObject, operations: list[Any]) -> JsonObject:
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    document: Any = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"invalid JSON patch operation: {operation!r}")
        document = _json_patch_step(document, operation)
    if not isinstance(document, dict):
        raise bad_request("the patch did not produce an object")
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens[:-1]:
        node = _child(node, token)
    return node


def _child(node: Any, token: str) -> Any:
    try:
        if isinstance(node, list):
            return node[int(token)]
        if isinstance(node, dict):
            return node[token]
    except (KeyError, IndexError, ValueError):
        pass
    raise KubeApiError(422, "Invalid", f"the JSON patch path does not exist: {token!r}")


def _get(document: Any, path: str) -> Any:
    node = document
    for token in _pointer(path):
        node = _child(node, token)
    return node


def _remove(document: Any, path: str) -> Any:
    tokens = _pointer(path)
    parent, last = _parent(document, tokens), tokens[-1]
    value = _child(parent, last)
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]
    return value


def _add(document: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if not 0 <= index <= len(parent):
            raise KubeApiError(422, "Invalid", f"JSON patch index out of range: {path}")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KubeApiError(422, "Invalid", f"JSON patch parent is not a container: {path}")
    return document


def _json_patch_step(document: Any, operation: JsonObject) -> Any:
    op, path = operation["op"], operation["path"]
    match op:
        case "add":
            return _add(document, path, copy.deepcopy(operation.get("value")))
        case "remove":
            _remove(document, path)
            return document
        case "replace":
            _get(document, path)
            if not _pointer(path):
                return copy.deepcopy(operation.get("value"))
            _remove(document, path)
            return _add(document, path, copy.deepcopy(operation.get("value")))
        case "move":
            value = _remove(document, operation["from"])
            return _add(document, path, value)
        case "copy":
            return _add(document, path, copy.deepcopy(_get(document, operation["from"])))
        case "test":
            if _get(document, path) != operation.get("value"):
                raise KubeApiError(422, "Invalid", f"JSON patch test failed at {path}")
            return document
    raise bad_request(f"unknown JSON patch operation {op!r}")
