"""OpenAPI v3 documents: what kubectl reads before it writes (``/openapi/v3`` and
``/openapi/v3/<api|apis/group>/<version>``).

In: the resource registry (built-ins and established CRDs). Out: the discovery document
naming one document per group version (``paths`` -> ``serverRelativeURL`` with a hash that
changes when the group version's resources do), and each group version's document: a path
per resource with its operations, each marked with ``x-kubernetes-group-version-kind``, and a
component schema per kind (``builtin_schemas`` for built-ins, the CRD's openAPIV3Schema for
custom resources) carrying the same extension.

What kubectl (1.27 and later) does with them: before ``apply`` or ``create`` it looks for the
kind's PATCH operation and its ``fieldValidation`` query parameter; finding it, it leaves
validation to the server and sends ``fieldValidation=Strict`` (``writes.check_fields``).
The PATCH operations list merge and JSON patch bodies but not strategic merge patch: kubectl
then builds its strategic patches from its own compiled-in types (exact patch metadata) rather
than from these partial schemas. ``/openapi/v2`` is not served (404), so kubectl never falls
back to it; kubectl of these versions reads v3 first.
"""

from __future__ import annotations

import hashlib
import json

from contivpy.sim.kube.builtin_schemas import builtin_schema
from contivpy.sim.kube.discovery import KUBERNETES_VERSION
from contivpy.sim.kube.objects import JsonObject
from contivpy.sim.kube.resources import ResourceRegistry, ResourceType

_WRITE_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation")
_PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json")


def gv_path(group: str, version: str) -> str:
    """``api/v1`` or ``apis/<group>/<version>``: a group version's name in /openapi/v3."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _group_versions(registry: ResourceRegistry) -> dict[tuple[str, str], list[ResourceType]]:
    served: dict[tuple[str, str], list[ResourceType]] = {}
    for resource_type in registry:
        served.setdefault(resource_type.group_version, []).append(resource_type)
    return served


def root(registry: ResourceRegistry) -> JsonObject:
    """The /openapi/v3 discovery document."""
    paths: JsonObject = {}
    for (group, version), types in sorted(_group_versions(registry).items()):
        document = json.dumps(_document(group, version, types), sort_keys=True).encode()
        digest = hashlib.sha512(document).hexdigest()[:64].upper()
        name = gv_path(group, version)
        paths[name] = {"serverRelativeURL": f"/openapi/v3/{name}?hash={digest}"}
    return {"paths": paths}


def group_version(registry: ResourceRegistry, name: str) -> JsonObject | None:
    """The document of one group version (``api/v1``, ``apis/apps/v1``), None if not served."""
    for (group, version), types in _group_versions(registry).items():
        if gv_path(group, version) == name:
            return _document(group, version, types)
    return None


def _schema_name(resource_type: ResourceType) -> str:
    if resource_type.custom:
        reversed_group = ".".join(reversed(resource_type.group.split(".")))
        return f"{reversed_group}.{resource_type.version}.{resource_type.kind}"
    if resource_type.group == "apiextensions.k8s.io":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.{resource_type.kind}"
    package = resource_type.group.split(".")[0] or "core"
    return f"io.k8s.api.{package}.{resource_type.version}.{resource_type.kind}"


def _gvk(resource_type: ResourceType) -> JsonObject:
    return {
        "group": resource_type.group,
        "version": resource_type.version,
        "kind": resource_type.kind,
    }


def _parameter(name: str, where: str = "query") -> JsonObject:
    parameter: JsonObject = {"name": name, "in": where, "schema": {"type": "string"}}
    if where == "path":
        parameter["required"] = True
    return parameter


def _operation(
    resource_type: ResourceType, action: str, verb: str, reference: JsonObject
) -> JsonObject:
    operation: JsonObject = {
        "operationId": f"{verb}{resource_type.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(resource_type),
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": reference}}}
        },
    }
    if action in ("post", "put", "patch", "delete"):
        names = _WRITE_PARAMETERS if action != "delete" else ("dryRun",)
        operation["parameters"] = [_parameter(n) for n in names]
    if action in ("post", "put"):
        operation["requestBody"] = {"content": {"application/json": {"schema": reference}}}
    if action == "patch":
        operation["requestBody"] = {
            "content": {t: {"schema": {"type": "object"}} for t in _PATCH_TYPES}
        }
    return operation


def _paths(resource_type: ResourceType, reference: JsonObject) -> JsonObject:
    base = "/" + gv_path(resource_type.group, resource_type.version)
    collection = f"{base}/{resource_type.plural}"
    if resource_type.namespaced:
        collection = f"{base}/namespaces/{{namespace}}/{resource_type.plural}"
    item = f"{collection}/{{name}}"
    path_parameters = [_parameter("name", "path")]
    if resource_type.namespaced:
        path_parameters.append(_parameter("namespace", "path"))
    paths: JsonObject = {
        collection: {
            "get": _operation(resource_type, "list", "list", reference),
            "post": _operation(resource_type, "post", "create", reference),
            "parameters": path_parameters[1:],
        },
        item: {
            "get": _operation(resource_type, "get", "read", reference),
            "put": _operation(resource_type, "put", "replace", reference),
            "patch": _operation(resource_type, "patch", "patch", reference),
            "delete": _operation(resource_type, "delete", "delete", reference),
            "parameters": path_parameters,
        },
    }
    if resource_type.status_subresource:
        paths[f"{item}/status"] = {
            "get": _operation(resource_type, "get", "read", reference),
            "put": _operation(resource_type, "put", "replace", reference),
            "patch": _operation(resource_type, "patch", "patch", reference),
            "parameters": path_parameters,
        }
    return paths


def _component(resource_type: ResourceType) -> JsonObject:
    if resource_type.custom:
        found = resource_type.schema
    else:
        found = builtin_schema(resource_type.group, resource_type.kind)
    schema: JsonObject = dict(found or {"type": "object"})
    schema["x-kubernetes-group-version-kind"] = [_gvk(resource_type)]
    return schema


def _document(group: str, version: str, types: list[ResourceType]) -> JsonObject:
    paths: JsonObject = {}
    schemas: JsonObject = {}
    for resource_type in sorted(types, key=lambda t: t.plural):
        name = _schema_name(resource_type)
        schemas[name] = _component(resource_type)
        paths.update(_paths(resource_type, {"$ref": f"#/components/schemas/{name}"}))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }
