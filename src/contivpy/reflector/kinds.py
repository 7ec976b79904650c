"""The kinds the reflector reflects: where the API server serves them, which objects to skip.

In: nothing (a table). Out: one ``ReflectedKind`` per resource keyword of
``contivpy.models.k8s_codec`` (the same words the agent's events carry), with the collection
path listed and watched across all namespaces, and a filter for objects that must not be
reflected: Endpoints named ``kube-controller-manager`` and ``kube-scheduler`` are leader-election
records of those components that change every few seconds (Contiv-VPP skipped them too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_LEADER_ELECTION_ENDPOINTS = frozenset({"kube-controller-manager", "kube-scheduler"})


def _reflect_all(obj: Mapping[str, Any]) -> bool:
    return False


def _is_leader_election_record(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get("name") in _LEADER_ELECTION_ENDPOINTS


@dataclass(frozen=True, slots=True)
class ReflectedKind:
    """One reflected resource: its keyword, its collection path, a skip filter."""

    resource: str
    path: str  # the collection across namespaces, e.g. /api/v1/pods
    skip: Callable[[Mapping[str, Any]], bool] = _reflect_all


KINDS: tuple[ReflectedKind, ...] = (
    ReflectedKind("namespace", "/api/v1/namespaces"),
    ReflectedKind("node", "/api/v1/nodes"),
    ReflectedKind("pod", "/api/v1/pods"),
    ReflectedKind("service", "/api/v1/services"),
    ReflectedKind("endpoints", "/api/v1/endpoints", _is_leader_election_record),
    ReflectedKind("endpointslice", "/apis/discovery.k8s.io/v1/endpointslices"),
    ReflectedKind("policy", "/apis/networking.k8s.io/v1/networkpolicies"),
    ReflectedKind("customnetwork", "/apis/contivpp.io/v1/customnetworks"),
    ReflectedKind("external-interface", "/apis/contivpp.io/v1/externalinterfaces"),
    ReflectedKind("servicefunctionchain", "/apis/contivpp.io/v1/servicefunctionchains"),
    ReflectedKind("customconfiguration", "/apis/contivpp.io/v1/customconfigurations"),
)
KIND_NAMES: tuple[str, ...] = tuple(kind.resource for kind in KINDS)
BY_RESOURCE: dict[str, ReflectedKind] = {kind.resource: kind for kind in KINDS}
