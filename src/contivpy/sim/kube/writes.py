"""The write path: create, update (PUT), patch, delete and pod binding, as the API server
does them.

In: a resource type, the namespace and name from the URL, and a request body. Out: the stored
object (or, for delete, its last state). Refusals are KubeApiError with the real server's code
and reason: 400 for a body that does not fit the URL, 404 for a missing object or namespace,
409 for an existing name, a stale resourceVersion or a bound pod, 422 for an invalid object.

Order of a write: fit the body to the URL, carry over what the server owns (uid,
creationTimestamp, generation, status when it is a subresource), apply defaults, validate
(and, for custom resources, prune and default by schema), then store. An update that changes
nothing stores nothing: no new resourceVersion, no watch event. Deleting a namespace deletes
what is in it; deleting a CRD deletes its custom resources and stops serving the kind.

``dry_run`` (the ``dryRun=All`` query parameter) does every step but the store: the answer is
the object as it would be stored, and nothing changes. ``check_fields`` is
``fieldValidation=Strict``: a body naming a field its kind's schema does not declare is 400,
naming every such field, as the real server's strict decoding does.
"""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

import structlog

from contivpy.sim.kube import custom_resources, schema
from contivpy.sim.kube.builtin_schemas import builtin_schema
from contivpy.sim.kube.defaults import Defaulter
from contivpy.sim.kube.errors import (
    MODIFIED_SINCE_READ,
    KubeApiError,
    bad_request,
    conflict,
    invalid,
    not_found,
)
from contivpy.sim.kube.errors import already_exists as already_exists_error
from contivpy.sim.kube.objects import (
    JsonObject,
    metadata_of,
    name_of,
    namespace_of,
    resource_version_of,
    utc_timestamp,
)
from contivpy.sim.kube.patching import apply_patch
from contivpy.sim.kube.resources import ResourceRegistry, ResourceType
from contivpy.sim.kube.store import ObjectStore
from contivpy.sim.kube.validation import validate_metadata, validate_object, validate_update

log = structlog.get_logger(__name__)

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet


def _server_owned(obj: JsonObject) -> JsonObject:
    """``obj`` without what changes on every write, for "did anything change" checks."""
    metadata = {k: v for k, v in metadata_of(obj).items() if k != "resourceVersion"}
    return {**obj, "metadata": metadata}


def schema_of(resource_type: ResourceType) -> JsonObject | None:
    """The openAPIV3Schema objects of this resource are checked against (None: not known)."""
    if resource_type.custom:
        return resource_type.schema
    return builtin_schema(resource_type.group, resource_type.kind)


def check_fields(resource_type: ResourceType, body: Any, *, patch: bool = False) -> None:
    """``fieldValidation=Strict``: 400 naming every field of ``body`` the schema does not
    declare (``patch``: ``body`` is a merge patch, whose ``$`` directives are not fields)."""
    found = schema_of(resource_type)
    if found is None or not isinstance(body, dict):
        return
    unknown = schema.unknown_fields(body, found, patch=patch)
    if unknown:
        kind, version = resource_type.kind, resource_type.api_version
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise KubeApiError(
            400,
            "BadRequest",
            f'{kind} in version "{version}" cannot be handled as a {kind}: '
            f"strict decoding error: {listed}",
        )


