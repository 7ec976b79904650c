"""List requests: the objects of one resource at a version, filtered and paginated.

In: the store, the resource, and the list parameters (namespace, selectors, resourceVersion,
resourceVersionMatch, limit, continue). Out: a ``<Kind>List`` JSON document whose
metadata.resourceVersion is the version the list was read at (watch from there).

Which version is read:
- resourceVersion unset or "0", or resourceVersionMatch=NotOlderThan: the current state.
- resourceVersion N otherwise (Exact, or unset match as with a paginated list on a real
  server): the state at N, rebuilt from the change window; N older than the window is
  410 Expired, so a client relists without a version. (A real server with a watch cache
  answers an unpaginated legacy list at N with current data; the stand-in is stricter.)
- a continue token: the remainder of the list at the token's version, or 410 once compacted.
"""

from __future__ import annotations

import base64
import binascii
import json

from contivpy.sim.kube.errors import bad_request, expired, too_large_resource_version
from contivpy.sim.kube.objects import JsonObject, name_of, namespace_of
from contivpy.sim.kube.resources import ResourceType
from contivpy.sim.kube.selectors import FieldSelector, LabelSelector
from contivpy.sim.kube.store import ObjectStore
from contivpy.sim.kube.watching import parse_version

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter."
)


def _encode_continue(version: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": version, "start": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue key is not valid") from None


def _read_version(
    store: ObjectStore, resource_version: str, match: str, continue_token: str
) -> tuple[int, tuple[str, str] | None]:
    """The version to read at and, for a continued list, the key to start after."""
    if continue_token:
        version, after = _decode_continue(continue_token)
        if not store.is_retained(version):
            raise expired(CONTINUE_EXPIRED)
        return version, after
    if match and match not in ("Exact", "NotOlderThan"):
        raise bad_request(f'resourceVersionMatch: Unsupported value: "{match}"')
    if match and resource_version == "":
        raise bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if resource_version in ("", "0"):
        return store.resource_version, None
    version = parse_version(resource_version)
    if version > store.resource_version:
        raise too_large_resource_version(version, store.resource_version)
    if match == "NotOlderThan":
        return store.resource_version, None
    if not store.is_retained(version):
        raise expired("The resourceVersion for the provided list is too old.")
    return version, None


def list_objects(
    store: ObjectStore,
    resource_type: ResourceType,
    *,
    namespace: str | None = None,
    labels: LabelSelector | None = None,
    fields: FieldSelector | None = None,
    resource_version: str = "",
    resource_version_match: str = "",
    limit: int = 0,
    continue_token: str = "",
) -> JsonObject:
    """The List document for one list request."""
    version, after = _read_version(store, resource_version, resource_version_match, continue_token)
    if version == store.resource_version:
        objects = store.objects(resource_type.key, namespace)
    else:
        objects = store.objects_at(resource_type.key, namespace, version)
    label_selector = labels or LabelSelector()
    field_selector = fields or FieldSelector()
    selected = [o for o in objects if label_selector.matches(o) and field_selector.matches(o)]
    if after is not None:
        selected = [o for o in selected if (namespace_of(o), name_of(o)) > after]
    list_meta: JsonObject = {"resourceVersion": str(version)}
    if limit > 0 and len(selected) > limit:
        last = selected[limit - 1]
        list_meta["continue"] = _encode_continue(version, (namespace_of(last), name_of(last)))
        if not label_selector.requirements and not field_selector.requirements:
            list_meta["remainingItemCount"] = len(selected) - limit
        selected = selected[:limit]
    return {
        "kind": resource_type.list_kind,
        "apiVersion": resource_type.api_version,
        "metadata": list_meta,
        "items": [_list_item(resource_type, o) for o in selected],
    }


def _list_item(resource_type: ResourceType, obj: JsonObject) -> JsonObject:
    # Built-in lists carry no apiVersion/kind per item on the real server; CR lists do.
    shown = resource_type.present(obj)
    if resource_type.custom:
        return shown
    return {k: v for k, v in shown.items() if k not in ("apiVersion", "kind")}
