"""join with EndpointSlices: a Service's slices give its backends; without slices its Endpoints.

In: Service, EndpointSlice and Endpoints models as the reflector stores them (slices also
through the reflector's converter from the JSON kube-controller-manager writes), this node's
facts. Out (checked): ready endpoints only (``ready`` unset counts), named ports resolved per
slice, the union of two slices with shared addresses once, the Endpoints ignored when slices
exist and used when none do, and bad slice input named by object and field.
"""

from __future__ import annotations

import ipaddress

from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    IntOrString,
    Protocol,
    Service,
    ServicePort,
    SliceEndpoint,
)
from contivpy.reflector.converting import convert
from contivpy.services.model import Backend, ContivService, LocalNode
from contivpy.services.processor import Joined, JoinRules, join, join_all

ip = ipaddress.ip_address

LOCAL = LocalNode(pod_subnets=(ipaddress.ip_network("10.1.1.0/24"),))
RULES = JoinRules(cluster_pod_subnets=(ipaddress.ip_network("10.1.0.0/16"),))


def service(*ports: ServicePort) -> Service:
    return Service(
        name="web",
        namespace="default",
        cluster_ip="10.96.0.10",
        ports=list(ports) or [ServicePort(name="http", port=80)],
    )


def endpoint(address: str, ready: bool | None = True, **fields: object) -> SliceEndpoint:
    return SliceEndpoint(addresses=[address], ready=ready, **fields)  # type: ignore[arg-type]


def a_slice(
    name: str, *endpoints: SliceEndpoint, ports: list[EndpointPort] | None = None
) -> EndpointSlice:
    return EndpointSlice(
        name=name,
        namespace="default",
        service_name="web",
        address_type="IPv4",
        endpoints=list(endpoints),
        ports=ports if ports is not None else [EndpointPort(name="http", port=8080)],
    )


def joined(svc: Service, *slices: EndpointSlice, eps: Endpoints | None = None) -> ContivService:
    result = join(svc, eps, LOCAL, frozenset(), RULES, slices)
    assert result.problems == ()
    assert result.model is not None
    return result.model


def pairs(model: ContivService, port: str = "http") -> list[tuple[str, int]]:
    return [(str(b.ip), b.port) for b in model.backends[port]]


def test_only_ready_endpoints_are_backends_and_unset_ready_counts_as_ready() -> None:
    model = joined(
        service(),
        a_slice(
            "web-1",
            endpoint("10.1.2.5"),
            endpoint("10.1.2.6", ready=None),  # the API: unset means ready
            endpoint("10.1.2.7", ready=False, terminating=True),
            endpoint("10.1.2.8", ready=False),
        ),
    )
    assert pairs(model) == [("10.1.2.5", 8080), ("10.1.2.6", 8080)]


def test_named_target_ports_resolve_per_slice() -> None:
    """targetPort "web" is 8080 in some pods and 9090 in others: the controller puts them in
    different slices, each with the service port's name and its own number."""
    svc = service(
        ServicePort(name="http", port=80, target_port=IntOrString(name="web")),
        ServicePort(name="dns", protocol=Protocol.UDP, port=53),
    )
    dns = EndpointPort(name="dns", port=5353, protocol=Protocol.UDP)
    model = joined(
        svc,
        a_slice("web-a", endpoint("10.1.2.5"), ports=[EndpointPort(name="http", port=8080), dns]),
        a_slice("web-b", endpoint("10.1.3.5"), ports=[EndpointPort(name="http", port=9090), dns]),
        a_slice("web-c", endpoint("10.1.4.5"), ports=[EndpointPort(name="metrics", port=7000)]),
    )
    assert pairs(model) == [("10.1.2.5", 8080), ("10.1.3.5", 9090)]
    assert pairs(model, "dns") == [("10.1.2.5", 5353), ("10.1.3.5", 5353)]


