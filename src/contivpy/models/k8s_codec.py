"""Reflected Kubernetes objects in etcd: their keys, and their values as JSON of proto models.

In: models (the generated ``contivpy.k8s.v1`` messages, re-exported here: this is the only
module that imports them), or keys and stored bytes read from etcd. Out: the key of a model,
the parts of a key, the bytes to store, and ``decode`` — the ``Decoder`` the node agent's
``DbWatcher`` uses — which turns a key and its bytes back into a model.

Keys are relative to the reflector's prefix (``DEFAULT_PREFIX``, Contiv-VPP's layout)::

    k8s/pod/<name>/namespace/<ns>           k8s/namespace/<name>
    k8s/service/<name>/namespace/<ns>       k8s/node/<name>
    k8s/endpoints/<name>/namespace/<ns>     k8s/policy/<name>/namespace/<ns>
    k8s/endpointslice/<name>/namespace/<ns> (discovery.k8s.io/v1; Contiv had none)
    k8s/customnetwork/<name>[/namespace/<ns>]
    k8s/external-interface/<name>[/namespace/<ns>]
    k8s/servicefunctionchain/<name>[/namespace/<ns>]
    k8s/customconfiguration/<name>[/namespace/<ns>]
    allocatedIDs/<id>                       (VppNode, written by the agents' nodesync)

Values are JSON with the proto field names, keys sorted, no spaces: the same model always
gives the same bytes, so "unchanged" is a byte comparison. A stored value that is not valid
JSON, has a field of the wrong type, or names another object than its key is a
``ModelDecodeError`` (a ``DecodeError``) naming the resource, the object, the field and the
key. Keys this module does not know (other resources under the same prefix) decode to None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeAlias

import betterproto2

from contivpy._gen.contivpy.k8s.v1 import (
    ConfigItem,
    Container,
    ContainerPort,
    CustomConfiguration,
    CustomNetwork,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    ExternalInterface,
    IntOrString,
    IpBlock,
    LabelExpression,
    LabelOperator,
    LabelSelector,
    Namespace,
    NetworkType,
    Node,
    NodeAddress,
    NodeInterface,
    NodeSystemInfo,
    ObjectReference,
    Pod,
    Policy,
    PolicyEgressRule,
    PolicyIngressRule,
    PolicyPeer,
    PolicyPort,
    PolicyType,
    Protocol,
    Service,
    ServiceFunction,
    ServiceFunctionChain,
    ServiceFunctionType,
    ServicePort,
    SliceEndpoint,
    VppNode,
)
from contivpy.models.decoded import Decoded, DecodeError
from contivpy.models.proto_json import FieldTypeError, check_message

__all__ = [
    "ALLOCATED_IDS_PREFIX",
    "DEFAULT_PREFIX",
    "K8S_PREFIX",
    "RESOURCES",
    "ConfigItem",
    "Container",
    "ContainerPort",
    "CustomConfiguration",
    "CustomNetwork",
    "EndpointAddress",
    "EndpointPort",
    "EndpointSlice",
    "EndpointSubset",
    "Endpoints",
    "ExternalInterface",
    "IntOrString",
    "IpBlock",
    "K8sModel",
    "LabelExpression",
    "LabelOperator",
    "LabelSelector",
    "ModelDecodeError",
    "Namespace",
    "NetworkType",
    "Node",
    "NodeAddress",
    "NodeInterface",
    "NodeSystemInfo",
    "ObjectId",
    "ObjectReference",
    "Pod",
    "Policy",
    "PolicyEgressRule",
    "PolicyIngressRule",
    "PolicyPeer",
    "PolicyPort",
    "PolicyType",
    "Protocol",
    "Resource",
    "Service",
    "ServiceFunction",
    "ServiceFunctionChain",
    "ServiceFunctionType",
    "ServicePort",
    "SliceEndpoint",
    "VppNode",
    "decode",
    "encode",
    "id_of",
    "key_for",
    "key_of",
    "parse_key",
    "resource",
    "resource_of",
]

DEFAULT_PREFIX = "/vnf-agent/contiv-ksr/"
K8S_PREFIX = "k8s/"
ALLOCATED_IDS_PREFIX = "allocatedIDs/"
_NAMESPACE_INFIX = "/namespace/"

K8sModel: TypeAlias = (
    Pod
    | Namespace
    | Node
    | Service
    | Endpoints
    | EndpointSlice
    | Policy
    | CustomNetwork
    | ExternalInterface
    | ServiceFunctionChain
    | CustomConfiguration
    | VppNode
)


@dataclass(frozen=True, slots=True)
class Resource:
    """One stored resource: its keyword (the ``resource`` of events), where its keys start,
    its model class, and whether its keys carry a namespace (None: optional, as for custom
    resources, whose CRDs may be cluster-scoped or namespaced)."""

    name: str
    key_prefix: str
    model: type[betterproto2.Message]
    namespaced: bool | None


# In the agent's registry order (Contiv-VPP's dbresources), so DBResync lists them so.
RESOURCES: tuple[Resource, ...] = (
    Resource("vppnode", ALLOCATED_IDS_PREFIX, VppNode, False),
    Resource("node", "k8s/node/", Node, False),
    Resource("pod", "k8s/pod/", Pod, True),
    Resource("namespace", "k8s/namespace/", Namespace, False),
    Resource("policy", "k8s/policy/", Policy, True),
    Resource("service", "k8s/service/", Service, True),
    Resource("endpoints", "k8s/endpoints/", Endpoints, True),
    Resource("endpointslice", "k8s/endpointslice/", EndpointSlice, True),
    Resource("customnetwork", "k8s/customnetwork/", CustomNetwork, None),
    Resource("external-interface", "k8s/external-interface/", ExternalInterface, None),
    Resource("servicefunctionchain", "k8s/servicefunctionchain/", ServiceFunctionChain, None),
    Resource("customconfiguration", "k8s/customconfiguration/", CustomConfiguration, None),
)
_BY_NAME = {r.name: r for r in RESOURCES}
_BY_MODEL: dict[type[betterproto2.Message], Resource] = {r.model: r for r in RESOURCES}


@dataclass(frozen=True, slots=True)
class ObjectId:
    """Which object a key names. ``name`` of a VppNode is its ID in decimal."""

    resource: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class ModelDecodeError(DecodeError):
    """A stored value that is not a valid model of its key's resource."""

    def __init__(self, object_id: ObjectId, key: str, problem: str, field: str = "") -> None:
        super().__init__(f"{object_id.resource} {object_id}: {problem} (key {key})")
        self.object_id = object_id
        self.key = key
        self.field = field


