"""Structural schemas of the built-in kinds the stand-in serves, in openAPIV3Schema form.

In: nothing. Out: ``builtin_schema(group, kind)``: the schema of a built-in kind, for the
OpenAPI documents (``openapi.py``) and for the write path's checks (``schema.py``: types and
required fields always, unknown fields under ``fieldValidation=Strict``). Custom resources use
their CRD's schema instead.

These are a subset of the Kubernetes API's own schemas, written by hand: every field of the
objects a cluster install writes is named (metadata, pod templates, containers, volumes, RBAC
rules, leases, ...), so a typo there is an unknown field as on a real server; parts the stand-in
does not model (probe handlers, affinity, security contexts, status) are open
(``x-kubernetes-preserve-unknown-fields``) and accept anything.
"""

from __future__ import annotations

import functools

from contivpy.sim.kube.objects import JsonObject

STRING: JsonObject = {"type": "string"}
INTEGER: JsonObject = {"type": "integer"}
BOOLEAN: JsonObject = {"type": "boolean"}
INT_OR_STRING: JsonObject = {"x-kubernetes-int-or-string": True}
OPEN: JsonObject = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _object(properties: JsonObject, required: tuple[str, ...] = ()) -> JsonObject:
    schema: JsonObject = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _array(items: JsonObject) -> JsonObject:
    return {"type": "array", "items": items}


def _map(values: JsonObject = STRING) -> JsonObject:
    return {"type": "object", "additionalProperties": values}


def _strings() -> JsonObject:
    return _array(STRING)


def _open_fields(*names: str) -> JsonObject:
    return dict.fromkeys(names, OPEN)


OBJECT_META = _object(
    {
        **dict.fromkeys(
            (
                "name",
                "generateName",
                "namespace",
                "selfLink",
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "deletionTimestamp",
            ),
            STRING,
        ),
        "generation": INTEGER,
        "deletionGracePeriodSeconds": INTEGER,
        "labels": _map(),
        "annotations": _map(),
        "ownerReferences": _array(OPEN),
        "finalizers": _strings(),
        "managedFields": _array(OPEN),
    }
)

LABEL_SELECTOR = _object(
    {
        "matchLabels": _map(),
        "matchExpressions": _array(
            _object({"key": STRING, "operator": STRING, "values": _strings()}, ("key", "operator"))
        ),
    }
)

_PROBE = _object(
    {
        **_open_fields("exec", "httpGet", "tcpSocket", "grpc"),
        **dict.fromkeys(
            (
                "initialDelaySeconds",
                "timeoutSeconds",
                "periodSeconds",
                "successThreshold",
                "failureThreshold",
                "terminationGracePeriodSeconds",
            ),
            INTEGER,
        ),
    }
)

_CONTAINER = _object(
    {
        **dict.fromkeys(
            (
                "name",
                "image",
                "workingDir",
                "restartPolicy",
                "terminationMessagePath",
                "terminationMessagePolicy",
                "imagePullPolicy",
            ),
            STRING,
        ),
        "command": _strings(),
        "args": _strings(),
        "ports": _array(
            _object(
                {
                    "name": STRING,
                    "hostPort": INTEGER,
                    "containerPort": INTEGER,
                    "protocol": STRING,
                    "hostIP": STRING,
                },
                ("containerPort",),
            )
        ),
        "envFrom": _array(OPEN),
        "env": _array(_object({"name": STRING, "value": STRING, "valueFrom": OPEN}, ("name",))),
        "resources": _object(
            {
                "limits": _map(INT_OR_STRING),
                "requests": _map(INT_OR_STRING),
                "claims": _array(OPEN),
            }
        ),
        "resizePolicy": _array(OPEN),
        "volumeMounts": _array(
            _object(
                {
                    "name": STRING,
                    "readOnly": BOOLEAN,
                    "recursiveReadOnly": STRING,
                    "mountPath": STRING,
                    "subPath": STRING,
                    "mountPropagation": STRING,
                    "subPathExpr": STRING,
                },
                ("name", "mountPath"),
            )
        ),
        "volumeDevices": _array(OPEN),
        "livenessProbe": _PROBE,
        "readinessProbe": _PROBE,
        "startupProbe": _PROBE,
        **_open_fields("lifecycle", "securityContext"),
        "stdin": BOOLEAN,
        "stdinOnce": BOOLEAN,
        "tty": BOOLEAN,
    },
    ("name",),
)

