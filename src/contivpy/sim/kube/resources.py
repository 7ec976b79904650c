"""Which resources the stand-in serves: the built-in kinds and those CRDs add at run time.

In: built-in definitions, plus ResourceType values made from created CRDs. Out: look-ups by
URL (group, version, plural) and by manifest (apiVersion, kind), and the list of group
versions that discovery shows. Objects are stored per (group, plural), whatever the version
they were written with, like the real API server's storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias

from contivpy.sim.kube.event_versions import EVENTS_V1_FIELD_ALIASES, to_core_v1, to_events_v1
from contivpy.sim.kube.objects import JsonObject

ResourceKey: TypeAlias = tuple[str, str]  # (group, plural): where objects of a resource live

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# Field selector labels every resource accepts; kinds add their own below.
COMMON_FIELD_LABELS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource in one version: what URLs, manifests and discovery call it."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    status_subresource: bool = False  # main writes keep status, .../status writes only status
    field_labels: frozenset[str] = COMMON_FIELD_LABELS
    schema: JsonObject | None = field(default=None, compare=False)  # CR openAPIV3Schema
    custom: bool = False  # defined by a CRD: list items keep apiVersion and kind
    # Another group's storage this resource is a view of (events.k8s.io Events are core
    # Events), with the conversions between the stored shape and this version's shape.
    stored_as: ResourceKey | None = None
    from_storage: Callable[[JsonObject], JsonObject] | None = field(default=None, compare=False)
    to_storage: Callable[[JsonObject], JsonObject] | None = field(default=None, compare=False)
    field_aliases: Mapping[str, str] = field(default_factory=dict, compare=False)
    # additionalPrinterColumns of a CRD version (Table responses); empty: Name and Age.
    printer_columns: tuple[JsonObject, ...] = field(default=(), compare=False)

    @property
    def key(self) -> ResourceKey:
        return self.stored_as or (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def present(self, obj: JsonObject) -> JsonObject:
        """``obj`` as this version shows it: objects are stored once for all versions of a
        resource, so a CR read through another served version gets that apiVersion."""
        if self.from_storage is not None:
            return self.from_storage(obj)
        if obj.get("apiVersion") == self.api_version:
            return obj
        return {**obj, "apiVersion": self.api_version, "kind": self.kind}

    @property
    def subresources(self) -> tuple[str, ...]:
        subs = ("status",) if self.status_subresource else ()
        return (*subs, "binding") if self.key == ("", "pods") else subs


def _core(
    plural: str,
    kind: str,
    *,
    namespaced: bool,
    short_names: tuple[str, ...] = (),
    status_subresource: bool = False,
    field_labels: frozenset[str] = COMMON_FIELD_LABELS,
) -> ResourceType:
    """A kind of the core group (v1)."""
    return _generic(
        "",
        plural,
        kind,
        namespaced=namespaced,
        short_names=short_names,
        status=status_subresource,
        field_labels=field_labels,
    )


def _generic(
    group: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    status: bool = False,
    field_labels: frozenset[str] = COMMON_FIELD_LABELS,
) -> ResourceType:
    """A built-in kind of ``group``'s v1 (of the others, one the stand-in only stores: no
    controller acts on it)."""
    return ResourceType(
        group,
        "v1",
        plural,
        kind,
        namespaced,
        singular=kind.lower(),
        short_names=short_names,
        status_subresource=status,
        field_labels=field_labels,
    )


POD_FIELD_LABELS = COMMON_FIELD_LABELS | {
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
}

EVENT_FIELD_LABELS = COMMON_FIELD_LABELS | {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "reason",
    "type",
    "source",
}

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core(
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        status_subresource=True,
        field_labels=COMMON_FIELD_LABELS | {"status.phase"},
    ),
    _core(
        "nodes",
        "Node",
        namespaced=False,
        short_names=("no",),
        status_subresource=True,
        field_labels=COMMON_FIELD_LABELS | {"spec.unschedulable"},
    ),
    _core(
        "pods",
        "Pod",
        namespaced=True,
        short_names=("po",),
        status_subresource=True,
        field_labels=POD_FIELD_LABELS,
    ),
    _core("services", "Service", namespaced=True, short_names=("svc",), status_subresource=True),
    _core("endpoints", "Endpoints", namespaced=True, short_names=("ep",)),
    _core("configmaps", "ConfigMap", namespaced=True, short_names=("cm",)),
    _core("events", "Event", namespaced=True, short_names=("ev",), field_labels=EVENT_FIELD_LABELS),
    ResourceType(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        True,
        singular="networkpolicy",
        short_names=("netpol",),
    ),
    ResourceType(
        "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, singular="endpointslice"
    ),
    _core("serviceaccounts", "ServiceAccount", namespaced=True, short_names=("sa",)),
    _core("secrets", "Secret", namespaced=True, field_labels=COMMON_FIELD_LABELS | {"type"}),
    ResourceType(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        True,
        singular="event",
        short_names=("ev",),
        field_labels=EVENT_FIELD_LABELS | frozenset(EVENTS_V1_FIELD_ALIASES),
        stored_as=("", "events"),
        from_storage=to_events_v1,
        to_storage=to_core_v1,
        field_aliases=MappingProxyType(EVENTS_V1_FIELD_ALIASES),
    ),
    _generic("apps", "deployments", "Deployment", short_names=("deploy",), status=True),
    _generic("apps", "daemonsets", "DaemonSet", short_names=("ds",), status=True),
    _generic("apps", "statefulsets", "StatefulSet", short_names=("sts",), status=True),
    _generic("rbac.authorization.k8s.io", "roles", "Role"),
    _generic("rbac.authorization.k8s.io", "rolebindings", "RoleBinding"),
    _generic("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", namespaced=False),
    _generic(
        "rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", namespaced=False
    ),
    _generic("coordination.k8s.io", "leases", "Lease"),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        singular="customresourcedefinition",
        short_names=("crd", "crds"),
        status_subresource=True,
    ),
)


class ResourceRegistry:
    """The served resources; CRD creation adds to it and CRD deletion removes from it."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        for resource_type in BUILTIN_TYPES:
            self.add(resource_type)

    def add(self, resource_type: ResourceType) -> None:
        self._types[(resource_type.group, resource_type.version, resource_type.plural)] = (
            resource_type
        )

    def remove_key(self, key: ResourceKey) -> list[ResourceType]:
        """Stop serving every version of (group, plural); returns what was removed."""
        gone = [t for t in self._types.values() if t.key == key]
        for resource_type in gone:
            del self._types[(resource_type.group, resource_type.version, resource_type.plural)]
        return gone

    def by_url(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for resource_type in self._types.values():
            if resource_type.group_version == (group, version) and resource_type.kind == kind:
                return resource_type
        return None

    def by_key(self, key: ResourceKey) -> list[ResourceType]:
        return [t for t in self._types.values() if t.key == key]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (t for t in self._types.values() if t.group_version == (group, version)),
            key=lambda t: t.plural,
        )

    def group_versions(self) -> dict[str, list[str]]:
        """Every named group (not the core group) with its served versions, sorted."""
        groups: dict[str, list[str]] = {}
        for resource_type in self._types.values():
            if resource_type.group:
                versions = groups.setdefault(resource_type.group, [])
                if resource_type.version not in versions:
                    versions.append(resource_type.version)
        return {group: sorted(versions) for group, versions in sorted(groups.items())}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._types.values()))
