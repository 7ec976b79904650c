"""ServiceBook: every service's join kept current, and each change named exactly.

Examples first (an endpoints change touches its own service only; a node's IPs and this node's
facts change only the services with backends there; a refused service keeps its problems while
the others keep working; slices win over Endpoints), then the property (hypothesis): after any
sequence of Service, EndpointSlice, Endpoints, this-node and node changes, the book's models and
problems equal a join of the final objects from scratch, its node IPs are the union of every
node's, and each change it reported, applied to the models before it, gives the models after
it — naming only services that did change.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.models.k8s_codec import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSlice,
    EndpointSubset,
    Protocol,
    Service,
    ServicePort,
    SliceEndpoint,
)
from contivpy.services.book import ServiceBook, ServiceChanges
from contivpy.services.model import ContivService, IPAddress, LocalNode
from contivpy.services.processor import JoinRules, join_all

ip = ipaddress.ip_address
net = ipaddress.ip_network

RULES = JoinRules(cluster_pod_subnets=(net("10.1.0.0/16"), net("fd00:1::/48")))
LOCAL = LocalNode(pod_subnets=(net("10.1.1.0/24"),), ips=frozenset({ip("192.168.16.1")}))


def service(name: str, **fields: object) -> Service:
    fields.setdefault("ports", [ServicePort(name="http", port=80)])
    fields.setdefault("cluster_ip", "10.96.0.1")
    return Service(name=name, namespace="default", **fields)  # type: ignore[arg-type]


def endpoints(name: str, *ips: str, port: int = 8080) -> Endpoints:
    return Endpoints(
        name=name,
        namespace="default",
        subsets=[
            EndpointSubset(
                addresses=[EndpointAddress(ip=a) for a in ips],
                ports=[EndpointPort(name="http", port=port)],
            )
        ],
    )


def loaded_book(count: int, rules: JoinRules = RULES) -> ServiceBook:
    book = ServiceBook(rules, LOCAL)
    book.reset(
        [service(f"s{i}") for i in range(count)],
        [endpoints(f"s{i}", f"10.1.2.{i % 250 + 1}") for i in range(count)],
        LOCAL,
        {"n1": frozenset({ip("192.168.16.1")})},
    )
    return book


# -- examples -------------------------------------------------------------------------------


def test_an_endpoint_added_changes_that_service_only() -> None:
    book = loaded_book(50)
    before = book.models["default/s7"]
    changes = book.put_endpoints(endpoints("s7", "10.1.2.8", "10.1.1.9"))
    assert set(changes.updated) == {"default/s7"}
    assert not changes.added
    assert not changes.removed
    assert changes.node_ips is None
    old, new = changes.updated["default/s7"]
    assert old == before
    assert [(str(b.ip), b.local) for b in new.backends["http"]] == [
        ("10.1.1.9", True),
        ("10.1.2.8", False),
    ]
    assert not book.put_endpoints(endpoints("s7", "10.1.2.8", "10.1.1.9"))  # nothing new


def test_services_and_endpoints_arrive_in_any_order() -> None:
    book = ServiceBook(RULES, LOCAL)
    assert not book.put_endpoints(endpoints("web", "10.1.2.5"))  # no Service yet
    added = book.put_service(service("web")).added["default/web"]
    assert [str(b.ip) for b in added.backends["http"]] == ["10.1.2.5"]
    assert book.remove_endpoints("default", "web").updated["default/web"][1].backends == {
        "http": ()
    }
    assert set(book.remove_service("default", "web").removed) == {"default/web"}
    assert book.models == {}


def endpoint_slice(name: str, service_name: str, *ips: str, port: int = 8080) -> EndpointSlice:
    return EndpointSlice(
        name=name,
        namespace="default",
        service_name=service_name,
        address_type="IPv4",
        endpoints=[SliceEndpoint(addresses=[a], ready=True) for a in ips],
        ports=[EndpointPort(name="http", port=port)],
    )


def test_slices_and_endpoints_of_one_service_do_not_make_it_flap() -> None:
    book = loaded_book(3)
    assert [str(b.ip) for b in book.models["default/s1"].backends["http"]] == ["10.1.2.2"]
    # the controller's slice says what the Endpoints say: nothing changes
    assert not book.put_slice(endpoint_slice("s1-abc", "s1", "10.1.2.2"))
    # an endpoint added: the slice and the Endpoints both follow, one change only
    changes = book.put_slice(endpoint_slice("s1-abc", "s1", "10.1.2.2", "10.1.2.9"))
    assert set(changes.updated) == {"default/s1"}
    assert not book.put_endpoints(endpoints("s1", "10.1.2.2", "10.1.2.9"))
    # a stale or lagging Endpoints no longer moves it
    assert not book.put_endpoints(endpoints("s1", "10.1.2.2"))
    assert not book.remove_endpoints("default", "s1")
    # a second slice adds to the first; the last slice gone: back to no Endpoints, no backends
    changes = book.put_slice(endpoint_slice("s1-def", "s1", "10.1.2.9", "10.1.3.3"))
    assert [str(b.ip) for b in changes.updated["default/s1"][1].backends["http"]] == [
        "10.1.2.2",
        "10.1.2.9",
        "10.1.3.3",
    ]
    book.remove_slice("default", "s1-abc")
    changes = book.remove_slice("default", "s1-def")
    assert changes.updated["default/s1"][1].backends == {"http": ()}
    assert set(changes.updated) == {"default/s1"}


def test_a_slice_moved_to_another_service_changes_both() -> None:
    book = loaded_book(3)
    book.put_slice(endpoint_slice("x", "s1", "10.1.3.3"))
    changes = book.put_slice(endpoint_slice("x", "s2", "10.1.3.4"))
    assert set(changes.updated) == {"default/s1", "default/s2"}
    # s1 has no slice left: its Endpoints give its backends again
    assert [str(b.ip) for b in book.models["default/s1"].backends["http"]] == ["10.1.2.2"]
    assert [str(b.ip) for b in book.models["default/s2"].backends["http"]] == ["10.1.3.4"]


def test_this_nodes_new_ip_at_a_slice_backend_rejoins_its_service() -> None:
    book = loaded_book(3)
    book.put_slice(endpoint_slice("s2-abc", "s2", "192.168.16.9"))
    changes = book.set_local(LocalNode(LOCAL.pod_subnets, LOCAL.ips | {ip("192.168.16.9")}))
    assert set(changes.updated) == {"default/s2"}
    assert book.models["default/s2"].backends["http"][0].local


def test_a_node_ip_makes_its_backends_host_network_and_is_a_node_port_frontend() -> None:
    book = loaded_book(20, JoinRules())  # cluster pod subnets unknown: node IPs decide
    book.put_endpoints(endpoints("s3", "192.168.16.2"))
    assert not book.models["default/s3"].backends["http"][0].host_network
    changes = book.put_node("n2", frozenset({ip("192.168.16.2"), ip("10.20.0.2")}))
    assert changes.node_ips == frozenset({ip("192.168.16.1"), ip("192.168.16.2"), ip("10.20.0.2")})
    assert set(changes.updated) == {"default/s3"}
    assert changes.updated["default/s3"][1].backends["http"][0].host_network
    # an IP no backend has changes the NodePort frontends only
    changes = book.put_node("n2", frozenset({ip("192.168.16.2")}))
    assert changes.node_ips == frozenset({ip("192.168.16.1"), ip("192.168.16.2")})
    assert not changes.updated
    assert book.remove_node("n2").updated["default/s3"][1].backends["http"][0].host_network is (
        False
    )
    assert book.node_ips == {ip("192.168.16.1")}


def test_an_ip_two_nodes_share_stays_until_both_drop_it() -> None:
    book = ServiceBook(RULES, LOCAL)
    shared = frozenset({ip("10.0.0.100")})
    assert book.put_node("a", shared).node_ips == shared
    assert book.put_node("b", shared).node_ips is None
    assert book.remove_node("a").node_ips is None
    assert book.remove_node("b").node_ips == frozenset()


def test_this_nodes_pod_subnet_decides_which_backends_are_local() -> None:
    book = loaded_book(5)
    assert not any(b.local for m in book.models.values() for b in m.backends["http"])
    changes = book.set_local(LocalNode(pod_subnets=(net("10.1.2.0/24"),), ips=LOCAL.ips))
    assert set(changes.updated) == set(book.models)
    assert all(b.local for m in book.models.values() for b in m.backends["http"])


def test_this_nodes_ips_make_backends_there_local() -> None:
    book = loaded_book(5)
    book.put_endpoints(endpoints("s1", "192.168.16.9"))
    changes = book.set_local(
        LocalNode(pod_subnets=LOCAL.pod_subnets, ips=frozenset({ip("192.168.16.9")}))
    )
    assert set(changes.updated) == {"default/s1"}
    backend = changes.updated["default/s1"][1].backends["http"][0]
    assert backend.local
    assert backend.host_network


def test_a_refused_service_keeps_its_problem_and_the_others_keep_working() -> None:
    book = loaded_book(3)
    bad = service("s1", ports=[ServicePort(name="http", port=70000)])
    changes = book.put_service(bad)
    assert set(changes.removed) == {"default/s1"}
    assert changes.problems == {
        "default/s1": ("Service default/s1 spec.ports[0].port: 70000 is out of range 1..65535",)
    }
    assert set(book.models) == {"default/s0", "default/s2"}
    assert book.put_endpoints(endpoints("s0", "10.1.2.77")).updated
    fixed = book.put_service(service("s1"))
    assert set(fixed.added) == {"default/s1"}
    assert fixed.problems == {"default/s1": ()}
    assert book.problems == {}


def test_a_resync_reports_what_differs_from_before() -> None:
    book = loaded_book(3)
    models = dict(book.models)
    changes = book.reset(
        [service("s0"), service("s1", external_traffic_policy="Local"), service("s9")],
        [endpoints("s0", "10.1.2.1")],
        LOCAL,
        {"n1": frozenset({ip("192.168.16.1")})},
    )
    assert set(changes.added) == {"default/s9"}
    assert set(changes.updated) == {"default/s1"}
    assert set(changes.removed) == {"default/s2"}
    assert changes.node_ips is None
    assert changes.applied_to(models) == book.models


def test_ten_thousand_services_and_an_endpoint_change_names_one() -> None:
    book = loaded_book(10_000)
    assert len(book.models) == 10_000
    changes = book.put_endpoints(endpoints("s4321", "10.1.1.4", "10.1.2.4", "10.1.3.4"))
    assert set(changes.updated) == {"default/s4321"}
    changes = book.remove_endpoints("default", "s4321")
    assert set(changes.updated) == {"default/s4321"}


# -- the property ---------------------------------------------------------------------------

NAMES = ("s1", "s2")
NODES = ("n1", "n2", "n3")
# pod IPs here and on other nodes, node IPs, IPv6, outside the cluster, and not an IP at all
ADDRESSES = (
    "10.1.1.5",
    "10.1.2.5",
    "10.1.3.5",
    "192.168.16.1",
    "192.168.16.2",
    "fd00:1:1::5",
    "203.0.113.9",
    "bogus",
)
NODE_IPS = tuple(ip(a) for a in ADDRESSES[:6])
SUBNETS = (net("10.1.1.0/24"), net("10.1.2.0/24"), net("fd00:1:1::/64"))
PORT_NAMES = ("http", "dns", "")


def mostly(usual: object, *rare: object) -> st.SearchStrategy[Any]:
    """``usual`` five times in six, else one of ``rare`` (bad input, edge cases): sequences
    of mostly valid objects, so changes meet joined services often."""
    return st.sampled_from((usual,) * 5 + rare)


#: port name -> its protocol, port and NodePort when valid
PORTS = {
    "http": (Protocol.TCP, 80, 30080),
    "dns": (Protocol.UDP, 53, 30081),
    "": (Protocol.TCP, 8, 30082),
}


@st.composite
def service_ports(draw: st.DrawFn, name: str) -> ServicePort:
    protocol, port, node_port = PORTS[name]
    return ServicePort(
        name=name,
        protocol=draw(mostly(protocol, Protocol.UDP, Protocol.TCP)),
        port=draw(mostly(port, 0, 53)),
        node_port=draw(mostly(node_port, 0, 22, 30080)),
    )


@st.composite
def services(draw: st.DrawFn, name: str = "") -> Service:
    names = draw(mostly(("http",), ("http", "dns"), ("",), (), ("dns", ""), ("http", "http")))
    return Service(
        name=name or draw(st.sampled_from(NAMES)),
        namespace="default",
        ports=[draw(service_ports(name)) for name in names],
        service_type=draw(mostly("ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "X")),
        cluster_ip=draw(mostly("10.96.0.1", "None", "fd00:96::1", "bad")),
        external_ips=draw(st.lists(st.sampled_from(("203.0.113.5", "2001:db8::5")), max_size=2)),
        lb_ingress_ips=draw(st.lists(st.sampled_from(("198.51.100.1", "x")), max_size=1)),
        external_traffic_policy=draw(mostly("", "Cluster", "Local", "Global")),
        session_affinity=draw(mostly("", "None", "ClientIP")),
        session_affinity_timeout=draw(mostly(0, 60, 100000)),
    )


@st.composite
def endpoint_ports(draw: st.DrawFn) -> EndpointPort:
    name = draw(mostly("http", "dns", ""))
    protocol, port, _ = PORTS[name]
    return EndpointPort(
        name=name,
        port=draw(mostly(port + 8000, port + 9000, 0)),
        protocol=draw(mostly(protocol, Protocol.UDP, Protocol.TCP)),
    )


@st.composite
def endpoints_objects(draw: st.DrawFn, name: str = "") -> Endpoints:
    address = st.sampled_from(ADDRESSES).map(lambda a: EndpointAddress(ip=a))
    addresses = st.lists(address, min_size=1, max_size=3)
    subsets = st.builds(
        EndpointSubset,
        addresses=addresses,
        not_ready_addresses=st.lists(address, max_size=2),
        ports=st.lists(endpoint_ports(), min_size=1, max_size=2),
    )
    return Endpoints(
        name=name or draw(st.sampled_from(NAMES)),
        namespace="default",
        subsets=draw(st.lists(subsets, min_size=1, max_size=2)),
    )


SLICE_NAMES = ("a-1", "a-2", "b-1")


@st.composite
def slice_objects(draw: st.DrawFn, name: str = "") -> EndpointSlice:
    endpoint = st.builds(
        SliceEndpoint,
        addresses=st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=2),
        ready=st.sampled_from((True, True, None, False)),
    )
    return EndpointSlice(
        name=name or draw(st.sampled_from(SLICE_NAMES)),
        namespace="default",
        service_name=draw(mostly(NAMES[0], *NAMES[1:], "")),
        address_type=draw(mostly("IPv4", "IPv6", "FQDN")),
        endpoints=draw(st.lists(endpoint, max_size=3)),
        ports=draw(st.lists(endpoint_ports(), min_size=1, max_size=2)),
    )


local_nodes = st.builds(
    LocalNode,
    pod_subnets=st.lists(st.sampled_from(SUBNETS), max_size=2, unique=True).map(tuple),
    ips=st.frozensets(st.sampled_from(NODE_IPS), max_size=2),
)
node_ip_sets = st.frozensets(st.sampled_from(NODE_IPS), max_size=3)


@dataclass
class World:
    """The objects as they are now (what a from-scratch join reads)."""

    services: dict[str, Service] = field(default_factory=dict)
    endpoints: dict[str, Endpoints] = field(default_factory=dict)
    slices: dict[str, EndpointSlice] = field(default_factory=dict)
    local: LocalNode = LOCAL
    nodes: dict[str, frozenset[IPAddress]] = field(default_factory=dict)


Step = Callable[[ServiceBook, World], ServiceChanges]


def put_service(svc: Service) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.services[svc.name] = svc
        return book.put_service(svc)

    return step


def remove_service(name: str) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.services.pop(name, None)
        return book.remove_service("default", name)

    return step


def put_endpoints(eps: Endpoints) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.endpoints[eps.name] = eps
        return book.put_endpoints(eps)

    return step


def remove_endpoints(name: str) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.endpoints.pop(name, None)
        return book.remove_endpoints("default", name)

    return step


def put_slice(one: EndpointSlice) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.slices[one.name] = one
        return book.put_slice(one)

    return step


def remove_slice(name: str) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.slices.pop(name, None)
        return book.remove_slice("default", name)

    return step


def set_local(local: LocalNode) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.local = local
        return book.set_local(local)

    return step


def put_node(name: str, ips: frozenset[IPAddress]) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        if ips:
            world.nodes[name] = ips
        else:
            world.nodes.pop(name, None)
        return book.put_node(name, ips)

    return step


def remove_node(name: str) -> Step:
    def step(book: ServiceBook, world: World) -> ServiceChanges:
        world.nodes.pop(name, None)
        return book.remove_node(name)

    return step


def resync(book: ServiceBook, world: World) -> ServiceChanges:
    return book.reset(
        world.services.values(),
        world.endpoints.values(),
        world.local,
        dict(world.nodes),
        world.slices.values(),
    )


steps = st.one_of(
    services().map(put_service),
    st.sampled_from(NAMES).map(remove_service),
    endpoints_objects().map(put_endpoints),
    st.sampled_from(NAMES).map(remove_endpoints),
    slice_objects().map(put_slice),
    st.sampled_from(SLICE_NAMES).map(remove_slice),
    local_nodes.map(set_local),
    st.tuples(st.sampled_from(NODES), node_ip_sets).map(lambda t: put_node(*t)),
    st.sampled_from(NODES).map(remove_node),
    st.just(resync),
)


def all_node_ips(world: World) -> frozenset[IPAddress]:
    return frozenset().union(*world.nodes.values())


def check_exact(
    changes: ServiceChanges,
    before: dict[str, ContivService],
    after: dict[str, ContivService],
    problems_before: dict[str, tuple[str, ...]],
    problems_after: dict[str, tuple[str, ...]],
) -> None:
    assert changes.applied_to(before) == after
    for service_id in changes.added:
        assert service_id not in before
    for service_id, (old, new) in changes.updated.items():
        assert before[service_id] == old
        assert old != new
    for service_id, old in changes.removed.items():
        assert before[service_id] == old
        assert service_id not in after
    mentioned = changes.added.keys() | changes.updated.keys() | changes.removed.keys()
    for service_id in before.keys() | after.keys():
        if service_id not in mentioned:
            assert before.get(service_id) == after.get(service_id)
    for service_id in problems_before.keys() | problems_after.keys():
        now = problems_after.get(service_id, ())
        if problems_before.get(service_id, ()) != now:
            assert changes.problems[service_id] == now
        else:
            assert service_id not in changes.problems


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A cluster to start from: most names have a Service and an Endpoints, every node IPs."""
    return World(
        services={n: draw(services(n)) for n in NAMES if draw(mostly(True, False))},
        endpoints={n: draw(endpoints_objects(n)) for n in NAMES if draw(mostly(True, False))},
        slices={n: draw(slice_objects(n)) for n in SLICE_NAMES if draw(mostly(False, True))},
        local=draw(local_nodes),
        nodes={n: ips for n in NODES if (ips := draw(node_ip_sets))},
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.lists(steps, min_size=1, max_size=15))
def test_incremental_models_equal_a_join_from_scratch(start: World, sequence: list[Step]) -> None:
    book = ServiceBook(RULES, LOCAL)
    world = start  # the first step (a resync) takes the book from empty to it
    for step in [resync, *sequence]:
        before, problems_before = dict(book.models), dict(book.problems)
        node_ips_before = book.node_ips
        changes = step(book, world)
        models, problems = join_all(
            world.services.values(),
            world.endpoints.values(),
            world.local,
            all_node_ips(world),
            RULES,
            world.slices.values(),
        )
        assert book.models == models
        assert book.problems == problems
        assert book.node_ips == all_node_ips(world)
        check_exact(changes, before, book.models, problems_before, book.problems)
        if book.node_ips != node_ips_before:
            assert changes.node_ips == book.node_ips
        else:
            assert changes.node_ips is None