_VOLUME = _object(
    {
        "name": STRING,
        "hostPath": _object({"path": STRING, "type": STRING}, ("path",)),
        **_open_fields(
            "emptyDir",
            "configMap",
            "secret",
            "projected",
            "persistentVolumeClaim",
            "downwardAPI",
            "csi",
            "ephemeral",
            "nfs",
            "image",
        ),
    },
    ("name",),
)

POD_SPEC = _object(
    {
        "volumes": _array(_VOLUME),
        "initContainers": _array(_CONTAINER),
        "containers": _array(_CONTAINER),
        "ephemeralContainers": _array(OPEN),
        **dict.fromkeys(
            (
                "restartPolicy",
                "dnsPolicy",
                "serviceAccountName",
                "serviceAccount",
                "nodeName",
                "hostname",
                "subdomain",
                "schedulerName",
                "priorityClassName",
                "runtimeClassName",
                "preemptionPolicy",
            ),
            STRING,
        ),
        **dict.fromkeys(
            ("terminationGracePeriodSeconds", "activeDeadlineSeconds", "priority"), INTEGER
        ),
        **dict.fromkeys(
            (
                "automountServiceAccountToken",
                "hostNetwork",
                "hostPID",
                "hostIPC",
                "shareProcessNamespace",
                "enableServiceLinks",
                "setHostnameAsFQDN",
                "hostUsers",
            ),
            BOOLEAN,
        ),
        "nodeSelector": _map(),
        "overhead": _map(INT_OR_STRING),
        **_open_fields("securityContext", "affinity", "dnsConfig", "os", "resources"),
        **{
            name: _array(OPEN)
            for name in (
                "imagePullSecrets",
                "tolerations",
                "hostAliases",
                "readinessGates",
                "topologySpreadConstraints",
                "schedulingGates",
                "resourceClaims",
            )
        },
    },
    ("containers",),
)

POD_TEMPLATE = _object({"metadata": OBJECT_META, "spec": POD_SPEC})

_SERVICE_SPEC = _object(
    {
        "ports": _array(
            _object(
                {
                    "name": STRING,
                    "protocol": STRING,
                    "appProtocol": STRING,
                    "port": INTEGER,
                    "targetPort": INT_OR_STRING,
                    "nodePort": INTEGER,
                },
                ("port",),
            )
        ),
        "selector": _map(),
        **dict.fromkeys(
            (
                "clusterIP",
                "type",
                "sessionAffinity",
                "loadBalancerIP",
                "externalName",
                "externalTrafficPolicy",
                "ipFamilyPolicy",
                "loadBalancerClass",
                "internalTrafficPolicy",
                "trafficDistribution",
            ),
            STRING,
        ),
        **{
            name: _strings()
            for name in ("clusterIPs", "externalIPs", "loadBalancerSourceRanges", "ipFamilies")
        },
        "healthCheckNodePort": INTEGER,
        "publishNotReadyAddresses": BOOLEAN,
        "allocateLoadBalancerNodePorts": BOOLEAN,
        "sessionAffinityConfig": OPEN,
    }
)

_WORKLOAD_COMMON: JsonObject = {
    "selector": LABEL_SELECTOR,
    "template": POD_TEMPLATE,
    "minReadySeconds": INTEGER,
    "revisionHistoryLimit": INTEGER,
}

_POLICY_RULE = _object(
    {
        name: _strings()
        for name in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
    },
    ("verbs",),
)

_ROLE_BINDING: JsonObject = {
    "subjects": _array(
        _object(
            {"kind": STRING, "apiGroup": STRING, "name": STRING, "namespace": STRING},
            ("kind", "name"),
        )
    ),
    "roleRef": _object({"apiGroup": STRING, "kind": STRING, "name": STRING}, ("kind", "name")),
}

