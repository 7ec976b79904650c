"""Table responses: what ``kubectl get`` prints, computed by the server as a real one does.

In: a resource type, the objects of a list (or one object), the list's resourceVersion, and
``includeObject`` (None, Metadata (the default) or Object). Out: a meta.k8s.io/v1 ``Table``
whose columns and cells are the real API server's for pods (Name, Ready, Status, Restarts,
Age; IP, Node, Nominated Node, Readiness Gates at -o wide), nodes, services, namespaces,
events, deployments and daemonsets; a CRD version's additionalPrinterColumns (simple
``.a.b`` JSONPaths) for custom resources; Name and Age for everything else. Ages are rendered
here, in Kubernetes' short form (``45s``, ``5m2s``, ``3h``, ``2d4h``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from contivpy.sim.kube.objects import JsonObject, labels_of, metadata_of, name_of, read_path
from contivpy.sim.kube.resources import ResourceType

Row = Callable[[JsonObject], list[Any]]
Column = tuple[str, str, int]  # name, type, priority (1: shown with -o wide only)

_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)


def human_age(timestamp: Any, now: datetime.datetime | None = None) -> str:
    """How long ago ``timestamp`` (RFC 3339) was, as kubectl shows ages; ``<unknown>`` when
    there is none."""
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    moment = now or datetime.datetime.now(datetime.UTC)
    return human_duration(int((moment - then).total_seconds()))


def human_duration(seconds: int) -> str:
    """Kubernetes' short duration text: seconds under 2 minutes, then m+s, m, h+m, h, d+h, d."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest = days // 365, days % 365
    if days < 365 * 8 and rest:
        return f"{years}y{rest}d"
    return f"{years}y"


def _age(obj: JsonObject) -> str:
    return human_age(metadata_of(obj).get("creationTimestamp"))


def _none(values: Sequence[str]) -> str:
    return ",".join(values) if values else "<none>"


def _pod_row(pod: JsonObject) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    phase = status.get("reason") or status.get("phase") or "Unknown"
    if phase == "Pending":
        # A waiting container's reason (ContainerCreating, ...) is what kubectl users read.
        waiting = [((s.get("state") or {}).get("waiting") or {}).get("reason") for s in statuses]
        phase = next((w for w in waiting if w), phase)
    if metadata_of(pod).get("deletionTimestamp"):
        phase = "Terminating"
    gates = spec.get("readinessGates") or []
    return [
        name_of(pod),
        f"{ready}/{len(spec.get('containers') or [])}",
        phase,
        str(restarts),
        _age(pod),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"0/{len(gates)}" if gates else "<none>",
    ]


def _node_row(node: JsonObject) -> list[Any]:
    spec, status = node.get("spec") or {}, node.get("status") or {}
    ready = next(
        (c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"),
        None,
    )
    state = ["Ready" if ready == "True" else "NotReady" if ready == "False" else "Unknown"]
    if spec.get("unschedulable"):
        state.append("SchedulingDisabled")
    roles = sorted(
        key.removeprefix("node-role.kubernetes.io/")
        for key in labels_of(node)
        if key.startswith("node-role.kubernetes.io/")
    )
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        name_of(node),
        ",".join(state),
        _none(roles),
        _age(node),
        info.get("kubeletVersion") or "",
        addresses.get("InternalIP") or "<none>",
        addresses.get("ExternalIP") or "<none>",
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _service_row(service: JsonObject) -> list[Any]:
    spec = service.get("spec") or {}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = list(spec.get("externalIPs") or []) + [i.get("ip") or "" for i in ingress]
    ports = [
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
        if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    ]
    selector = [f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())]
    return [
        name_of(service),
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        _none(external) if spec.get("type") != "LoadBalancer" or external else "<pending>",
        _none(ports),
        _age(service),
        _none(selector),
    ]


def _event_row(event: JsonObject) -> list[Any]:
    regarding = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
    source = event.get("source") or {}
    return [
        human_age(last),
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(regarding.get('kind', '')).lower()}/{regarding.get('name', '')}",
        regarding.get("fieldPath", ""),
        ", ".join(v for v in (source.get("component"), source.get("host")) if v)
        or event.get("reportingComponent", ""),
        event.get("message", ""),
        human_age(event.get("firstTimestamp") or last),
        int(event.get("count") or 1),
        name_of(event),
    ]


def _first_three(values: Sequence[str]) -> str:
    """kubectl's endpoint-slice cells: three values, then how many more; ``<unset>``."""
    if not values:
        return "<unset>"
    more = f" + {len(values) - 3} more..." if len(values) > 3 else ""
    return ",".join(values[:3]) + more