def test_two_slices_are_a_union_and_an_address_in_both_counts_once() -> None:
    model = joined(
        service(),
        a_slice("web-1", endpoint("10.1.2.5"), endpoint("10.1.1.7")),
        a_slice("web-2", endpoint("10.1.2.5"), endpoint("10.1.3.9")),
    )
    assert model.backends["http"] == (
        Backend(ip("10.1.1.7"), 8080, local=True),
        Backend(ip("10.1.2.5"), 8080),
        Backend(ip("10.1.3.9"), 8080),
    )


def test_without_slices_the_endpoints_give_the_backends() -> None:
    eps = Endpoints(
        name="web",
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip="10.1.2.5")],
                ports=[EndpointPort(name="http", port=8080)],
            )
        ],
    )
    assert pairs(joined(service(), eps=eps)) == [("10.1.2.5", 8080)]
    # with a slice, the slice alone decides (the Endpoints may lag behind it, or be stale)
    assert pairs(joined(service(), a_slice("web-1", endpoint("10.1.3.5")), eps=eps)) == [
        ("10.1.3.5", 8080)
    ]


def test_join_all_groups_slices_by_their_service_label() -> None:
    other = EndpointSlice(
        name="db-1",
        namespace="default",
        service_name="db",
        address_type="IPv4",
        endpoints=[endpoint("10.1.9.9")],
        ports=[EndpointPort(name="http", port=5432)],
    )
    orphan = EndpointSlice(name="x", namespace="default", endpoints=[endpoint("10.1.8.8")])
    models, problems = join_all(
        [service()],
        [],
        LOCAL,
        frozenset(),
        RULES,
        [a_slice("web-1", endpoint("10.1.2.5")), other, orphan],
    )
    assert problems == {}
    assert pairs(models["default/web"]) == [("10.1.2.5", 8080)]


def test_fqdn_slices_and_ports_without_a_number_give_no_backends() -> None:
    fqdn = a_slice("web-1", SliceEndpoint(addresses=["web.example.com"], ready=True))
    fqdn.address_type = "FQDN"
    every_port = a_slice("web-2", endpoint("10.1.2.5"), ports=[EndpointPort(name="http")])
    assert joined(service(), fqdn, every_port).backends == {"http": ()}


def test_a_bad_address_or_port_is_named_and_the_rest_still_serves() -> None:
    result: Joined = join(
        service(),
        None,
        LOCAL,
        frozenset(),
        RULES,
        [
            a_slice("web-1", endpoint("10.1.2.5"), endpoint("not-an-ip")),
            a_slice(
                "web-2",
                endpoint("10.1.3.5"),
                ports=[EndpointPort(name="http", port=8080, protocol=Protocol.UDP)],
            ),
        ],
    )
    assert result.model is not None
    assert [str(b.ip) for b in result.model.backends["http"]] == ["10.1.2.5"]
    assert result.problems == (
        "EndpointSlice default/web-1 endpoints[1].addresses[0]: 'not-an-ip' is not an IP address",
        "EndpointSlice default/web-2 ports[0].protocol: UDP, but the service's port 'http' is TCP",
    )


def test_the_reflectors_slices_join() -> None:
    """The JSON kube-controller-manager's endpointslice controller writes, converted."""
    svc = convert(
        "service",
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.10",
                "ports": [{"name": "http", "port": 80, "targetPort": "web"}],
            },
        },
    )
    one = convert(
        "endpointslice",
        {
            "metadata": {
                "name": "web-x7k2p",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "endpoints": [
                {
                    "addresses": ["10.1.1.4"],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "web-0"},
                },
                {
                    "addresses": ["10.1.2.4"],
                    "conditions": {"ready": False, "serving": True, "terminating": True},
                    "nodeName": "n2",
                },
            ],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        },
    )
    assert isinstance(svc, Service)
    assert isinstance(one, EndpointSlice)
    model = joined(svc, one)
    assert model.backends["http"] == (Backend(ip("10.1.1.4"), 8080, local=True),)