def resource(name: str) -> Resource:
    """The resource with this keyword (``KeyError`` for an unknown one)."""
    return _BY_NAME[name]


def key_for(resource_name: str, name: str, namespace: str = "") -> str:
    """The key of one object; ``ValueError`` when the parts cannot form a key of it."""
    found = resource(resource_name)
    _check_segment("name", name)
    if found.model is VppNode and not name.isdigit():
        raise ValueError(f"vppnode name must be the node ID in decimal, got {name!r}")
    if namespace:
        _check_segment("namespace", namespace)
        if found.namespaced is False:
            raise ValueError(f"{resource_name} is not namespaced (namespace {namespace!r})")
        return f"{found.key_prefix}{name}{_NAMESPACE_INFIX}{namespace}"
    if found.namespaced:
        raise ValueError(f"{resource_name} {name!r} needs a namespace")
    return found.key_prefix + name


def _check_segment(what: str, text: str) -> None:
    if not text or "/" in text:
        raise ValueError(f"{what} {text!r} cannot be part of a key (empty, or contains '/')")


def parse_key(key: str) -> ObjectId | None:
    """The object a key names, or None for a key of no known resource (or a malformed one)."""
    for found in RESOURCES:
        if not key.startswith(found.key_prefix):
            continue
        rest = key[len(found.key_prefix) :]
        name, infix, namespace = rest.partition(_NAMESPACE_INFIX)
        if not name or "/" in name or "/" in namespace or (infix and not namespace):
            return None
        if (found.namespaced is True and not infix) or (found.namespaced is False and infix):
            return None
        if found.model is VppNode and not name.isdigit():
            return None
        return ObjectId(found.name, name, namespace)
    return None


def resource_of(key: str) -> str | None:
    """The resource keyword of a key (``pod``, ``vppnode``, ...), None when unknown."""
    parsed = parse_key(key)
    return parsed.resource if parsed is not None else None


def id_of(model: K8sModel) -> ObjectId:
    """Which object a model is."""
    found = _resource_of_model(model)
    if isinstance(model, VppNode):
        return ObjectId(found.name, str(model.id))
    namespace = "" if isinstance(model, Namespace | Node) else model.namespace
    return ObjectId(found.name, model.name, namespace)


def key_of(model: K8sModel) -> str:
    """The key a model is stored under."""
    object_id = id_of(model)
    return key_for(object_id.resource, object_id.name, object_id.namespace)


def _resource_of_model(model: betterproto2.Message) -> Resource:
    found = _BY_MODEL.get(type(model))
    if found is None:
        raise TypeError(f"{type(model).__name__} is not a stored Kubernetes model")
    return found


def encode(model: K8sModel) -> bytes:
    """The stored form: JSON with proto field names, sorted keys, no whitespace."""
    _resource_of_model(model)
    data = model.to_dict(casing=betterproto2.Casing.SNAKE)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode(key: str, data: bytes) -> Decoded | None:
    """The model stored under ``key`` (None for keys of unknown resources); raises
    ``ModelDecodeError`` for a value that is not a valid model of it."""
    object_id = parse_key(key)
    if object_id is None:
        return None
    found = _BY_NAME[object_id.resource]
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelDecodeError(object_id, key, f"not valid JSON ({error})") from error
    try:
        check_message(found.model, parsed)
    except FieldTypeError as error:
        raise ModelDecodeError(object_id, key, str(error), error.path) from error
    try:
        model = found.model.from_dict(parsed, ignore_unknown_fields=True)
    except (ValueError, TypeError, KeyError) as error:  # what the check cannot foresee
        raise ModelDecodeError(object_id, key, f"cannot build the model ({error})") from error
    assert isinstance(model, K8sModel)
    stored_id = id_of(model)
    if stored_id != object_id:
        field = "id" if isinstance(model, VppNode) else "name/namespace"
        raise ModelDecodeError(
            object_id, key, f"field '{field}': names {stored_id}, not the key's object", field
        )
    return Decoded(object_id.resource, key, model)
