"""The NAT44 renderer's values (pure): one mapping per (frontend IP, protocol, port) with the
service's backends as weighted locals, NodePorts on every node IP, externalTrafficPolicy Local
on external frontends only, single backends, affinity, the node's own values, and two services
claiming one frontend."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from contivpy.controllers.service_render import (
    NodeSide,
    merge_services,
    render_node,
    render_pod_interface,
    render_service,
)
from contivpy.models.vpp_keys import (
    NAT44_GLOBAL_KEY,
    nat44_address_key,
    nat44_identity_key,
    nat44_interface_key,
    nat44_mapping_key,
)
from contivpy.models.vpp_nat import (
    Nat44AddressRange,
    Nat44Global,
    Nat44IdentityMapping,
    Nat44Interface,
    Nat44Local,
    Nat44Mapping,
    NatProtocol,
    TwiceNat,
)
from contivpy.services.model import (
    Backend,
    ContivService,
    L4Protocol,
    ServicePort,
    TrafficPolicy,
)

ip = ipaddress.ip_address

SIDE = NodeSide(
    node_ip=ipaddress.IPv4Address("192.168.16.1"),
    nat_loopback=ipaddress.IPv4Address("10.1.1.254"),
    main_interface="GigabitEthernet0/8/0",
    host_interconnect="tap-vpp2",
    vxlan_bvi="vxlanBVI",
    local_weight=3,
)
NODE_IPS = [ip("192.168.16.1"), ip("192.168.16.2"), ip("10.0.0.5"), ip("fd00::1")]
THREE = (
    Backend(ip("10.1.1.2"), 8080, local=True),
    Backend(ip("10.1.1.3"), 8080, local=True),
    Backend(ip("10.1.2.2"), 8080),
)


def web(**fields: object) -> ContivService:
    fields.setdefault("cluster_ips", (ip("10.96.0.10"),))
    fields.setdefault("ports", {"http": ServicePort(L4Protocol.TCP, 80)})
    fields.setdefault("backends", {"http": THREE})
    return ContivService("default", "web", **fields)  # type: ignore[arg-type]


def mapping(ip_: str, port: int, locals_: tuple[Nat44Local, ...], **extra: object) -> Nat44Mapping:
    extra.setdefault("twice_nat", TwiceNat.SELF)
    extra.setdefault("tag", "default/web")
    return Nat44Mapping(ip_, port, NatProtocol.TCP, locals_, **extra)  # type: ignore[arg-type]


LOCAL_2 = Nat44Local("10.1.1.2", 8080, 3, 1)
LOCAL_3 = Nat44Local("10.1.1.3", 8080, 3, 1)
REMOTE = Nat44Local("10.1.2.2", 8080, 1, 1)


def test_a_service_with_three_backends_two_local_weights_the_local_ones() -> None:
    config = render_service(web(), SIDE, NODE_IPS)
    assert config == {
        nat44_mapping_key("TCP", "10.96.0.10", 80): mapping(
            "10.96.0.10", 80, (LOCAL_2, LOCAL_3, REMOTE)
        )
    }


def test_a_node_port_is_a_mapping_on_every_ipv4_node_ip_with_twice_nat() -> None:
    service = web(ports={"http": ServicePort(L4Protocol.TCP, 80, node_port=30080)})
    config = render_service(service, SIDE, NODE_IPS)
    every = (LOCAL_2, LOCAL_3, REMOTE)
    assert config == {
        nat44_mapping_key("TCP", "10.96.0.10", 80): mapping("10.96.0.10", 80, every),
        **{
            nat44_mapping_key("TCP", node, 30080): mapping(
                node, 30080, every, twice_nat=TwiceNat.ENABLED
            )
            for node in ("10.0.0.5", "192.168.16.1", "192.168.16.2")
        },
    }


def test_node_local_keeps_only_local_backends_for_external_frontends() -> None:
    service = web(
        traffic_policy=TrafficPolicy.NODE_LOCAL,
        ports={"http": ServicePort(L4Protocol.TCP, 80, node_port=30080)},
        external_ips=(ip("203.0.113.7"),),
        lb_ingress_ips=(ip("198.51.100.9"),),
    )
    config = render_service(service, SIDE, [ip("192.168.16.1")])
    local_only = (LOCAL_2, LOCAL_3)
    assert config == {
        # in-cluster clients reach every backend (Kubernetes applies Local to external traffic)
        nat44_mapping_key("TCP", "10.96.0.10", 80): mapping(
            "10.96.0.10", 80, (LOCAL_2, LOCAL_3, REMOTE)
        ),
        nat44_mapping_key("TCP", "192.168.16.1", 30080): mapping("192.168.16.1", 30080, local_only),
        nat44_mapping_key("TCP", "203.0.113.7", 80): mapping("203.0.113.7", 80, local_only),
        nat44_mapping_key("TCP", "198.51.100.9", 80): mapping("198.51.100.9", 80, local_only),
    }


def test_node_local_without_local_backends_has_no_external_mapping() -> None:
    service = web(
        traffic_policy=TrafficPolicy.NODE_LOCAL,
        external_ips=(ip("203.0.113.7"),),
        backends={"http": (Backend(ip("10.1.2.2"), 8080),)},
    )
    assert set(render_service(service, SIDE, NODE_IPS)) == {
        nat44_mapping_key("TCP", "10.96.0.10", 80)
    }


def test_a_single_backend_is_one_local_and_affinity_is_kept() -> None:
    service = web(backends={"http": (Backend(ip("10.1.2.2"), 8080),)}, affinity_timeout=600)
    assert render_service(service, SIDE, NODE_IPS) == {
        nat44_mapping_key("TCP", "10.96.0.10", 80): mapping(
            "10.96.0.10", 80, (REMOTE,), affinity=600
        )
    }


def test_this_nodes_own_ip_is_a_backend_in_the_main_vrf_and_ports_keep_their_protocol() -> None:
    service = web(
        ports={"dns": ServicePort(L4Protocol.UDP, 53), "": ServicePort(L4Protocol.SCTP, 9)},
        backends={
            "dns": (Backend(ip("192.168.16.1"), 5353, local=True, host_network=True),),
            "": (Backend(ip("10.1.2.2"), 9), Backend(ip("10.1.2.3"), 9)),
            "unused": (),
        },
    )
    config = render_service(service, SIDE, NODE_IPS)
    dns = config[nat44_mapping_key("UDP", "10.96.0.10", 53)]
    assert isinstance(dns, Nat44Mapping)
    assert dns.protocol is NatProtocol.UDP
    assert dns.locals == (Nat44Local("192.168.16.1", 5353, 3, 0),)
    sctp = config[nat44_mapping_key("SCTP", "10.96.0.10", 9)]
    assert isinstance(sctp, Nat44Mapping)
    assert len(sctp.locals) == 2


def test_ipv6_frontends_and_backends_and_ports_without_backends_make_nothing() -> None:
    service = web(
        cluster_ips=(ip("fd00:96::10"),),
        backends={"http": (Backend(ip("fd00:1::2"), 8080),)},
    )
    assert render_service(service, SIDE, NODE_IPS) == {}
    assert render_service(web(backends={"http": ()}), SIDE, NODE_IPS) == {}


def test_the_node_enables_the_plugin_marks_its_interfaces_and_keeps_its_address_untranslated() -> (
    None
):
    config = render_node(SIDE)
    assert config == {
        NAT44_GLOBAL_KEY: Nat44Global(forwarding=True),
        nat44_interface_key("GigabitEthernet0/8/0"): Nat44Interface(
            "GigabitEthernet0/8/0", outside=True
        ),
        nat44_interface_key("tap-vpp2"): Nat44Interface("tap-vpp2", inside=True, outside=True),
        nat44_interface_key("vxlanBVI"): Nat44Interface("vxlanBVI", inside=True, outside=True),
        nat44_address_key("10.1.1.254"): Nat44AddressRange("10.1.1.254", twice_nat=True),
        nat44_identity_key(0, "192.168.16.1", "UDP", 4789): Nat44IdentityMapping(
            "192.168.16.1", 0, NatProtocol.UDP, 4789, "DNAT-identities"
        ),
        nat44_identity_key(0, "192.168.16.1"): Nat44IdentityMapping(
            "192.168.16.1", 0, tag="DNAT-identities"
        ),
        nat44_identity_key(1, "192.168.16.1"): Nat44IdentityMapping(
            "192.168.16.1", 1, tag="DNAT-identities"
        ),
    }


def test_snat_puts_the_node_address_in_the_pool_and_the_output_feature_on_the_uplink() -> None:
    config = render_node(replace(SIDE, snat=True))
    assert config[nat44_interface_key("GigabitEthernet0/8/0")] == Nat44Interface(
        "GigabitEthernet0/8/0", output=True
    )
    assert config[nat44_address_key("192.168.16.1")] == Nat44AddressRange("192.168.16.1")


def test_without_the_overlay_the_main_interface_also_reaches_backends() -> None:
    config = render_node(replace(SIDE, vxlan_bvi=""))
    assert config[nat44_interface_key("GigabitEthernet0/8/0")] == Nat44Interface(
        "GigabitEthernet0/8/0", inside=True, outside=True
    )
    assert nat44_interface_key("vxlanBVI") not in config


def test_a_pod_interface_is_a_frontend_and_a_backend_only_while_it_backs_a_service() -> None:
    key = nat44_interface_key("vpp-tap-c1")
    assert render_pod_interface("vpp-tap-c1", False) == {
        key: Nat44Interface("vpp-tap-c1", outside=True)
    }
    assert render_pod_interface("vpp-tap-c1", True) == {
        key: Nat44Interface("vpp-tap-c1", inside=True, outside=True)
    }


def test_a_frontend_two_services_claim_goes_to_the_first_and_the_other_is_told() -> None:
    a = render_service(ContivService("default", "a", **_shared()), SIDE, NODE_IPS)
    b = render_service(ContivService("default", "b", **_shared()), SIDE, NODE_IPS)
    merged, conflicts = merge_services({"default/b": b, "default/a": a})
    assert merged == a
    assert conflicts == {
        "default/b": (
            "Service default/b: TCP 203.0.113.7:80 is also a frontend of Service default/a",
        )
    }


def _shared() -> dict[str, object]:
    return {
        "external_ips": (ip("203.0.113.7"),),
        "ports": {"": ServicePort(L4Protocol.TCP, 80)},
        "backends": {"": (Backend(ip("10.1.2.2"), 80),)},
    }
