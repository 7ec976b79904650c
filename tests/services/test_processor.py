"""join: a reflected Service and its Endpoints checked and joined into a ContivService.

In: Service and Endpoints models as the reflector stores them (built here directly, and one
pair through the reflector's converter from Kubernetes JSON), this node's facts. Out (checked):
the joined model per rule (frontends, ports, ready backends, locality, host network, traffic
policy, affinity, families kept apart), and for bad input a refused service (or a skipped
address) with a problem naming the object, the field and the value.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    IntOrString,
    Protocol,
    Service,
    ServicePort,
)
from contivpy.reflector.converting import convert
from contivpy.services.model import (
    Backend,
    ContivService,
    L4Protocol,
    LocalNode,
    TrafficPolicy,
    node_ips,
)
from contivpy.services.model import ServicePort as Port
from contivpy.services.processor import JoinRules, join

ip = ipaddress.ip_address

LOCAL = LocalNode(
    pod_subnets=(ipaddress.ip_network("10.1.1.0/24"), ipaddress.ip_network("fd00:1:1::/64")),
    ips=frozenset({ip("192.168.16.1"), ip("172.30.1.1")}),
)
NODES = frozenset({ip("192.168.16.1"), ip("192.168.16.2")})
RULES = JoinRules(cluster_pod_subnets=(ipaddress.ip_network("10.1.0.0/16"),))


def service(**fields: Any) -> Service:
    fields.setdefault("ports", [ServicePort(name="http", port=80, target_port=None)])
    fields.setdefault("cluster_ip", "10.96.0.10")
    return Service(name="web", namespace="default", **fields)


def endpoints(*subsets: EndpointSubset) -> Endpoints:
    return Endpoints(name="web", namespace="default", subsets=list(subsets))


def subset(
    ready: list[str], ports: list[EndpointPort], not_ready: list[str] | None = None
) -> EndpointSubset:
    return EndpointSubset(
        addresses=[EndpointAddress(ip=a) for a in ready],
        not_ready_addresses=[EndpointAddress(ip=a) for a in not_ready or []],
        ports=ports,
    )


def http(port: int = 8080, name: str = "http", protocol: Protocol = Protocol.TCP) -> EndpointPort:
    return EndpointPort(name=name, port=port, protocol=protocol)


def joined(svc: Service, eps: Endpoints | None = None) -> ContivService:
    result = join(svc, eps, LOCAL, NODES, RULES)
    assert result.problems == ()
    assert result.model is not None
    return result.model


def refused(svc: Service, eps: Endpoints | None = None) -> str:
    result = join(svc, eps, LOCAL, NODES, RULES)
    assert result.model is None
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


# -- what is joined -------------------------------------------------------------------------


def test_a_cluster_ip_service_joins_its_ready_backends_per_port() -> None:
    model = joined(service(), endpoints(subset(["10.1.2.5", "10.1.1.7"], [http()])))
    assert model.id == "default/web"
    assert model.cluster_ips == (ip("10.96.0.10"),)
    assert model.ports == {"http": Port(L4Protocol.TCP, 80, 0)}
    assert model.backends == {
        "http": (
            Backend(ip("10.1.1.7"), 8080, local=True, host_network=False),
            Backend(ip("10.1.2.5"), 8080, local=False, host_network=False),
        )
    }
    assert model.traffic_policy is TrafficPolicy.CLUSTER_WIDE
    assert model.affinity_timeout == 0
    assert not model.has_node_port


def test_not_ready_addresses_are_never_backends() -> None:
    model = joined(
        service(), endpoints(subset(["10.1.2.5"], [http()], not_ready=["10.1.2.6", "10.1.1.9"]))
    )
    assert [b.ip for b in model.backends["http"]] == [ip("10.1.2.5")]


def test_a_service_without_endpoints_has_its_ports_and_no_backends() -> None:
    model = joined(service())
    assert model.backends == {"http": ()}
    only_not_ready = joined(service(), endpoints(subset([], [http()], not_ready=["10.1.2.6"])))
    assert only_not_ready.backends == {"http": ()}


def test_named_target_ports_resolve_through_the_endpoint_port_names() -> None:
    """targetPort "web" names a container port that differs per pod; the endpoints
    controller resolved it per subset and named the endpoint port after the service port."""
    svc = service(
        ports=[
            ServicePort(name="http", port=80, target_port=IntOrString(name="web")),
            ServicePort(name="dns", protocol=Protocol.UDP, port=53),
        ]
    )
    eps = endpoints(
        subset(["10.1.2.5"], [http(8080), http(5353, "dns", Protocol.UDP)]),
        subset(["10.1.3.5"], [http(9090), http(5353, "dns", Protocol.UDP)]),
        subset(["10.1.4.5"], [http(7000, "metrics")]),  # a port the service does not have
    )
    model = joined(svc, eps)
    assert model.ports["dns"] == Port(L4Protocol.UDP, 53, 0)
    assert [(str(b.ip), b.port) for b in model.backends["http"]] == [
        ("10.1.2.5", 8080),
        ("10.1.3.5", 9090),
    ]
    assert [(str(b.ip), b.port) for b in model.backends["dns"]] == [
        ("10.1.2.5", 5353),
        ("10.1.3.5", 5353),
    ]


def test_a_single_unnamed_port_matches_the_unnamed_endpoint_port() -> None:
    svc = service(ports=[ServicePort(port=80)])
    model = joined(svc, endpoints(subset(["10.1.2.5"], [http(8080, name="")])))
    assert model.backends == {"": (Backend(ip("10.1.2.5"), 8080),)}


def test_local_means_this_nodes_pod_subnet_or_one_of_its_ips() -> None:
    eps = endpoints(subset(["10.1.1.7", "10.1.2.7", "192.168.16.1", "192.168.16.2"], [http()]))
    backends = {str(b.ip): b for b in joined(service(), eps).backends["http"]}
    assert backends["10.1.1.7"].local
    assert not backends["10.1.1.7"].host_network
    assert not backends["10.1.2.7"].local
    # a host-network pod on this node (at this node's IP), and one on another node
    assert backends["192.168.16.1"].local
    assert backends["192.168.16.1"].host_network
    assert not backends["192.168.16.2"].local
    assert backends["192.168.16.2"].host_network


def test_a_backend_outside_the_cluster_pod_subnets_is_host_network() -> None:
    """A selector-less service's hand-made Endpoints may point outside the cluster."""
    eps = endpoints(subset(["203.0.113.9"], [http()]))
    (backend,) = joined(service(), eps).backends["http"]
    assert backend.host_network
    assert not backend.local
    # without the cluster's pod subnets only a node IP marks host network
    result = join(service(), eps, LOCAL, NODES, JoinRules())
    assert result.model is not None
    assert not result.model.backends["http"][0].host_network


