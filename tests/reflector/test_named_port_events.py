"""A port name no pod has: the named-port checks (pure), then end to end — the stand-in API
server, the reflector's leader, a Warning Event on the Service and on the NetworkPolicy that
names the field, none once a pod with the port exists."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from contivpy.models.k8s_codec import Policy, Service, encode
from contivpy.policy.facts import NamedPort, PodFacts
from contivpy.policy.rules import Proto
from contivpy.reflector.converting import convert
from contivpy.reflector.named_port_events import (
    NamedPortChecker,
    policy_port_problems,
    service_port_problems,
)
from contivpy.reflector.refusal_events import Subject
from contivpy.reflector.view import ReflectedView
from contivpy.sim.kube import KubeApiStandIn
from reflector.harness import Running, has_warnings_on, warnings_on

RunReflector = Callable[..., contextlib.AbstractAsyncContextManager[Running]]
NETWORKING = "networking.k8s.io/v1"


def facts(name: str, labels: dict[str, str], *ports: tuple[str, Proto, int]) -> PodFacts:
    named = tuple(NamedPort(n, proto, number) for n, proto, number in ports)
    return PodFacts("default", name, labels, ports=named)


WEB = facts("web-1", {"app": "web"}, ("http", Proto.TCP, 8080), ("dns", Proto.UDP, 53))
CLIENT = facts("client", {"app": "client"})


def service(target: str | int, protocol: str = "TCP", selector: str = "web") -> Service:
    obj = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"app": selector},
            "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "targetPort": target, "protocol": protocol}],
        },
    }
    model = convert("service", obj)
    assert isinstance(model, Service)
    return model


def network_policy(spec: dict[str, Any]) -> Policy:
    model = convert("policy", {"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    assert isinstance(model, Policy)
    return model


def pod_bytes(name: str, namespace: str, port: str = "") -> tuple[str, bytes]:
    """A reflected pod's view key and bytes (labelled app=web; ``port`` names its TCP port)."""
    container: dict[str, Any] = {"name": "c"}
    if port:
        container["ports"] = [{"name": port, "containerPort": 8080}]
    obj = {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "web"}},
        "spec": {"containers": [container]},
    }
    return f"k8s/pod/{name}/namespace/{namespace}", encode(convert("pod", obj))


def test_the_checker_follows_pods_only_where_a_port_is_named() -> None:
    """A pod's change moves the inputs of its namespace only when a Service or policy there
    names a port (a pass must not walk every pod of the cluster); where one does, pods that
    come and go after the first pass are what its problems are found on."""
    view = ReflectedView(["pod", "service", "policy"])
    for namespace, target in (("named", "http"), ("numbered", 8080)):
        obj = {
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": target}]},
        }
        view.put(
            "service", f"k8s/service/web/namespace/{namespace}", encode(convert("service", obj))
        )
    view.put("pod", *pod_bytes("a", "named"))
    view.put("pod", *pod_bytes("a", "numbered"))
    checker = NamedPortChecker()
    first = checker.inputs(view)
    view.put("pod", *pod_bytes("b", "numbered"))
    assert checker.inputs(view)["namespace/numbered"] == first["namespace/numbered"]
    subject = Subject("Service", "named", "web")
    named = checker.inputs(view)["namespace/named"]
    assert checker.problems("namespace/named", named)[subject] == {
        "spec.ports[0].targetPort: no pod the Service selects has a TCP port named 'http' "
        "(the Service has no endpoints on it)"
    }
    view.put("pod", *pod_bytes("b", "named", port="http"))
    named = checker.inputs(view)["namespace/named"]
    assert checker.problems("namespace/named", named)[subject] == frozenset()
    view.remove("pod", pod_bytes("b", "named")[0])
    named = checker.inputs(view)["namespace/named"]
    assert len(checker.problems("namespace/named", named)[subject]) == 1


def test_a_service_target_port_name_no_selected_pod_has() -> None:
    assert service_port_problems(service("http"), [WEB, CLIENT]) == []
    assert service_port_problems(service("web"), [WEB, CLIENT]) == [
        "spec.ports[0].targetPort: no pod the Service selects has a TCP port named 'web' "
        "(the Service has no endpoints on it)"
    ]
    # the name with another protocol is not the port
    assert len(service_port_problems(service("dns"), [WEB])) == 1
    assert service_port_problems(service("dns", "UDP"), [WEB]) == []
    # no pod selected (yet): nothing to resolve on
    assert service_port_problems(service("web", selector="none"), [WEB]) == []
    assert service_port_problems(service(80), [WEB]) == []  # a number


def test_a_policy_named_port_no_pod_it_resolves_on_has() -> None:
    ingress = network_policy(
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"ports": [{"port": "http"}, {"port": "metrics"}]}],
        }
    )
    assert policy_port_problems(ingress, [WEB, CLIENT]) == [
        "spec.ingress[0].ports[1].port: no pod the policy applies to has a TCP port named "
        "'metrics' (the rule admits nothing on it)"
    ]
    egress = network_policy(
        {
            "podSelector": {"matchLabels": {"app": "client"}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": WEB.labels}}], "ports": [{"port": "x"}]},
                {"to": [{"namespaceSelector": {}}], "ports": [{"port": "x"}]},
                {"ports": [{"port": "x"}]},
            ],
        }
    )
    # only the rule whose destinations are this namespace's pods can be resolved here
    assert policy_port_problems(egress, [WEB, CLIENT]) == [
        "spec.egress[0].ports[0].port: no pod the rule admits has a TCP port named 'x' "
        "(the rule admits nothing on it)"
    ]


def pod(name: str, labels: dict[str, str], port: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "containers": [
                {"name": "c", "image": "nginx", "ports": [{"name": port, "containerPort": 8080}]}
            ]
        },
    }


async def test_named_ports_no_pod_has_get_warnings_on_the_service_and_the_policy(
    kube: KubeApiStandIn, run_reflector: RunReflector
) -> None:
    kube.apply(pod("web-1", {"app": "web"}, "http"))
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "web"}]},
        }
    )
    kube.apply(
        {
            "apiVersion": NETWORKING,
            "kind": "NetworkPolicy",
            "metadata": {"name": "web-metrics", "namespace": "default"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "ingress": [{"ports": [{"port": "metrics"}]}],
            },
        }
    )
    async with run_reflector():
        (on_policy,) = await has_warnings_on(kube, "NetworkPolicy", "web-metrics", 1)
        assert on_policy["reason"] == "InvalidNetworkPolicy"
        assert on_policy["message"].startswith(
            "spec.ingress[0].ports[0].port: no pod the policy applies to has a TCP port named "
            "'metrics'"
        )
        # both are posted in one pass, the Service's after the policy's: wait for it too
        (on_service,) = await has_warnings_on(kube, "Service", "web", 1)
        assert (on_service["reason"], on_service["message"]) == (
            "InvalidService",
            "spec.ports[0].targetPort: no pod the Service selects has a TCP port named "
            "'web' (the Service has no endpoints on it)",
        )
        assert warnings_on(kube, "NetworkPolicy", "web-metrics") == [on_policy]
