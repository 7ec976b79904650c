"""Kubernetes JSON -> models, without a server: what is kept, and how bad objects are named."""

from __future__ import annotations

from typing import Any

import pytest

from contivpy.models.k8s_codec import (
    IntOrString,
    LabelOperator,
    Namespace,
    NetworkType,
    Node,
    Pod,
    Policy,
    PolicyType,
    Protocol,
    Service,
)
from contivpy.reflector.converting import convert, object_name
from contivpy.reflector.errors import ConversionError
from contivpy.reflector.json_reading import FieldProblem
from contivpy.reflector.kinds import BY_RESOURCE


def meta(name: str, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, **extra}


def test_pod_keeps_network_facts_and_contivpp_annotations_only() -> None:
    pod = convert(
        "pod",
        {
            "metadata": meta(
                "p",
                labels={"app": "x"},
                annotations={"contivpp.io/custom-if": "a/tap", "kubectl.io/last": "{...}"},
            ),
            "spec": {
                "nodeName": "n1",
                "hostNetwork": True,
                "containers": [
                    {
                        "name": "c",
                        "ports": [{"containerPort": 53, "protocol": "UDP", "hostPort": 53}],
                    }
                ],
            },
            "status": {"phase": "Pending", "podIP": "10.1.1.5", "hostIP": "192.168.16.1"},
        },
    )
    assert isinstance(pod, Pod)
    assert pod.annotations == {"contivpp.io/custom-if": "a/tap"}
    assert (pod.node_name, pod.host_network, pod.phase) == ("n1", True, "Pending")
    assert pod.ip_addresses == ["10.1.1.5"]  # podIPs absent: the primary IP alone
    port = pod.containers[0].ports[0]
    assert (port.protocol, port.host_port) == (Protocol.UDP, 53)


def test_unscheduled_pod_has_empty_network_fields() -> None:
    pod = convert("pod", {"metadata": meta("p"), "spec": {"containers": []}})
    assert isinstance(pod, Pod)
    assert (pod.ip_address, pod.ip_addresses, pod.node_name) == ("", [], "")


def test_service_fields_and_affinity_timeout() -> None:
    service = convert(
        "service",
        {
            "metadata": meta("s"),
            "spec": {
                "type": "LoadBalancer",
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}],
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                "externalTrafficPolicy": "Local",
                "healthCheckNodePort": 31000,
                "loadBalancerSourceRanges": ["1.2.3.0/24"],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb"}]}},
        },
    )
    assert isinstance(service, Service)
    assert service.ports[0].target_port == IntOrString(number=8080)
    assert service.session_affinity_timeout == 60
    assert service.lb_ingress_ips == ["5.6.7.8"]
    assert (service.service_type, service.external_traffic_policy) == ("LoadBalancer", "Local")


def test_policy_types_and_selectors() -> None:
    policy = convert(
        "policy",
        {
            "metadata": meta("p"),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "podSelector": {
                                    "matchExpressions": [{"key": "a", "operator": "Exists"}]
                                }
                            }
                        ],
                        "ports": [
                            {"port": "dns", "protocol": "UDP"},
                            {"port": 8000, "endPort": 8100},
                        ],
                    }
                ],
            },
        },
    )
    assert isinstance(policy, Policy)
    assert policy.policy_type is PolicyType.EGRESS
    assert policy.pod_selector is not None
    peer = policy.egress_rules[0].to[0]
    assert peer.namespace_selector is None
    assert peer.pod_selector is not None
    assert peer.pod_selector.match_expressions[0].operator is LabelOperator.EXISTS
    named, ranged = policy.egress_rules[0].ports
    assert named.port == IntOrString(name="dns")
    assert (ranged.port, ranged.end_port) == (IntOrString(number=8000), 8100)
    no_types = convert("policy", {"metadata": meta("q"), "spec": {}})
    assert isinstance(no_types, Policy)
    assert no_types.policy_type is PolicyType.DEFAULT


def test_cluster_scoped_and_custom_kinds() -> None:
    namespace = convert("namespace", {"metadata": {"name": "n", "labels": {"a": "b"}}})
    assert namespace == Namespace(name="n", labels={"a": "b"})
    node = convert("node", {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.1.1.0/24"]}})
    assert isinstance(node, Node)
    assert (node.pod_cidrs, node.node_info) == (["10.1.1.0/24"], None)
    network = convert("customnetwork", {"metadata": meta("x"), "spec": {"type": "stub"}})
    assert network.type is NetworkType.STUB  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("resource", "obj", "message"),
    [
        (
            "service",
            {"metadata": meta("web"), "spec": {"ports": [{"port": "http"}]}},
            "service default/web: field 'spec.ports[0].port': expected an integer, got 'http'",
        ),
        (
            "service",
            {"metadata": meta("web"), "spec": {"ports": [{"port": 70000}]}},
            "field 'spec.ports[0].port': 70000 is out of range [0, 65535]",
        ),
        (
            "pod",
            {"metadata": meta("p", labels={"a": 1})},
            "pod default/p: field 'metadata.labels['a']': expected a string, got 1",
        ),
        (
            "pod",
            {"metadata": meta("p"), "spec": {"hostNetwork": "yes"}},
            "field 'spec.hostNetwork': expected true or false",
        ),
        (
            "pod",
            {"metadata": meta("p"), "spec": {"containers": {"name": "c"}}},
            "field 'spec.containers': expected a list, got an object",
        ),
        (
            "policy",
            {"metadata": meta("p"), "spec": {"policyTypes": ["Sideways"]}},
            "field 'spec.policyTypes[0]': unknown value 'Sideways'",
        ),
        (
            "policy",
            {
                "metadata": meta("p"),
                "spec": {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
            },
            "field 'spec.podSelector.matchExpressions[0].operator': unknown value 'Near'",
        ),
        (
            "customnetwork",
            {"metadata": meta("n"), "spec": {"type": "L2", "subnetOneNodePrefixLen": "24"}},
            "customnetwork default/n: field 'spec.subnetOneNodePrefixLen': expected an integer",
        ),
        (
            "external-interface",
            {"metadata": meta("e"), "spec": {"nodes": [{"node": "n"}]}},
            "field 'spec.type': missing",
        ),
        (
            "servicefunctionchain",
            {"metadata": meta("c"), "spec": {"chain": [{"type": "Pod", "podSelector": []}]}},
            "field 'spec.chain[0].podSelector': expected an object, got a list",
        ),
        ("namespace", {"metadata": {}}, "namespace (unnamed): field 'metadata.name': missing"),
        ("node", {"metadata": "n1"}, "field 'metadata': expected an object"),
    ],
)
def test_malformed_objects_name_their_field(
    resource: str, obj: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConversionError) as raised:
        convert(resource, obj)
    assert message in str(raised.value)
    assert raised.value.resource == resource


def test_object_names_and_the_endpoints_skip_list() -> None:
    assert object_name({"metadata": meta("a", "b")}) == ("a", "b")
    with pytest.raises(FieldProblem):
        object_name({})
    skip = BY_RESOURCE["endpoints"].skip
    assert skip({"metadata": meta("kube-scheduler", "kube-system")})
    assert skip({"metadata": meta("kube-controller-manager", "kube-system")})
    assert not skip({"metadata": meta("web")})
    assert not BY_RESOURCE["pod"].skip({"metadata": meta("kube-scheduler")})