def test_external_traffic_policy_local_is_node_local() -> None:
    assert joined(service(external_traffic_policy="Local")).traffic_policy is (
        TrafficPolicy.NODE_LOCAL
    )
    assert joined(service(external_traffic_policy="Cluster")).traffic_policy is (
        TrafficPolicy.CLUSTER_WIDE
    )


def test_client_ip_affinity_keeps_its_timeout_and_defaults_to_10800() -> None:
    assert (
        joined(service(session_affinity="ClientIP", session_affinity_timeout=60)).affinity_timeout
        == 60
    )
    assert joined(service(session_affinity="ClientIP")).affinity_timeout == 10800
    # a timeout without ClientIP affinity means nothing
    assert (
        joined(service(session_affinity="None", session_affinity_timeout=60)).affinity_timeout == 0
    )


def test_node_ports_belong_to_node_port_and_load_balancer_services() -> None:
    port = ServicePort(name="http", port=80, node_port=30080)
    assert joined(service(service_type="NodePort", ports=[port])).ports["http"].node_port == 30080
    assert joined(service(service_type="LoadBalancer", ports=[port])).has_node_port
    # a ClusterIP service's stray nodePort is no NodePort
    assert not joined(service(service_type="ClusterIP", ports=[port])).has_node_port


def test_load_balancer_ingress_ips_are_frontends_of_a_load_balancer_service_only() -> None:
    ingress = ["198.51.100.7", "198.51.100.3"]
    model = joined(service(service_type="LoadBalancer", lb_ingress_ips=ingress))
    assert model.lb_ingress_ips == (ip("198.51.100.3"), ip("198.51.100.7"))
    assert joined(service(service_type="ClusterIP", lb_ingress_ips=ingress)).lb_ingress_ips == ()


def test_external_ips_are_frontends() -> None:
    model = joined(service(external_ips=["203.0.113.5", "2001:db8::5", "203.0.113.5"]))
    assert model.external_ips == (ip("203.0.113.5"), ip("2001:db8::5"))


def test_a_headless_service_has_no_cluster_ip() -> None:
    assert joined(service(cluster_ip="None")).cluster_ips == ()
    assert joined(service(cluster_ip="None", cluster_ips=["None"])).cluster_ips == ()