def _endpoint_slice_row(obj: JsonObject) -> list[Any]:
    ports = [str(p["port"]) if p.get("port") else "<unset>" for p in obj.get("ports") or []]
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        name_of(obj),
        obj.get("addressType", ""),
        _first_three(ports),
        _first_three(addresses),
        _age(obj),
    ]


def _workload_row(obj: JsonObject, daemonset: bool) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    tail = [
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
        _none([f"{k}={v}" for k, v in sorted(selector.items())]),
    ]
    if daemonset:
        node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
        counts = [
            int(status.get(field) or 0)
            for field in (
                "desiredNumberScheduled",
                "currentNumberScheduled",
                "numberReady",
                "updatedNumberScheduled",
                "numberAvailable",
            )
        ]
        rendered = _none([f"{k}={v}" for k, v in sorted((node_selector or {}).items())])
        return [name_of(obj), *counts, rendered, _age(obj), *tail]
    ready = f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}"
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    return [name_of(obj), ready, updated, available, _age(obj), *tail]


_KINDS: dict[tuple[str, str], tuple[list[Column], Row]] = {
    ("", "pods"): (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            _AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        _pod_row,
    ),
    ("", "nodes"): (
        [
            _NAME,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            _AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node_row,
    ),
    ("", "services"): (
        [
            _NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            _AGE,
            ("Selector", "string", 1),
        ],
        _service_row,
    ),
    ("discovery.k8s.io", "endpointslices"): (
        [
            _NAME,
            ("AddressType", "string", 0),
            ("Ports", "string", 0),
            ("Endpoints", "string", 0),
            _AGE,
        ],
        _endpoint_slice_row,
    ),
    ("", "namespaces"): (
        [_NAME, ("Status", "string", 0), _AGE],
        lambda ns: [name_of(ns), (ns.get("status") or {}).get("phase", ""), _age(ns)],
    ),
    ("", "events"): (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "integer", 1),
            ("Name", "string", 1),
        ],
        _event_row,
    ),
    ("apps", "deployments"): (
        [
            _NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            _AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        lambda obj: _workload_row(obj, daemonset=False),
    ),
    ("apps", "daemonsets"): (
        [
            _NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            _AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        lambda obj: _workload_row(obj, daemonset=True),
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        [_NAME, ("Created At", "date", 0)],
        lambda crd: [name_of(crd), metadata_of(crd).get("creationTimestamp", "")],
    ),
}


def _printer_columns(resource_type: ResourceType) -> tuple[list[Column], Row]:
    """A CRD version's additionalPrinterColumns, each a ``.a.b`` path into the object."""
    columns: list[Column] = [_NAME]
    paths: list[tuple[str, str]] = []
    for column in resource_type.printer_columns:
        kind = str(column.get("type", "string"))
        columns.append((str(column.get("name", "")), kind, int(column.get("priority", 0))))
        paths.append((str(column.get("jsonPath", "")).lstrip("."), kind))

    def row(obj: JsonObject) -> list[Any]:
        cells: list[Any] = [name_of(obj)]
        for path, kind in paths:
            value = read_path(obj, path)
            cells.append(human_age(value) if kind == "date" else value)
        return cells

    return columns, row


def _layout(resource_type: ResourceType) -> tuple[list[Column], Row]:
    known = _KINDS.get(resource_type.key)
    if known is not None:
        return known
    if resource_type.printer_columns:
        return _printer_columns(resource_type)
    return [_NAME, _AGE], lambda obj: [name_of(obj), _age(obj)]


def _row_object(resource_type: ResourceType, obj: JsonObject, include: str) -> JsonObject | None:
    if include == "None":
        return None
    if include == "Object":
        return {"apiVersion": resource_type.api_version, "kind": resource_type.kind, **obj}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata_of(obj),
    }


def table(
    resource_type: ResourceType,
    objects: Sequence[JsonObject],
    list_metadata: JsonObject,
    include_object: str = "Metadata",
) -> JsonObject:
    """The Table of ``objects`` (stored shape) for a list or a get of one object."""
    columns, row = _layout(resource_type)
    rows = []
    for obj in objects:
        entry: JsonObject = {"cells": row(obj)}
        shown = _row_object(resource_type, resource_type.present(obj), include_object)
        if shown is not None:
            entry["object"] = shown
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if (name, kind, priority) == _NAME else "",
                "description": name,
                "priority": priority,
            }
            for name, kind, priority in columns
        ],
        "rows": rows,
    }
