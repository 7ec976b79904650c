"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>.

In: the resource registry (built-ins plus established CRDs) and the server's address. Out: the
JSON documents a client reads to learn what is served (APIVersions, APIGroupList, APIGroup,
APIResourceList), in the real API server's shapes. Only the plain JSON forms are served; a
client asking for aggregated discovery falls back to these, as it does with older servers.
"""

from __future__ import annotations

from contivpy.sim.kube.objects import JsonObject
from contivpy.sim.kube.resources import ALL_VERBS, ResourceRegistry, ResourceType

KUBERNETES_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0"}


def version_info() -> JsonObject:
    return {
        **KUBERNETES_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T07:28:49Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> JsonObject:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> JsonObject:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: ResourceRegistry) -> JsonObject:
    groups = [_group(name, versions) for name, versions in registry.group_versions().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: ResourceRegistry, name: str) -> JsonObject | None:
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entries(resource_type: ResourceType) -> list[JsonObject]:
    main: JsonObject = {
        "name": resource_type.plural,
        "singularName": resource_type.singular,
        "namespaced": resource_type.namespaced,
        "kind": resource_type.kind,
        "verbs": list(ALL_VERBS),
    }
    if resource_type.short_names:
        main["shortNames"] = list(resource_type.short_names)
    subresources: list[JsonObject] = []
    for sub in resource_type.subresources:
        verbs = ["create"] if sub == "binding" else ["get", "patch", "update"]
        kind = "Binding" if sub == "binding" else resource_type.kind
        subresources.append(
            {
                "name": f"{resource_type.plural}/{sub}",
                "singularName": "",
                "namespaced": resource_type.namespaced,
                "kind": kind,
                "verbs": verbs,
            }
        )
    return [main, *subresources]


def resource_list(registry: ResourceRegistry, group_name: str, version: str) -> JsonObject | None:
    served = registry.in_group_version(group_name, version)
    if not served:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group_name}/{version}" if group_name else version,
        "resources": [entry for t in served for entry in _entries(t)],
    }
