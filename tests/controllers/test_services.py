"""The services controller on its own (with real nodesync, podmanager and IPAM; the node's ID
record given in the reflected state, so no etcd): what an event changes — an endpoint one
mapping, a pod its interface, a node the NodePort mappings on its IPs — refused and IPv6
services, the revert of a failed ADD, and the property that after any sequence of service,
endpoint, node and pod changes the controller wants exactly what a resync from scratch
wants, each event's changes taking it there from what it wanted before."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.controllers.base import ControllerBase
from contivpy.controllers.services import Services, ServiceSettings
from contivpy.events.types import (
    Changes,
    Event,
)
from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    K8sModel,
    Node,
    NodeAddress,
    Service,
    ServicePort,
    VppNode,
)
from contivpy.models.vpp_keys import nat44_interface_key, nat44_mapping_key
from contivpy.models.vpp_nat import Nat44Interface, Nat44Local, Nat44Mapping
from contivpy.settings import AgentSettings
from controllers.parts import NodeRig, add, delete

NODE = "n1"  # node ID 1: pods in 10.1.1.0/24, VPP at 192.168.16.1
SETTINGS = AgentSettings(node_name=NODE)


def service(name: str, *, node_port: int = 0, cluster_ip: str = "", **fields: Any) -> Service:
    fields.setdefault("ports", [ServicePort(name="http", port=80, node_port=node_port)])
    if node_port:
        fields.setdefault("service_type", "NodePort")
    return Service(
        name=name,
        namespace="default",
        cluster_ip=cluster_ip or f"10.96.0.{10 + int(name[1:] or 0)}",
        **fields,
    )


def endpoints(name: str, *ips: str, port: int = 8080) -> Endpoints:
    return Endpoints(
        name=name,
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=a) for a in ips],
                ports=[EndpointPort(name="http", port=port)],
            )
        ]
        if ips
        else [],
    )


def vppnode(node_id: int, name: str, *ips: str) -> VppNode:
    return VppNode(id=node_id, name=name, ip_addresses=list(ips))


def k8s_node(name: str, *ips: str) -> Node:
    return Node(name=name, addresses=[NodeAddress(type="InternalIP", address=a) for a in ips])


@dataclass
class Rig(NodeRig):
    """The services controller on a node (``NodeRig``), with its settings."""

    config: ServiceSettings = field(default_factory=ServiceSettings)

    def controller(self) -> ControllerBase[Any]:
        self.services = Services(SETTINGS, self.nodesync, self.ipam, self.pods, self.config)
        return self.services

    async def handle(self, event: Event) -> Changes:
        return (await self.one(event)).changes

    async def put(self, model: K8sModel) -> Changes:
        return await self.handle(self.put_state(model))

    async def drop(self, model: K8sModel) -> Changes:
        return await self.handle(self.drop_state(model))


def run(test: Callable[[Rig], Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(test(Rig(Path(tmp))))


def key(ip: str, port: int = 80) -> str:
    return nat44_mapping_key("TCP", ip, port)


# -- examples -------------------------------------------------------------------------------


def test_an_endpoint_added_changes_only_that_services_mapping() -> None:
    async def scenario(rig: Rig) -> None:
        for i in range(5):
            rig.put_state(service(f"s{i}"))
            rig.put_state(endpoints(f"s{i}", "10.1.2.2", "10.1.3.2"))
        desired = await rig.resync()
        mapping = desired[key("10.96.0.12")]
        assert isinstance(mapping, Nat44Mapping)
        assert len(mapping.locals) == 2
        changes = await rig.put(endpoints("s2", "10.1.2.2", "10.1.3.2", "10.1.4.2"))
        assert set(changes) == {key("10.96.0.12")}
        new = changes[key("10.96.0.12")]
        assert isinstance(new, Nat44Mapping)
        assert Nat44Local("10.1.4.2", 8080, 1, 1) in new.locals
        # and one removed: that mapping again, nothing else
        changes = await rig.put(endpoints("s2", "10.1.2.2"))
        assert set(changes) == {key("10.96.0.12")}
        # no endpoints left: the mapping goes
        assert await rig.put(endpoints("s2")) == {key("10.96.0.12"): None}

    run(scenario)


def test_a_pod_changes_its_interface_and_backing_a_service_makes_it_inside() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1"))
        await rig.resync()
        changes = await rig.handle(add("web", "c1"))
        interface = "vpp-tap-c1"
        assert changes == {nat44_interface_key(interface): Nat44Interface(interface, outside=True)}
        ip = str(rig.ipam.ip_of(next(iter(rig.pods.pods))))
        changes = await rig.put(endpoints("s1", ip))
        assert changes == {
            key("10.96.0.11"): Nat44Mapping(
                "10.96.0.11",
                80,
                changes[key("10.96.0.11")].protocol,  # type: ignore[union-attr]
                (Nat44Local(ip, 8080, 1, 1),),
                twice_nat=changes[key("10.96.0.11")].twice_nat,  # type: ignore[union-attr]
                tag="default/s1",
            ),
            nat44_interface_key(interface): Nat44Interface(interface, inside=True, outside=True),
        }
        changes = await rig.handle(delete("web", "c1"))
        assert changes == {nat44_interface_key(interface): None}

    run(scenario)


def test_a_node_joining_adds_only_the_node_port_mappings_on_its_ips() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1", node_port=30080))
        rig.put_state(endpoints("s1", "10.1.2.2"))
        rig.put_state(service("s2"))
        rig.put_state(endpoints("s2", "10.1.2.3"))
        desired = await rig.resync()
        assert key("192.168.16.1", 30080) in desired
        changes = await rig.put(vppnode(2, "n2", "192.168.16.2/24"))
        assert set(changes) == {key("192.168.16.2", 30080)}
        changes = await rig.put(k8s_node("n2", "10.0.0.2"))
        assert set(changes) == {key("10.0.0.2", 30080)}
        changes = await rig.drop(vppnode(2, "n2", "192.168.16.2/24"))
        assert changes == {key("192.168.16.2", 30080): None, key("10.0.0.2", 30080): None}

    run(scenario)


def test_a_refused_service_is_reported_and_the_others_keep_working() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1"))
        rig.put_state(endpoints("s1", "10.1.2.2"))
        await rig.resync()
        bad = service("s2", ports=[ServicePort(name="http", port=70000)])
        changes = await rig.put(bad)
        assert changes == {}
        assert rig.services.problems == {
            "default/s2": ("Service default/s2 spec.ports[0].port: 70000 is out of range 1..65535",)
        }
        changes = await rig.put(endpoints("s1", "10.1.2.2", "10.1.2.3"))
        assert set(changes) == {key("10.96.0.11")}
        changes = await rig.put(service("s2"))
        assert rig.services.problems == {}
        assert await rig.put(endpoints("s2", "10.1.2.4")) != {}

    run(scenario)


def test_a_service_refused_at_a_resync_is_in_the_resyncs_change_line() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1"))
        rig.put_state(service("s2", ports=[ServicePort(name="http", port=70000)]))
        await rig.resync()
        assert rig.resync_change == (
            "refused: Service default/s2 spec.ports[0].port: 70000 is out of range 1..65535"
        )
        # said by the resync, not again by the next event's line
        result = await rig.services.update(rig.put_state(endpoints("s1", "10.1.2.2")))
        assert result.change == "1 service(s); 1 NAT value(s) changed"
        # a resync finding the same problem says nothing again; one finding it fixed says so
        await rig.resync()
        assert rig.resync_change == ""
        result = await rig.services.update(rig.put_state(endpoints("s1", "10.1.2.4")))
        assert "refused" not in result.change
        rig.put_state(service("s2"))
        await rig.resync()
        assert rig.resync_change == "Service default/s2 accepted"

    run(scenario)


def test_a_node_port_range_from_the_settings_refuses_node_ports_outside_it() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1", node_port=30080))
        await rig.resync()
        assert "default/s1" in rig.services.problems

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(Rig(Path(tmp), config=ServiceSettings(node_port_range="31000-31999"))))


def test_an_ipv6_only_service_is_skipped_and_noted() -> None:
    async def scenario(rig: Rig) -> None:
        rig.put_state(service("s1", cluster_ip="fd00:96::1"))
        rig.put_state(endpoints("s1", "fd00:1::2"))
        desired = await rig.resync()
        assert not any("nat44-mapping" in k for k in desired)
        assert rig.services.skipped == {"default/s1"}

    run(scenario)


def test_a_failed_add_is_reverted() -> None:
    async def scenario(rig: Rig) -> None:
        await rig.resync()
        before = rig.services.desired()
        event = add("web", "c1")
        undo = None
        for controller in (rig.pods, rig.ipam, rig.services):
            result = await controller.update(event)
            if controller is rig.services:
                undo = result.undo
        assert rig.services.desired() != before
        await rig.services.revert(event, undo)
        assert rig.services.desired() == before

    run(scenario)


def test_two_services_on_one_external_ip_the_first_keeps_it_until_it_goes() -> None:
    async def scenario(rig: Rig) -> None:
        for name, backend in (("s1", "10.1.2.2"), ("s2", "10.1.2.3")):
            rig.put_state(service(name, external_ips=["203.0.113.7"]))
            rig.put_state(endpoints(name, backend))
        desired = await rig.resync()
        shared = desired[key("203.0.113.7")]
        assert isinstance(shared, Nat44Mapping)
        assert shared.tag == "default/s1"
        assert list(rig.services.problems) == ["default/s2"]
        changes = await rig.drop(service("s1"))
        taken = changes[key("203.0.113.7")]
        assert isinstance(taken, Nat44Mapping)
        assert taken.tag == "default/s2"
        assert rig.services.problems == {}

    run(scenario)


# -- the property ---------------------------------------------------------------------------

SERVICES = ("s1", "s2", "s3")
BACKENDS = ("10.1.1.2", "10.1.1.3", "10.1.2.2", "10.1.3.2", "192.168.16.1", "192.168.16.2")
OTHER_NODES = ((2, "n2", "192.168.16.2/24"), (3, "n3", "192.168.16.3/24"))

service_changes = st.builds(
    lambda name, node_port, local, external: (
        "put",
        service(
            name,
            node_port=node_port,
            external_ips=["203.0.113.7"] if external else [],
            external_traffic_policy="Local" if local else "",
            session_affinity="ClientIP" if local else "",
        ),
    ),
    st.sampled_from(SERVICES),
    st.sampled_from((0, 30080, 30081, 70000)),
    st.booleans(),
    st.booleans(),
)
endpoint_changes = st.builds(
    lambda name, ips: ("put", endpoints(name, *ips)),
    st.sampled_from(SERVICES),
    st.lists(st.sampled_from(BACKENDS), max_size=4, unique=True),
)
removals = st.builds(
    lambda kind, name: ("drop", kind(name) if kind is service else endpoints(name)),
    st.sampled_from((service, endpoints)),
    st.sampled_from(SERVICES),
)
node_changes = st.builds(
    lambda node, mgmt, gone: (
        "drop" if gone else "put",
        vppnode(node[0], node[1], node[2]) if not mgmt else k8s_node(node[1], f"10.0.0.{node[0]}"),
    ),
    st.sampled_from(OTHER_NODES),
    st.booleans(),
    st.booleans(),
)
pod_changes = st.builds(
    lambda name, gone: ("delete" if gone else "add", name),
    st.sampled_from(("p1", "p2")),
    st.booleans(),
)
steps = st.lists(
    st.one_of(service_changes, endpoint_changes, removals, node_changes, pod_changes),
    max_size=25,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_incremental_changes_equal_a_render_from_scratch(sequence: list[tuple[str, Any]]) -> None:
    async def scenario(rig: Rig) -> None:
        wanted = await rig.resync()
        for verb, what in sequence:
            if verb == "put":
                changes = await rig.put(what)
            elif verb == "drop":
                changes = await rig.drop(what)
            elif verb == "add":
                changes = await rig.handle(add(what, f"c-{what}"))
            else:
                changes = await rig.handle(delete(what, f"c-{what}"))
            for k, value in changes.items():
                if value is None:
                    wanted.pop(k, None)
                else:
                    wanted[k] = value
            assert wanted == rig.services.desired()
        incremental, problems = rig.services.desired(), rig.services.problems
        rig.pods.persist()
        rig.ipam.persist()
        rig.build()  # a restarted agent: everything from the reflected state and its files
        assert await rig.resync() == incremental
        assert rig.services.problems == problems

    run(scenario)
