"""What a CustomResourceDefinition means to the server: served resource types and CRD status.

In: a (validated) CRD object. Out: one ResourceType per served version, and the status the
apiextensions controller would write (NamesAccepted and Established conditions,
acceptedNames, storedVersions). The real server establishes a CRD a moment after creation;
the stand-in does it in the same write, so a client may use the kind as soon as create returns.
"""

from __future__ import annotations

from contivpy.sim.kube.objects import JsonObject, utc_timestamp
from contivpy.sim.kube.resources import ResourceKey, ResourceType


def crd_resource_key(crd: JsonObject) -> ResourceKey:
    spec = crd.get("spec") or {}
    return (spec["group"], spec["names"]["plural"])


def crd_resource_types(crd: JsonObject) -> list[ResourceType]:
    """A ResourceType for every served version of the CRD."""
    spec = crd.get("spec") or {}
    names = spec["names"]
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served"):
            continue
        subresources = version.get("subresources") or {}
        types.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec["scope"] == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                short_names=tuple(names.get("shortNames") or ()),
                status_subresource="status" in subresources,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                custom=True,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
            )
        )
    return types


def established_status(crd: JsonObject) -> JsonObject:
    """The status of an accepted, established CRD."""
    spec = crd.get("spec") or {}
    now = utc_timestamp()
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind')}List")
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True",
            "reason": "NoConflicts",
            "message": "no conflicts found",
            "lastTransitionTime": now,
        },
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
            "lastTransitionTime": now,
        },
    ]
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    return {"conditions": conditions, "acceptedNames": names, "storedVersions": stored}