def test_cluster_ips_come_from_cluster_ips_when_given() -> None:
    model = joined(service(cluster_ip="10.96.0.10", cluster_ips=["fd00:96::10", "10.96.0.10"]))
    assert model.cluster_ips == (ip("10.96.0.10"), ip("fd00:96::10"))


def test_ipv4_and_ipv6_are_kept_apart() -> None:
    svc = service(
        cluster_ips=["10.96.0.10", "fd00:96::10"],
        external_ips=["2001:db8::5"],
    )
    eps = endpoints(subset(["10.1.1.7", "fd00:1:1::7", "fd00:1:2::7"], [http()]))
    model = joined(svc, eps)
    assert model.families == {4, 6}
    v4, v6 = model.of_family(4), model.of_family(6)
    assert v4.cluster_ips == (ip("10.96.0.10"),)
    assert v4.external_ips == ()
    assert [str(b.ip) for b in v4.backends["http"]] == ["10.1.1.7"]
    assert v6.cluster_ips == (ip("fd00:96::10"),)
    assert v6.external_ips == (ip("2001:db8::5"),)
    assert [(str(b.ip), b.local) for b in v6.backends["http"]] == [
        ("fd00:1:1::7", True),
        ("fd00:1:2::7", False),
    ]
    assert v4.ports == v6.ports == model.ports


def test_an_external_name_service_is_not_joined_and_not_refused() -> None:
    result = join(service(service_type="ExternalName", cluster_ip=""), None, LOCAL)
    assert result.model is None
    assert result.problems == ()


def test_the_reflectors_models_join() -> None:
    """From Kubernetes JSON through the reflector's converter (what the agent decodes)."""
    svc = convert(
        "service",
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "type": "LoadBalancer",
                "clusterIP": "10.96.0.10",
                "clusterIPs": ["10.96.0.10"],
                "externalTrafficPolicy": "Local",
                "sessionAffinity": "ClientIP",
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "web", "nodePort": 31000},
                    {"name": "sctp", "protocol": "SCTP", "port": 9999, "nodePort": 31001},
                ],
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}, {"hostname": "x"}]}},
        },
    )
    eps = convert(
        "endpoints",
        {
            "metadata": {"name": "web", "namespace": "default"},
            "subsets": [
                {
                    "addresses": [{"ip": "10.1.1.7", "nodeName": "n1"}],
                    "notReadyAddresses": [{"ip": "10.1.1.8", "nodeName": "n1"}],
                    "ports": [
                        {"name": "http", "port": 8080, "protocol": "TCP"},
                        {"name": "sctp", "port": 9999, "protocol": "SCTP"},
                    ],
                }
            ],
        },
    )
    assert isinstance(svc, Service)
    assert isinstance(eps, Endpoints)
    model = joined(svc, eps)
    assert model.traffic_policy is TrafficPolicy.NODE_LOCAL
    assert model.affinity_timeout == 10800
    assert model.lb_ingress_ips == (ip("198.51.100.7"),)
    assert model.ports == {
        "http": Port(L4Protocol.TCP, 80, 31000),
        "sctp": Port(L4Protocol.SCTP, 9999, 31001),
    }
    assert model.ports["sctp"].protocol.number == 132
    assert model.backends["http"] == (Backend(ip("10.1.1.7"), 8080, local=True),)


def test_node_ips_reads_cidrs_and_plain_ips() -> None:
    assert node_ips(["192.168.16.1/24", "10.20.0.5", "node1.example", "fd00::1/64"]) == {
        ip("192.168.16.1"),
        ip("10.20.0.5"),
        ip("fd00::1"),
    }


# -- bad input: refused, with the object and the field named ------------------------------


