"""Validation of built-in objects and object metadata, the subset the stand-in's users hit.

In: a resource type and an object (and, for updates, the stored object). Out: a list of causes
(field, reason, message); the write path turns a non-empty list into 422 Invalid.

Checked: names (DNS-1123 subdomain, label, or DNS-1035 label by kind; CRDs must be named
``<plural>.<group>``), labels, pods (containers with name and image, ports), services (type,
ports), network policies (policyTypes, port protocols, label selectors' operators, values and
keys), CRDs (group, names, scope, one storage version, a schema per served version), and pod
spec immutability on update. Custom resources
are checked against their schema in ``schema.py``.
"""

from __future__ import annotations

import re
from typing import Any

from contivpy.sim.kube.errors import forbidden, invalid_value, required, unsupported_value
from contivpy.sim.kube.objects import JsonObject, metadata_of, name_of
from contivpy.sim.kube.resources import ResourceType

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
#: an IANA service name, what a named port must be
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PORT_NAME_RULE = (
    "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15, "
    "and at least one letter"
)
_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


_LABEL_RULE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
_DNS1035_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "and start with a letter"
)
_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
)
_LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'"
)
_POD_SPEC_RULE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds`"
)


def _name_problem(resource_type: ResourceType, name: str) -> str | None:
    """Why ``name`` is not a valid name for this kind, or None."""
    if resource_type.kind == "Namespace":
        ok = len(name) <= 63 and _DNS1123_LABEL.match(name)
        return None if ok else _LABEL_RULE
    if resource_type.kind == "Service":
        ok = len(name) <= 63 and _DNS1035_LABEL.match(name)
        return None if ok else _DNS1035_RULE
    ok = len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name)
    return None if ok else _SUBDOMAIN_RULE


def _label_key_ok(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def validate_metadata(resource_type: ResourceType, obj: JsonObject) -> list[JsonObject]:
    causes: list[JsonObject] = []
    metadata = metadata_of(obj)
    name = name_of(obj)
    if not name:
        causes.append(required("metadata.name"))
    elif (problem := _name_problem(resource_type, name)) is not None:
        causes.append(invalid_value("metadata.name", name, problem))
    for field in ("labels", "annotations"):
        entries = metadata.get(field)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            causes.append(invalid_value(f"metadata.{field}", entries, "must be a map"))
            continue
        for key, value in entries.items():
            if not _label_key_ok(key):
                causes.append(invalid_value(f"metadata.{field}", key, "name part must be valid"))
            elif not isinstance(value, str):
                causes.append(invalid_value(f"metadata.{field}.{key}", value, "must be a string"))
            elif field == "labels" and value and (len(value) > 63 or not _LABEL_NAME.match(value)):
                causes.append(invalid_value(f"metadata.labels.{key}", value, _LABEL_VALUE_RULE))
    return causes


def _ports(ports: Any, path: str, number_field: str, *, named: bool = False) -> list[JsonObject]:
    """``named``: the port may be a name (a NetworkPolicy's: an IntOrString)."""
    causes: list[JsonObject] = []
    if not isinstance(ports, list):
        return [invalid_value(path, ports, "must be a list")] if ports is not None else []
    for index, port in enumerate(ports):
        here = f"{path}[{index}]"
        if not isinstance(port, dict):
            causes.append(invalid_value(here, port, "must be an object"))
            continue
        number = port.get(number_field)
        if number is None and number_field == "containerPort":
            causes.append(required(f"{here}.{number_field}"))
        elif named and isinstance(number, str):
            if not _PORT_NAME.match(number) or len(number) > 15:
                causes.append(invalid_value(f"{here}.{number_field}", number, _PORT_NAME_RULE))
        elif number is not None and (not isinstance(number, int) or not 0 < number < 65536):
            causes.append(
                invalid_value(
                    f"{here}.{number_field}", number, "must be between 1 and 65535, inclusive"
                )
            )
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            causes.append(unsupported_value(f"{here}.protocol", protocol, _PROTOCOLS))
    return causes


def _validate_pod(spec: JsonObject) -> list[JsonObject]:
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [required("spec.containers")]
    causes: list[JsonObject] = []
    seen: set[str] = set()
    for index, container in enumerate(containers):
        here = f"spec.containers[{index}]"
        if not isinstance(container, dict):
            causes.append(invalid_value(here, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append(required(f"{here}.name"))
        elif not isinstance(name, str) or not _DNS1123_LABEL.match(name):
            causes.append(invalid_value(f"{here}.name", name, "must be a DNS-1123 label"))
        elif name in seen:
            causes.append(invalid_value(f"{here}.name", name, "Duplicate value"))
        else:
            seen.add(name)
        if not container.get("image"):
            causes.append(required(f"{here}.image"))
        causes += _ports(container.get("ports"), f"{here}.ports", "containerPort")
    return causes


def _validate_service(spec: JsonObject) -> list[JsonObject]:
    service_type = spec.get("type", "ClusterIP")
    if service_type not in _SERVICE_TYPES:
        return [unsupported_value("spec.type", service_type, _SERVICE_TYPES)]
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and not headless and service_type != "ExternalName":
        return [required("spec.ports")]
    causes = _ports(ports, "spec.ports", "port")
    if isinstance(ports, list) and len(ports) > 1:
        for index, port in enumerate(ports):
            if isinstance(port, dict) and not port.get("name"):
                causes.append(required(f"spec.ports[{index}].name"))
    return causes


_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector(selector: Any, path: str) -> list[JsonObject]:
    """A label selector as the API server's ValidateLabelSelector checks it: known operators,
    values for In and NotIn only."""
    if not isinstance(selector, dict):
        return []
    causes: list[JsonObject] = []
    for index, requirement in enumerate(selector.get("matchExpressions") or []):
        here = f"{path}.matchExpressions[{index}]"
        if not isinstance(requirement, dict):
            causes.append(invalid_value(here, requirement, "must be an object"))
            continue
        operator, values = requirement.get("operator"), requirement.get("values") or []
        if operator not in _SELECTOR_OPERATORS:
            causes.append(
                invalid_value(f"{here}.operator", operator, "not a valid selector operator")
            )
        elif operator in ("In", "NotIn") and not values:
            causes.append(required(f"{here}.values"))  # "must be specified" for In, NotIn
        elif operator in ("Exists", "DoesNotExist") and values:
            causes.append(
                forbidden(
                    f"{here}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        if not _label_key_ok(requirement.get("key")):
            causes.append(
                invalid_value(f"{here}.key", requirement.get("key"), "name part must be valid")
            )
    return causes


def _validate_network_policy(spec: JsonObject) -> list[JsonObject]:
    causes: list[JsonObject] = _selector(spec.get("podSelector"), "spec.podSelector")
    for index, policy_type in enumerate(spec.get("policyTypes") or []):
        if policy_type not in ("Ingress", "Egress"):
            causes.append(
                unsupported_value(f"spec.policyTypes[{index}]", policy_type, ("Egress", "Ingress"))
            )
    for direction in ("ingress", "egress"):
        for index, rule in enumerate(spec.get(direction) or []):
            if isinstance(rule, dict):
                here = f"spec.{direction}[{index}]"
                causes += _ports(rule.get("ports"), f"{here}.ports", "port", named=True)
                peers = rule.get("from" if direction == "ingress" else "to") or []
                for n, peer in enumerate(peers if isinstance(peers, list) else []):
                    where = f"{here}.{'from' if direction == 'ingress' else 'to'}[{n}]"
                    for field in ("podSelector", "namespaceSelector"):
                        if isinstance(peer, dict):
                            causes += _selector(peer.get(field), f"{where}.{field}")
    return causes


def _validate_crd(name: str, spec: JsonObject) -> list[JsonObject]:
    causes: list[JsonObject] = []
    group = spec.get("group")
    names: JsonObject = spec["names"] if isinstance(spec.get("names"), dict) else {}
    plural, kind = names.get("plural"), names.get("kind")
    if not isinstance(group, str) or "." not in group:
        causes.append(
            invalid_value("spec.group", group, "should be a domain with at least one dot")
        )
    if not plural:
        causes.append(required("spec.names.plural"))
    if not kind:
        causes.append(required("spec.names.kind"))
    if plural and group and name != f"{plural}.{group}":
        causes.append(
            invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(unsupported_value("spec.scope", spec.get("scope"), ("Cluster", "Namespaced")))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        return [*causes, required("spec.versions")]
    if sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        causes.append(
            invalid_value(
                "spec.versions", "", "must have exactly one version marked as storage version"
            )
        )
    for index, version in enumerate(versions):
        if not isinstance(version, dict) or not version.get("name"):
            causes.append(required(f"spec.versions[{index}].name"))
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if version.get("served") and not isinstance(schema, dict):
            causes.append(required(f"spec.versions[{index}].schema.openAPIV3Schema"))
    return causes


def validate_object(resource_type: ResourceType, obj: JsonObject) -> list[JsonObject]:
    """Metadata plus the kind's own rules."""
    causes = validate_metadata(resource_type, obj)
    spec = obj.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return [*causes, invalid_value("spec", spec, "must be an object")]
    spec = spec or {}
    match resource_type.key:
        case ("", "pods"):
            causes += _validate_pod(spec)
        case ("", "services"):
            causes += _validate_service(spec)
        case ("networking.k8s.io", "networkpolicies"):
            causes += _validate_network_policy(spec)
        case ("apiextensions.k8s.io", "customresourcedefinitions"):
            causes += _validate_crd(name_of(obj), spec)
    return causes


_POD_MUTABLE_SPEC = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _without_mutable(spec: JsonObject) -> JsonObject:
    stripped = {k: v for k, v in spec.items() if k not in _POD_MUTABLE_SPEC}
    for field in ("containers", "initContainers"):
        if isinstance(stripped.get(field), list):
            stripped[field] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in stripped[field]
            ]
    return stripped


def validate_update(
    resource_type: ResourceType, old: JsonObject, new: JsonObject
) -> list[JsonObject]:
    """Rules that depend on the stored object (fields that may not change)."""
    causes = validate_object(resource_type, new)
    if resource_type.key == ("", "pods") and _without_mutable(
        old.get("spec") or {}
    ) != _without_mutable(new.get("spec") or {}):
        causes.append(forbidden("spec", _POD_SPEC_RULE))
    if resource_type.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        for field in ("group", "scope"):
            if old_spec.get(field) != new_spec.get(field):
                causes.append(
                    invalid_value(f"spec.{field}", new_spec.get(field), "field is immutable")
                )
    if resource_type.key == ("", "services"):
        old_ip, new_ip = (
            (old.get("spec") or {}).get("clusterIP"),
            (new.get("spec") or {}).get("clusterIP"),
        )
        if old_ip and new_ip != old_ip:
            causes.append(invalid_value("spec.clusterIP", new_ip, "field is immutable"))
    return causes