def _spec_part(obj: JsonObject) -> JsonObject:
    """What metadata.generation counts changes of: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class ObjectWriter:
    """Applies writes to the store with the API server's rules."""

    def __init__(
        self, store: ObjectStore, registry: ResourceRegistry, defaulter: Defaulter
    ) -> None:
        self._store = store
        self._registry = registry
        self._defaulter = defaulter

    # --- shaping the body --------------------------------------------------------------

    def _fit_to_url(
        self, resource_type: ResourceType, namespace: str, body: Any, name: str | None
    ) -> JsonObject:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        for field, expected in (
            ("apiVersion", resource_type.api_version),
            ("kind", resource_type.kind),
        ):
            given = obj.setdefault(field, expected)
            if given != expected:
                raise bad_request(
                    f"the {field} of the provided object ({given}) does not match "
                    f"the expected {field} ({expected})"
                )
        metadata = obj.get("metadata")
        if metadata is None:
            metadata = obj["metadata"] = {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if resource_type.namespaced:
            if metadata.setdefault("namespace", namespace) != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
        else:
            metadata.pop("namespace", None)
        if name is not None and metadata.get("name") != name:
            raise bad_request(
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        return obj

    def _check(
        self, resource_type: ResourceType, obj: JsonObject, old: JsonObject | None
    ) -> JsonObject:
        """Validate (custom resources also pruned and defaulted by schema); 422 on failure."""
        if resource_type.custom:
            causes = validate_metadata(resource_type, obj)
            if resource_type.schema is not None:
                obj, schema_causes = schema.check(obj, resource_type.schema)
                causes += schema_causes
        else:
            if old is None:
                causes = validate_object(resource_type, obj)
            else:
                causes = validate_update(resource_type, old, obj)
            if (builtin := schema_of(resource_type)) is not None:
                causes += schema.check_builtin(obj, builtin)
        if causes:
            raise invalid(resource_type.kind, resource_type.group, name_of(obj), causes)
        return obj

    def _require_namespace(self, namespace: str) -> None:
        if not namespace:
            raise bad_request("the namespace of the object is required")
        if self._store.get(NAMESPACE_KEY, "", namespace) is None:
            raise not_found("namespaces", "", namespace)

    # --- verbs -------------------------------------------------------------------------

    def create(
        self, resource_type: ResourceType, namespace: str, body: Any, *, dry_run: bool = False
    ) -> JsonObject:
        obj = self._fit_to_url(resource_type, namespace, body, None)
        metadata = obj["metadata"]
        if metadata.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(random.choices(_NAME_SUFFIX_ALPHABET, k=5))
            metadata["name"] = f"{metadata['generateName']}{suffix}"
        if resource_type.namespaced:
            self._require_namespace(namespace)
        for server_field in ("uid", "deletionTimestamp", "deletionGracePeriodSeconds"):
            metadata.pop(server_field, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = utc_timestamp()
        metadata["generation"] = 1
        if resource_type.custom and resource_type.status_subresource:
            obj.pop("status", None)  # status of a new CR is written through .../status only
        obj = self._defaulter.apply(resource_type, obj, None)
        obj = self._check(resource_type, obj, None)
        if resource_type.key == CRD_KEY:
            obj["status"] = custom_resources.established_status(obj)
        name = name_of(obj)
        if self._store.get(resource_type.key, namespace_of(obj), name) is not None:
            raise already_exists_error(resource_type.plural, resource_type.group, name)
        if dry_run:
            return obj
        stored = self._store.put(resource_type.key, obj)
        if resource_type.key == CRD_KEY:
            self._serve_crd(stored)
        return stored

    def get(self, resource_type: ResourceType, namespace: str, name: str) -> JsonObject:
        """The stored object (404 when missing); callers must not change it."""
        found = self._store.get(
            resource_type.key, namespace if resource_type.namespaced else "", name
        )
        if found is None:
            raise not_found(resource_type.plural, resource_type.group, name)
        return found

    def replace(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> JsonObject:
        old = self.get(resource_type, namespace, name)
        new = self._fit_to_url(resource_type, namespace, body, name)
        return self._update(resource_type, old, new, subresource, dry_run)

    def patch(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        patch: Any,
        content_type: str,
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> JsonObject:
        old = self.get(resource_type, namespace, name)
        patched = apply_patch(old, patch, content_type)
        new = self._fit_to_url(resource_type, namespace, patched, name)
        return self._update(resource_type, old, new, subresource, dry_run)

    def _update(
        self,
        resource_type: ResourceType,
        old: JsonObject,
        new: JsonObject,
        subresource: str,
        dry_run: bool = False,
    ) -> JsonObject:
        name = name_of(old)
        version = resource_version_of(new)
        if version and version != resource_version_of(old):
            raise conflict(resource_type.plural, resource_type.group, name, MODIFIED_SINCE_READ)
        old_metadata = metadata_of(old)
        uid = metadata_of(new).get("uid")
        if uid and uid != old_metadata.get("uid"):
            why = (
                f"Precondition failed: UID in precondition: {uid}, "
                f"UID in object meta: {old_metadata.get('uid')}"
            )
            raise conflict(resource_type.plural, resource_type.group, name, why)
        if subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = copy.deepcopy(new.get("status") or {})
        else:
            merged = new
            metadata = merged["metadata"]
            for owned in ("uid", "creationTimestamp", "generation"):
                if owned in old_metadata:
                    metadata[owned] = old_metadata[owned]
            if resource_type.status_subresource:
                if "status" in old:
                    merged["status"] = copy.deepcopy(old["status"])
                else:
                    merged.pop("status", None)
        merged["metadata"]["resourceVersion"] = resource_version_of(old)
        merged = self._defaulter.apply(resource_type, merged, old)
        merged = self._check(resource_type, merged, old)
        if resource_type.key == CRD_KEY and merged.get("spec") != old.get("spec"):
            # Re-accept changed names/versions; an unchanged CRD keeps its status (and its
            # condition timestamps), so re-applying it is a no-op.
            merged["status"] = custom_resources.established_status(merged)
        if _server_owned(merged) == _server_owned(old):
            return old
        if _spec_part(merged) != _spec_part(old):
            merged["metadata"]["generation"] = int(old_metadata.get("generation", 1)) + 1
        if dry_run:
            return merged
        stored = self._store.put(resource_type.key, merged)
        if resource_type.key == CRD_KEY:
            self._serve_crd(stored)
        return stored

    def delete(
        self,
        resource_type: ResourceType,
        namespace: str,
        name: str,
        options: JsonObject | None = None,
        *,
        dry_run: bool = False,
    ) -> JsonObject:
        old = self.get(resource_type, namespace, name)
        preconditions = (options or {}).get("preconditions") or {}
        for field, actual in (
            ("resourceVersion", resource_version_of(old)),
            ("uid", metadata_of(old).get("uid")),
        ):
            wanted = preconditions.get(field)
            if wanted and wanted != actual:
                why = (
                    f"Precondition failed: {field} in precondition: {wanted}, "
                    f"{field} in object meta: {actual}"
                )
                raise conflict(resource_type.plural, resource_type.group, name, why)
        if dry_run:
            return old
        if resource_type.key == NAMESPACE_KEY:
            self._empty_namespace(name)
        if resource_type.key == CRD_KEY:
            self._unserve_crd(old)
        gone = self._store.remove(resource_type.key, namespace_of(old), name)
        assert gone is not None  # it existed a moment ago, in the same synchronous step
        return gone

    def bind(self, namespace: str, name: str, node_name: str) -> JsonObject:
        """The pods/binding subresource: how a scheduler sets spec.nodeName (once)."""
        pods = self._registry.by_url("", "v1", "pods")
        assert pods is not None
        pod = self.get(pods, namespace, name)
        bound_to = (pod.get("spec") or {}).get("nodeName")
        if bound_to:
            why = f'pod {name} is already assigned to node "{bound_to}"'
            raise conflict("pods/binding", "", name, why)
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node_name
        status = bound.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": utc_timestamp(),
            }
        )
        status["conditions"] = conditions
        return self._store.put(pods.key, bound)

    # --- cascades ------------------------------------------------------------------------

    def _empty_namespace(self, namespace: str) -> None:
        keys = {t.key for t in self._registry if t.namespaced}
        for key in sorted(keys):
            for obj in self._store.objects(key, namespace):
                self._store.remove(key, namespace, name_of(obj))

    def _serve_crd(self, crd: JsonObject) -> None:
        key = custom_resources.crd_resource_key(crd)
        self._registry.remove_key(key)
        for resource_type in custom_resources.crd_resource_types(crd):
            self._registry.add(resource_type)
        log.debug("kube.crd.served", crd=name_of(crd))

    def _unserve_crd(self, crd: JsonObject) -> None:
        key = custom_resources.crd_resource_key(crd)
        for obj in self._store.objects(key):
            self._store.remove(key, namespace_of(obj), name_of(obj))
        self._store.close_watches("resource no longer served", key)
        self._registry.remove_key(key)
        log.debug("kube.crd.unserved", crd=name_of(crd))