@pytest.mark.parametrize(
    ("svc", "expected"),
    [
        (
            service(ports=[ServicePort(name="http", port=0)]),
            "Service default/web spec.ports[0].port: 0 is out of range 1..65535",
        ),
        (
            service(ports=[ServicePort(name="http", port=70000)]),
            "Service default/web spec.ports[0].port: 70000 is out of range 1..65535",
        ),
        (
            service(ports=[ServicePort(name="http", port=80, protocol=Protocol(7))]),
            "Service default/web spec.ports[0].protocol: 7 is not TCP, UDP or SCTP",
        ),
        (
            service(
                ports=[ServicePort(name="http", port=80, target_port=IntOrString(number=65536))]
            ),
            "Service default/web spec.ports[0].targetPort: 65536 is out of range 1..65535",
        ),
        (
            service(service_type="NodePort", ports=[ServicePort(name="h", port=80, node_port=22)]),
            "Service default/web spec.ports[0].nodePort: 22 is out of the NodePort range "
            "30000..32767",
        ),
        (
            service(cluster_ip="10.96.0.300"),
            "Service default/web spec.clusterIP: '10.96.0.300' is not an IP address",
        ),
        (
            service(cluster_ips=["10.96.0.10", "fd00::g"]),
            "Service default/web spec.clusterIPs[1]: 'fd00::g' is not an IP address",
        ),
        (
            service(external_ips=["fe80::1%eth0"]),
            "Service default/web spec.externalIPs[0]: 'fe80::1%eth0' has a zone (an IPv6 "
            "scope), which a service IP cannot",
        ),
        (
            service(external_ips=["203.0.113.5", "example.com"]),
            "Service default/web spec.externalIPs[1]: 'example.com' is not an IP address",
        ),
        (
            service(service_type="LoadBalancer", lb_ingress_ips=["x"]),
            "Service default/web status.loadBalancer.ingress[0]: 'x' is not an IP address",
        ),
        (
            service(service_type="Magic"),
            "Service default/web spec.type: 'Magic' is not ClusterIP, NodePort, LoadBalancer "
            "or ExternalName",
        ),
        (
            service(external_traffic_policy="Global"),
            "Service default/web spec.externalTrafficPolicy: 'Global' is not Cluster or Local",
        ),
        (
            service(session_affinity="Cookie"),
            "Service default/web spec.sessionAffinity: 'Cookie' is not None or ClientIP",
        ),
        (
            service(session_affinity="ClientIP", session_affinity_timeout=86401),
            "Service default/web spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is "
            "out of range 1..86400",
        ),
        (
            service(ports=[ServicePort(name="a", port=80), ServicePort(name="a", port=81)]),
            "Service default/web spec.ports[1].name: 'a' is also the name of spec.ports[0]",
        ),
        (
            service(ports=[ServicePort(name="a", port=80), ServicePort(port=81)]),
            "Service default/web spec.ports[1].name: missing (a service with several ports "
            "names each one)",
        ),
        (
            service(ports=[ServicePort(name="a", port=80), ServicePort(name="b", port=80)]),
            "Service default/web spec.ports[1].port: TCP 80 is also used by spec.ports[0]",
        ),
        (
            service(
                service_type="NodePort",
                ports=[
                    ServicePort(name="a", port=80, node_port=30080),
                    ServicePort(name="b", port=81, node_port=30080),
                ],
            ),
            "Service default/web spec.ports[1].nodePort: TCP 30080 is also used by spec.ports[0]",
        ),
    ],
)
def test_an_invalid_service_is_refused_naming_the_field(svc: Service, expected: str) -> None:
    assert refused(svc) == expected


def test_the_same_port_number_over_two_protocols_is_fine() -> None:
    svc = service(
        ports=[
            ServicePort(name="dns", port=53, protocol=Protocol.UDP),
            ServicePort(name="dns-tcp", port=53),
        ]
    )
    assert set(joined(svc).ports) == {"dns", "dns-tcp"}


def test_a_node_port_range_can_be_configured() -> None:
    svc = service(service_type="NodePort", ports=[ServicePort(name="h", port=80, node_port=8080)])
    result = join(svc, None, LOCAL, rules=JoinRules(node_port_range=(8000, 9000)))
    assert result.model is not None
    assert result.model.ports["h"].node_port == 8080


def test_every_problem_of_a_service_is_kept() -> None:
    result = join(
        service(cluster_ip="x", ports=[ServicePort(name="h", port=0)]), None, LOCAL, NODES, RULES
    )
    assert result.model is None
    assert result.problems == (
        "Service default/web spec.ports[0].port: 0 is out of range 1..65535",
        "Service default/web spec.clusterIP: 'x' is not an IP address",
    )


def test_a_bad_endpoints_entry_is_skipped_and_the_service_keeps_the_rest() -> None:
    eps = endpoints(
        subset(["10.1.2.5", "not-an-ip"], [http(8080), http(0, "http")]),
        subset(["10.1.3.5"], [http(8080, protocol=Protocol.UDP)]),
    )
    result = join(service(), eps, LOCAL, NODES, RULES)
    assert result.model is not None
    assert [str(b.ip) for b in result.model.backends["http"]] == ["10.1.2.5"]
    assert result.problems == (
        "Endpoints default/web subsets[0].addresses[1].ip: 'not-an-ip' is not an IP address",
        "Endpoints default/web subsets[0].ports[1].port: 0 is out of range 1..65535",
        "Endpoints default/web subsets[1].ports[0].protocol: UDP, but the service's port "
        "'http' is TCP",
    )
