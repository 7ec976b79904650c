"""The contivpp.io/v1 CustomResourceDefinitions: CustomNetwork, ExternalInterface,
ServiceFunctionChain and CustomConfiguration, with openAPIV3Schema.

In: nothing. Out: the CRD manifests as JSON dicts (``contivpp_crds``) or as one multi-document
YAML text (``contivpp_crds_yaml``), for the stand-in, for tests and for deploy/ to render.
Fields follow Contiv-VPP's Go types (plugins/crd/pkg/apis/contivppio/v1); its CRDs were
namespaced and so are these. Unlike Contiv-VPP (which rewrote whole objects), status is a
subresource: the CRD controller writes ``.../status`` and never races spec edits.
"""

from __future__ import annotations

import json

import yaml

from contivpy.sim.kube.objects import JsonObject

GROUP = "contivpp.io"
VERSION = "v1"

_STRING: JsonObject = {"type": "string"}

# meta/v1 Status, as Contiv-VPP's CRDs carried it: status is "Success" or "Failure".
_STATUS: JsonObject = {
    "type": "object",
    "properties": {"status": _STRING, "message": _STRING, "reason": _STRING},
    "x-kubernetes-preserve-unknown-fields": True,
}

# What a schema can say of a CIDR: its syntax (an IPv4 or IPv6 address, "/", a length), or
# empty (no subnet). Values (10.300.0.0/16, a /40 in IPv4, host bits set, overlaps) are
# checked by the reflector (the object's status) and the node agents.
_IPV4 = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"
_IPV6 = r"[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}"
CIDR_PATTERN = rf"^$|^({_IPV4}|{_IPV6})/[0-9]{{1,3}}$"

_CUSTOM_NETWORK_SPEC: JsonObject = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["L2", "L3", "stub"]},
        "subnetCIDR": {"type": "string", "pattern": CIDR_PATTERN},
        "subnetOneNodePrefixLen": {"type": "integer", "minimum": 1, "maximum": 128},
    },
}

_EXTERNAL_INTERFACE_SPEC: JsonObject = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["L2", "L3"]},
        "network": _STRING,
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["node", "vppInterfaceName"],
                "properties": {
                    "node": _STRING,
                    "vppInterfaceName": _STRING,
                    "ip": _STRING,
                    "vlan": {"type": "integer", "minimum": 0, "maximum": 4095},
                },
            },
        },
    },
}

_SERVICE_FUNCTION_CHAIN_SPEC: JsonObject = {
    "type": "object",
    "required": ["chain"],
    "properties": {
        "unidirectional": {"type": "boolean"},
        "network": _STRING,
        "chain": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "name": _STRING,
                    "type": {"type": "string", "enum": ["Pod", "ExternalInterface"]},
                    "podSelector": {"type": "object", "additionalProperties": _STRING},
                    "interface": _STRING,
                    "inputInterface": _STRING,
                    "outputInterface": _STRING,
                },
            },
        },
    },
}

_CUSTOM_CONFIGURATION_SPEC: JsonObject = {
    "type": "object",
    "properties": {
        "microservice": _STRING,
        "configItems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["module", "type", "data"],
                "properties": {
                    "microservice": _STRING,
                    "module": _STRING,
                    "type": _STRING,
                    "version": _STRING,
                    "name": _STRING,
                    "data": {"type": "string", "description": "the item as YAML text"},
                },
            },
        },
    },
}


def _crd(kind: str, plural: str, short_names: list[str], spec: JsonObject) -> JsonObject:
    schema = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": _STRING,
            "kind": _STRING,
            "metadata": {"type": "object"},
            "spec": spec,
            "status": _STATUS,
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def contivpp_crds() -> list[JsonObject]:
    """The four contivpp.io CRDs as manifests (new dicts on every call)."""
    crds = [
        _crd("CustomNetwork", "customnetworks", ["cnet"], _CUSTOM_NETWORK_SPEC),
        _crd("ExternalInterface", "externalinterfaces", ["extif"], _EXTERNAL_INTERFACE_SPEC),
        _crd(
            "ServiceFunctionChain", "servicefunctionchains", ["sfc"], _SERVICE_FUNCTION_CHAIN_SPEC
        ),
        _crd("CustomConfiguration", "customconfigurations", ["ccfg"], _CUSTOM_CONFIGURATION_SPEC),
    ]
    # A JSON round trip unshares the schema fragments used in several places, so callers may
    # edit one CRD freely and YAML output has no anchors.
    copies: list[JsonObject] = json.loads(json.dumps(crds))
    return copies


def contivpp_crds_yaml() -> str:
    """The CRDs as one multi-document YAML text, ready for ``kubectl apply -f``."""
    text: str = yaml.safe_dump_all(contivpp_crds(), sort_keys=False, explicit_start=True)
    return text