# The fields of each kind beside apiVersion, kind and metadata, and the required ones.
_KINDS: dict[tuple[str, str], tuple[JsonObject, tuple[str, ...]]] = {
    ("", "Namespace"): ({"spec": _object({"finalizers": _strings()}), "status": OPEN}, ()),
    ("", "Node"): ({"spec": OPEN, "status": OPEN}, ()),
    ("", "Pod"): ({"spec": POD_SPEC, "status": OPEN}, ()),
    ("", "Service"): ({"spec": _SERVICE_SPEC, "status": OPEN}, ()),
    ("", "Endpoints"): ({"subsets": _array(OPEN)}, ()),
    ("", "ConfigMap"): (
        {"data": _map(), "binaryData": _map(), "immutable": BOOLEAN},
        (),
    ),
    ("", "Secret"): (
        {"data": _map(), "stringData": _map(), "type": STRING, "immutable": BOOLEAN},
        (),
    ),
    ("", "ServiceAccount"): (
        {
            "secrets": _array(OPEN),
            "imagePullSecrets": _array(OPEN),
            "automountServiceAccountToken": BOOLEAN,
        },
        (),
    ),
    ("", "Event"): (
        {
            **_open_fields("involvedObject", "source", "series", "related"),
            **dict.fromkeys(
                (
                    "reason",
                    "message",
                    "firstTimestamp",
                    "lastTimestamp",
                    "type",
                    "eventTime",
                    "action",
                    "reportingComponent",
                    "reportingInstance",
                ),
                STRING,
            ),
            "count": INTEGER,
        },
        ("involvedObject",),
    ),
    ("events.k8s.io", "Event"): (
        {
            **_open_fields("regarding", "deprecatedSource", "series", "related"),
            **dict.fromkeys(
                (
                    "reason",
                    "note",
                    "deprecatedFirstTimestamp",
                    "deprecatedLastTimestamp",
                    "type",
                    "eventTime",
                    "action",
                    "reportingController",
                    "reportingInstance",
                ),
                STRING,
            ),
            "deprecatedCount": INTEGER,
        },
        ("eventTime",),
    ),
    ("networking.k8s.io", "NetworkPolicy"): (
        {
            "spec": _object(
                {
                    "podSelector": LABEL_SELECTOR,
                    "ingress": _array(OPEN),
                    "egress": _array(OPEN),
                    "policyTypes": _strings(),
                }
            )
        },
        (),
    ),
    ("discovery.k8s.io", "EndpointSlice"): (
        {"addressType": STRING, "endpoints": _array(OPEN), "ports": _array(OPEN)},
        ("addressType", "endpoints"),
    ),
    ("apps", "Deployment"): (
        {
            "spec": _object(
                {
                    **_WORKLOAD_COMMON,
                    "replicas": INTEGER,
                    "strategy": OPEN,
                    "paused": BOOLEAN,
                    "progressDeadlineSeconds": INTEGER,
                },
                ("selector", "template"),
            ),
            "status": OPEN,
        },
        (),
    ),
    ("apps", "DaemonSet"): (
        {
            "spec": _object({**_WORKLOAD_COMMON, "updateStrategy": OPEN}, ("selector", "template")),
            "status": OPEN,
        },
        (),
    ),
    ("apps", "StatefulSet"): (
        {
            "spec": _object(
                {
                    **_WORKLOAD_COMMON,
                    "replicas": INTEGER,
                    "serviceName": STRING,
                    "podManagementPolicy": STRING,
                    "volumeClaimTemplates": _array(OPEN),
                    **_open_fields(
                        "updateStrategy", "persistentVolumeClaimRetentionPolicy", "ordinals"
                    ),
                },
                ("selector", "template"),
            ),
            "status": OPEN,
        },
        (),
    ),
    ("rbac.authorization.k8s.io", "Role"): ({"rules": _array(_POLICY_RULE)}, ()),
    ("rbac.authorization.k8s.io", "ClusterRole"): (
        {"rules": _array(_POLICY_RULE), "aggregationRule": OPEN},
        (),
    ),
    ("rbac.authorization.k8s.io", "RoleBinding"): (_ROLE_BINDING, ("roleRef",)),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (_ROLE_BINDING, ("roleRef",)),
    ("coordination.k8s.io", "Lease"): (
        {
            "spec": _object(
                {
                    "holderIdentity": STRING,
                    "leaseDurationSeconds": INTEGER,
                    "acquireTime": STRING,
                    "renewTime": STRING,
                    "leaseTransitions": INTEGER,
                    "strategy": STRING,
                    "preferredHolder": STRING,
                }
            )
        },
        (),
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (
        {"spec": OPEN, "status": OPEN},
        ("spec",),
    ),
}


@functools.cache
def builtin_schema(group: str, kind: str) -> JsonObject | None:
    """The schema of a built-in kind (shared: callers must not change it), or None for a kind
    not described here."""
    described = _KINDS.get((group, kind))
    if described is None:
        return None
    fields, required = described
    properties = {"apiVersion": STRING, "kind": STRING, "metadata": OBJECT_META, **fields}
    return _object(properties, required)
