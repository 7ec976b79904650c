"""VRF tables, routes, static neighbours and proxy ARP against VPP (the simulator, or a real
VPP), read back through the API.

Each: create -> VPP holds it and retrieve gives back the desired value -> change -> delete;
validation naming the field. Routes: every path kind, two paths of one destination, and
retrieve leaving out what VPP installs by itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import pytest

from contivpy.models.vpp_interfaces import Interface, InterfaceType
from contivpy.models.vpp_keys import (
    PROXY_ARP_GLOBAL_KEY,
    arp_key,
    interface_key,
    route_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import (
    IPNeighbor,
    IpProtocol,
    ProxyARP,
    ProxyARPRange,
    Route,
    RouteType,
    VrfTable,
)
from contivpy.scheduler import OpKind, Txn, ValueState
from contivpy.vppcalls import loopback, neighbors, routes, vrf
from contivpy.vppcalls.routes import SOURCE_API
from descriptors.harness import Agent
from vpp_target.snapshot import VppSnapshot

pytestmark = pytest.mark.vpp

LO = Interface("lo", InterfaceType.LOOPBACK, ip_addresses=("10.0.0.1/24", "2001:db8::1/64"))
LO_RED = Interface("lo-red", InterfaceType.LOOPBACK, vrf=1, ip_addresses=("10.1.0.1/24",))
TABLES = {
    vrf_table_key(1, IpProtocol.IPV4): VrfTable(1, label="red"),
    vrf_table_key(1, IpProtocol.IPV6): VrfTable(1, IpProtocol.IPV6),
}
BASE: dict[str, object] = {
    interface_key("lo"): LO,
    interface_key("lo-red"): LO_RED,
    **TABLES,
}


def _route(route: Route) -> dict[str, object]:
    key = route_key(route.vrf, route.dst_network, route.next_hop, route.outgoing_interface)
    return {key: route}


ROUTES: dict[str, object] = {
    **_route(Route("192.168.0.0/16", next_hop="10.0.0.2", outgoing_interface="lo")),
    **_route(Route("192.168.0.0/16", next_hop="10.0.0.3", outgoing_interface="lo", weight=3)),
    **_route(Route("172.16.0.0/12", vrf=1, next_hop="10.1.0.2")),
    **_route(Route("2001:db8:1::/48", next_hop="2001:db8::2", outgoing_interface="lo")),
    **_route(Route("198.51.100.0/24", type=RouteType.DROP)),
    **_route(Route("203.0.113.0/24", vrf=1, via_vrf=0, type=RouteType.INTER_VRF)),
    **_route(Route("100.64.0.0/10", via_vrf=1, next_hop="10.1.0.9", type=RouteType.INTER_VRF)),
}


async def _retrieve(agent: Agent, name: str, correlate: Mapping[str, object]) -> dict[str, object]:
    descriptor = agent.scheduler.registry.get(name)
    assert descriptor is not None
    return {r.key: r.value for r in await descriptor.retrieve(correlate)}


def _table_name(snapshot: VppSnapshot, table_id: int) -> str:
    (table,) = (t for t in snapshot.tables if (t.table_id, t.ipv6) == (table_id, False))
    return table.name


def _api_routes(snapshot: VppSnapshot, table_id: int, prefix: str = "") -> list[routes.Route]:
    """The IPv4 routes the API made in one table (of one prefix, if given)."""
    return [
        r
        for r in snapshot.routes_in(table_id)
        if r.source == SOURCE_API and (not prefix or r.prefix == ipaddress.ip_network(prefix))
    ]


async def test_vrf_tables(agent: Agent) -> None:
    scheduler = agent.scheduler
    assert (await scheduler.commit(Txn(dict(TABLES)))).ok
    assert await agent.mismatches(TABLES) == []
    assert _table_name(await agent.snapshot(), 1) == "red"
    assert await _retrieve(agent, "vpp-vrf-table", TABLES) == TABLES
    key = vrf_table_key(1, IpProtocol.IPV4)
    result = await scheduler.commit(Txn({key: VrfTable(1, label="blue")}))
    assert [(op.op, op.recreate) for op in result.record.executed] == [
        (OpKind.DELETE, True),
        (OpKind.CREATE, True),
    ]
    assert _table_name(await agent.snapshot(), 1) == "blue"
    assert (await scheduler.commit(Txn(dict.fromkeys(TABLES)))).ok
    assert await agent.mismatches({}) == []


async def test_routes_of_every_kind(agent: Agent) -> None:
    scheduler = agent.scheduler
    desired = {**BASE, **ROUTES}
    result = await scheduler.commit(Txn(desired))
    assert result.ok, result.record.errors
    assert await agent.mismatches(desired) == []
    # two paths of one destination are one VPP route
    (two,) = _api_routes(await agent.snapshot(), 0, "192.168.0.0/16")
    assert len(two.paths) == 2
    # retrieve: exactly our routes, VPP's own (connected, local, special drops) left out
    assert await _retrieve(agent, "vpp-route", ROUTES) == ROUTES
    found = await _retrieve(agent, "vpp-route", {})
    assert set(found) == set(ROUTES)

    one = next(iter(ROUTES))
    result = await scheduler.commit(Txn({one: None}))
    assert result.ok
    assert await agent.mismatches({k: v for k, v in desired.items() if k != one}) == []
    assert (await scheduler.commit(Txn(dict.fromkeys(ROUTES)))).ok
    assert _api_routes(await agent.snapshot(), 0) == []


async def test_a_route_waits_for_its_interface_and_tables(agent: Agent) -> None:
    scheduler = agent.scheduler
    route = Route("203.0.113.0/24", vrf=1, via_vrf=2, type=RouteType.INTER_VRF)
    (key,) = _route(route)
    await scheduler.commit(Txn({key: route}))
    status = scheduler.status(key)
    assert status.state is ValueState.PENDING
    assert vrf_table_key(1, IpProtocol.IPV4) in status.details
    assert vrf_table_key(2, IpProtocol.IPV4) in status.details
    tables = {vrf_table_key(i, IpProtocol.IPV4): VrfTable(i) for i in (1, 2)}
    assert (await scheduler.commit(Txn(tables))).ok
    assert scheduler.status(key).state is ValueState.CONFIGURED
    assert await agent.mismatches({key: route, **tables}) == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (Route("10.0.0.1/24", next_hop="1.1.1.1"), "dst_network: not an IP network"),
        (Route("10.0.0.0/24"), "next_hop: an INTRA_VRF route needs"),
        (Route("10.0.0.0/24", next_hop="2001::1"), "next_hop: not of the destination's"),
        (Route("10.0.0.0/24", next_hop="1.1.1.1", weight=0), "weight: must be 1..255"),
        (Route("10.0.0.0/24", type=RouteType.INTER_VRF), "via_vrf: an INTER_VRF route needs"),
        (Route("10.0.0.0/24", next_hop="1.1.1.1", type=RouteType.DROP), "type: a DROP route"),
        (Route("10.0.0.0/24", next_hop="1.1.1.1", via_vrf=3), "via_vrf: only for INTER_VRF"),
    ],
)
async def test_route_validation(agent: Agent, route: Route, message: str) -> None:
    key = f"config/vpp/v2/route/vrf/0/dst/{route.dst_network}/gw/{route.next_hop}"
    await agent.scheduler.commit(Txn({key: route}))
    status = agent.scheduler.status(key)
    assert status.state is ValueState.INVALID
    assert status.details.startswith(message), status.details


async def test_arp_entries(agent: Agent) -> None:
    scheduler = agent.scheduler
    entries: dict[str, object] = {
        arp_key("lo", "10.0.0.9"): IPNeighbor("lo", "10.0.0.9", "02:00:00:00:00:09"),
        arp_key("lo", "2001:db8::9"): IPNeighbor("lo", "2001:db8::9", "02:00:00:00:00:0A"),
    }
    desired = {**BASE, **entries}
    assert (await scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    assert await _retrieve(agent, "vpp-arp", entries) == entries

    key = arp_key("lo", "10.0.0.9")
    moved = IPNeighbor("lo", "10.0.0.9", "02:00:00:00:00:19")
    result = await scheduler.commit(Txn({key: moved}))
    assert [op.op for op in result.record.executed] == [OpKind.UPDATE]
    desired[key] = moved
    assert await agent.mismatches(desired) == []

    # an entry VPP learnt (dynamic, as one learnt from traffic is) is not ours
    learnt = ipaddress.ip_address("10.0.0.77")
    lo_index = (await agent.snapshot()).by_tag("lo").sw_if_index
    dynamic = neighbors.IpNeighbor(lo_index, learnt, "02:02:02:02:02:02", static=False)
    await neighbors.add_neighbor(agent.client, dynamic)
    assert set(await _retrieve(agent, "vpp-arp", {})) == set(entries)
    assert await agent.mismatches(desired) == []
    assert (await scheduler.commit(Txn(dict.fromkeys(entries)))).ok
    assert {n.ip for n in (await agent.snapshot()).neighbors} == {learnt}


async def test_arp_validation(agent: Agent) -> None:
    key = arp_key("lo", "10.0.0.9")
    await agent.scheduler.commit(Txn({key: IPNeighbor("lo", "10.0.0.9", "nope")}))
    assert agent.scheduler.status(key).details.startswith("phys_address: not a MAC address")


async def test_proxy_arp(agent: Agent) -> None:
    scheduler = agent.scheduler
    proxy = ProxyARP(
        ranges=(ProxyARPRange("10.0.0.10", "10.0.0.20"), ProxyARPRange("10.1.0.5", "10.1.0.6", 1)),
        interfaces=("lo", "lo-red"),
    )
    desired = {**BASE, PROXY_ARP_GLOBAL_KEY: proxy}
    assert (await scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    assert await _retrieve(agent, "vpp-proxy-arp", desired) == {PROXY_ARP_GLOBAL_KEY: proxy}

    changed = ProxyARP(ranges=(ProxyARPRange("10.0.0.10", "10.0.0.30"),), interfaces=("lo",))
    result = await scheduler.commit(Txn({PROXY_ARP_GLOBAL_KEY: changed}))
    assert result.ok
    assert {op.op for op in result.record.executed if op.key == PROXY_ARP_GLOBAL_KEY} == {
        OpKind.UPDATE
    }
    desired[PROXY_ARP_GLOBAL_KEY] = changed
    assert await agent.mismatches(desired) == []

    assert (await scheduler.commit(Txn({PROXY_ARP_GLOBAL_KEY: None}))).ok
    snapshot = await agent.snapshot()
    assert (snapshot.proxy_arp_ranges, snapshot.proxy_arp_interfaces) == ([], [])
    assert await _retrieve(agent, "vpp-proxy-arp", {}) == {}


async def test_proxy_arp_validation(agent: Agent) -> None:
    bad = ProxyARP(ranges=(ProxyARPRange("10.0.0.9", "10.0.0.1"),))
    await agent.scheduler.commit(Txn({PROXY_ARP_GLOBAL_KEY: bad}))
    details = agent.scheduler.status(PROXY_ARP_GLOBAL_KEY).details
    assert details.startswith("ranges[0].last_ip: comes before first_ip")


async def test_proxy_arp_waiting_for_its_table_is_not_found_in_vpp(agent: Agent) -> None:
    proxy = ProxyARP(ranges=(ProxyARPRange("10.5.0.1", "10.5.0.9", 5),), interfaces=("lo",))
    desired = {interface_key("lo"): LO, PROXY_ARP_GLOBAL_KEY: proxy}
    await agent.scheduler.commit(Txn(desired))
    assert agent.scheduler.status(PROXY_ARP_GLOBAL_KEY).state is ValueState.PENDING
    assert (await agent.scheduler.dry_run_downstream()).planned == ()
    assert (await agent.scheduler.dry_run(Txn(desired, full=True))).planned == ()
    table = {vrf_table_key(5, IpProtocol.IPV4): VrfTable(5)}
    assert (await agent.scheduler.commit(Txn(table))).ok
    assert await agent.mismatches({**desired, **table}) == []


async def test_routes_vpp_owns_are_never_taken_for_ours(agent: Agent) -> None:
    # an admin-up interface: VPP adds connected, local, network and broadcast drop routes;
    # a static neighbour: VPP adds a /32 via the interface to it; IPv6: fe80::/10
    up = Interface("up", InterfaceType.LOOPBACK, ip_addresses=("10.9.0.1/24", "2001:db9::1/64"))
    neighbour = IPNeighbor("up", "10.9.0.7", "02:00:00:00:00:07")
    route = Route("10.99.0.0/16", next_hop="10.9.0.7", outgoing_interface="up")
    # the same prefix as VPP's connected route: VPP forwards (and dumps) the interface's
    connected = Route("10.9.0.0/24", outgoing_interface="up")
    ours = {**_route(route), **_route(connected)}
    desired: dict[str, object] = {
        interface_key("up"): up,
        arp_key("up", "10.9.0.7"): neighbour,
        **ours,
    }
    assert (await agent.scheduler.resync_full(desired)).ok
    vpp_own = {
        str(r.prefix)
        for r in await _dump_all(agent)
        if r.source != SOURCE_API and str(r.prefix).startswith(("10.9.", "fe80"))
    }
    assert vpp_own == {
        "10.9.0.0/24",
        "10.9.0.0/32",
        "10.9.0.1/32",
        "10.9.0.7/32",
        "10.9.0.255/32",
        "fe80::/10",
    }
    assert await _retrieve(agent, "vpp-route", desired) == ours
    before = agent.channel.writes
    result = await agent.scheduler.resync_full(desired)
    assert result.ok
    assert (agent.channel.writes - before, result.writes) == (0, 0)
    assert {
        str(r.prefix) for r in await _dump_all(agent) if str(r.prefix).startswith("10.9.")
    } >= vpp_own - {"fe80::/10"}


async def _dump_all(agent: Agent) -> list[routes.Route]:
    return [
        r
        for table in await vrf.dump_vrf_tables(agent.client)
        for r in await routes.dump_routes(agent.client, table.table_id, table.ipv6)
    ]


async def test_a_route_through_an_interface_deleted_behind_our_back_is_removed(
    agent: Agent,
) -> None:
    gone = Interface("gone", InterfaceType.LOOPBACK, ip_addresses=("10.8.0.1/24",))
    route = Route("10.88.0.0/16", next_hop="10.8.0.2", outgoing_interface="gone")
    other = Route("10.88.0.0/16", next_hop="10.0.0.2", outgoing_interface="lo")
    desired: dict[str, object] = {
        **BASE,
        interface_key("gone"): gone,
        **_route(route),
        **_route(other),
    }
    assert (await agent.scheduler.resync_full(desired)).ok
    index = (await agent.snapshot()).by_tag("gone").sw_if_index
    # deleted by hand: VPP keeps the route's path through it
    await loopback.delete_loopback(agent.client, index)
    del desired[interface_key("gone")]
    del desired[next(iter(_route(route)))]
    result = await agent.scheduler.resync_full(desired)
    assert result.ok, result.record.errors
    assert await agent.mismatches(desired) == []
    ((left,),) = (r.paths for r in _api_routes(await agent.snapshot(), 0, "10.88.0.0/16"))
    assert left.next_hop == ipaddress.ip_address("10.0.0.2")
