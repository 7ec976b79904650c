"""Contract of the IP calls against the simulator: VRFs, interface VRF binding, addresses,
unnumbered, routes, neighbours, proxy ARP."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.vppcalls import interface_ip, interfaces, loopback, neighbors, proxy_arp, routes, vrf
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.routes import (
    SOURCE_ADJ,
    SOURCE_API,
    SOURCE_DEFAULT_ROUTE,
    SOURCE_INTERFACE,
    SOURCE_SPECIAL,
    PathType,
    Route,
    RoutePath,
)
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp

ip4 = ipaddress.ip_address
net = ipaddress.ip_network
addr = ipaddress.ip_interface


async def _loop(vpp: VppClient) -> int:
    return await loopback.create_loopback(vpp, loopback.LoopbackSpec())


async def test_vrf_tables_create_read_back_and_delete(vpp: VppClient) -> None:
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10, name="pods"))
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10, ipv6=True, name="pods6"))
    tables = await vrf.dump_vrf_tables(vpp)
    assert vrf.VrfTable(0, False, "ipv4-VRF:0") in tables
    assert vrf.VrfTable(10, False, "pods") in tables
    assert vrf.VrfTable(10, True, "pods6") in tables
    await vrf.delete_vrf_table(vpp, vrf.VrfTable(10))
    await vrf.delete_vrf_table(vpp, vrf.VrfTable(10))  # deleting a missing table is accepted
    assert vrf.VrfTable(10, False, "pods") not in await vrf.dump_vrf_tables(vpp)


async def test_interface_vrf_needs_the_table_and_no_addresses(vpp: VppClient) -> None:
    index = await _loop(vpp)
    with pytest.raises(VppApiError, match="NO_SUCH_FIB") as missing:
        await interface_ip.set_interface_vrf(vpp, index, 10, ipv6=False)
    assert missing.value.retval == -3
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    await interface_ip.set_interface_vrf(vpp, index, 10, ipv6=False)
    assert await interface_ip.get_interface_vrf(vpp, index, ipv6=False) == 10
    assert await interface_ip.get_interface_vrf(vpp, index, ipv6=True) == 0

    await interface_ip.add_address(vpp, index, addr("10.10.0.1/24"))
    await vrf.add_vrf_table(vpp, vrf.VrfTable(20))
    with pytest.raises(VppApiError, match="ADDRESS_FOUND_FOR_INTERFACE"):
        await interface_ip.set_interface_vrf(vpp, index, 20, ipv6=False)


async def test_one_address_on_two_interfaces_in_two_tables_is_accepted(vpp: VppClient) -> None:
    # An L3 CustomNetwork's vxlanBVI-<net> takes the default network's BVI address (and MAC)
    # in the network's own VRF: VPP checks address conflicts within a table only.
    first, second = await _loop(vpp), await _loop(vpp)
    await vrf.add_vrf_table(vpp, vrf.VrfTable(1))
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    await interface_ip.set_interface_vrf(vpp, first, 1, ipv6=False)
    await interface_ip.set_interface_vrf(vpp, second, 10, ipv6=False)
    await interface_ip.add_address(vpp, first, addr("192.168.30.1/24"))
    await interface_ip.add_address(vpp, second, addr("192.168.30.1/24"))
    for index in (first, second):
        assert await interface_ip.dump_addresses(vpp, index, ipv6=False) == [
            addr("192.168.30.1/24")
        ]


async def test_a_table_bound_to_an_interface_outlives_its_api_delete(vpp: VppClient) -> None:
    index = await _loop(vpp)
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    await interface_ip.set_interface_vrf(vpp, index, 10, ipv6=False)
    await vrf.delete_vrf_table(vpp, vrf.VrfTable(10))
    assert 10 in {t.table_id for t in await vrf.dump_vrf_tables(vpp) if not t.ipv6}
    await interface_ip.set_interface_vrf(vpp, index, 0, ipv6=False)
    assert 10 not in {t.table_id for t in await vrf.dump_vrf_tables(vpp) if not t.ipv6}


async def test_addresses_read_back_in_order_and_delete(vpp: VppClient) -> None:
    index = await _loop(vpp)
    for a in ("10.1.1.1/24", "10.1.2.1/24", "fd00::1/64"):
        await interface_ip.add_address(vpp, index, addr(a))
    assert await interface_ip.dump_addresses(vpp, index, ipv6=False) == [
        addr("10.1.1.1/24"),
        addr("10.1.2.1/24"),
    ]
    assert await interface_ip.dump_addresses(vpp, index, ipv6=True) == [addr("fd00::1/64")]
    # VPP's overlap check meets the address itself first: ADDRESS_IN_USE, not DUPLICATE_…
    with pytest.raises(VppApiError) as again:
        await interface_ip.add_address(vpp, index, addr("10.1.1.1/24"))
    assert again.value.retval == Retval.ADDRESS_IN_USE == -105
    other = await _loop(vpp)
    with pytest.raises(VppApiError, match="ADDRESS_IN_USE"):
        await interface_ip.add_address(vpp, other, addr("10.1.1.9/24"))
    await interface_ip.delete_address(vpp, index, addr("10.1.2.1/24"))
    with pytest.raises(VppApiError, match="ADDRESS_NOT_FOUND_FOR_INTERFACE"):
        await interface_ip.delete_address(vpp, index, addr("10.1.2.1/24"))
    assert await interface_ip.dump_addresses(vpp, index, ipv6=False) == [addr("10.1.1.1/24")]


async def test_unnumbered_needs_the_same_tables_and_moves_nothing(
    vpp: VppClient, target: VppTarget
) -> None:
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    source = await _loop(vpp)
    await interface_ip.set_interface_vrf(vpp, source, 10, ipv6=False)
    await interface_ip.add_address(vpp, source, addr("10.1.1.1/32"))
    borrower = await _loop(vpp)
    # VPP does not move the borrower into the numbered interface's tables: it refuses
    with pytest.raises(VppApiError) as refused:
        await interface_ip.set_unnumbered(vpp, borrower, source)
    assert refused.value.retval == Retval.UNEXPECTED_INTF_STATE == -74
    assert await interface_ip.dump_unnumbered(vpp) == {}
    assert await interface_ip.get_interface_vrf(vpp, borrower, ipv6=False) == 0

    await interface_ip.set_interface_vrf(vpp, borrower, 10, ipv6=False)
    await interface_ip.set_unnumbered(vpp, borrower, source)
    assert await interface_ip.dump_unnumbered(vpp) == {borrower: source}
    if target.sim is not None:
        assert "unnumbered, use loop0" in target.sim.show_interface_addr()
    # the borrowed address counts as the borrower's: it cannot change VRF now
    with pytest.raises(VppApiError, match="ADDRESS_FOUND_FOR_INTERFACE"):
        await interface_ip.set_interface_vrf(vpp, borrower, 0, ipv6=False)
    # the fields are named the other way round: the unnumbered one is checked first
    with pytest.raises(VppApiError) as unknown_borrower:
        await interface_ip.set_unnumbered(vpp, 999, source)
    assert unknown_borrower.value.retval == Retval.INVALID_SW_IF_INDEX
    with pytest.raises(VppApiError) as unknown_numbered:
        await interface_ip.set_unnumbered(vpp, borrower, 999)
    assert unknown_numbered.value.retval == Retval.INVALID_SW_IF_INDEX_2

    await interface_ip.clear_unnumbered(vpp, borrower, source)
    assert await interface_ip.dump_unnumbered(vpp) == {}
    # clearing leaves the borrower where it is
    assert await interface_ip.get_interface_vrf(vpp, borrower, ipv6=False) == 10


async def test_unnumbered_compares_the_ipv6_tables_too(vpp: VppClient) -> None:
    for ipv6 in (False, True):
        await vrf.add_vrf_table(vpp, vrf.VrfTable(10, ipv6=ipv6))
    source = await _loop(vpp)
    for ipv6 in (False, True):
        await interface_ip.set_interface_vrf(vpp, source, 10, ipv6=ipv6)
    await interface_ip.add_address(vpp, source, addr("10.1.1.1/32"))
    borrower = await _loop(vpp)
    await interface_ip.set_interface_vrf(vpp, borrower, 10, ipv6=False)
    with pytest.raises(VppApiError, match="UNEXPECTED_INTF_STATE"):
        await interface_ip.set_unnumbered(vpp, borrower, source)
    await interface_ip.set_interface_vrf(vpp, borrower, 10, ipv6=True)
    await interface_ip.set_unnumbered(vpp, borrower, source)
    assert await interface_ip.dump_unnumbered(vpp) == {borrower: source}


async def test_routes_via_interface_next_hop_vrf_and_drop_read_back(vpp: VppClient) -> None:
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    index = await _loop(vpp)
    made = [
        Route(net("10.2.0.0/16"), (RoutePath.via_interface(index, ip4("10.1.1.254")),)),
        Route(net("10.3.0.0/16"), (RoutePath.via_next_hop(ip4("10.1.1.253")),)),
        Route(net("10.4.0.0/16"), (RoutePath.via_vrf(10),)),
        Route(net("10.5.0.0/16"), (RoutePath.drop(),)),
        Route(net("10.6.0.0/16"), (RoutePath.via_interface(index),), table_id=10),
    ]
    for route in made:
        await routes.add_route(vpp, route)
    table0 = await routes.dump_routes(vpp, 0, ipv6=False)
    for route in made[:4]:
        assert route in table0
    # VPP's own routes are there too and must be told apart by whoever reads them back
    assert any(r.prefix == net("224.0.0.0/4") for r in table0)
    assert made[4] in await routes.dump_routes(vpp, 10, ipv6=False)

    await routes.delete_route(vpp, made[0])
    assert made[0] not in await routes.dump_routes(vpp, 0, ipv6=False)
    await routes.delete_route(vpp, made[0])  # deleting a missing route is a no-op in VPP


async def test_multipath_route_gains_and_loses_paths(vpp: VppClient) -> None:
    index = await _loop(vpp)
    prefix = net("10.8.0.0/16")
    first = RoutePath.via_interface(index, ip4("10.1.1.1"))
    second = RoutePath.via_interface(index, ip4("10.1.1.2"))
    await routes.add_path(vpp, 0, prefix, first)
    await routes.add_path(vpp, 0, prefix, second)
    (route,) = [r for r in await routes.dump_routes(vpp, 0, False) if r.prefix == prefix]
    assert route.paths == (first, second)
    await routes.delete_path(vpp, 0, prefix, first)
    (route,) = [r for r in await routes.dump_routes(vpp, 0, False) if r.prefix == prefix]
    assert route.paths == (second,)
    # a plain add replaces every path
    await routes.add_route(vpp, Route(prefix, (first,)))
    (route,) = [r for r in await routes.dump_routes(vpp, 0, False) if r.prefix == prefix]
    assert route.paths == (first,)


async def test_route_errors(vpp: VppClient) -> None:
    with pytest.raises(VppApiError, match="NO_SUCH_FIB"):
        await routes.add_route(vpp, Route(net("10.9.0.0/16"), (RoutePath.drop(),), table_id=77))
    with pytest.raises(VppApiError, match="NO_PATHS_IN_ROUTE"):
        await routes.add_route(vpp, Route(net("10.9.0.0/16"), ()))
    with pytest.raises(VppApiError) as unknown:
        await routes.add_route(vpp, Route(net("10.9.0.0/16"), (RoutePath.via_interface(555),)))
    assert unknown.value.retval == Retval.NO_MATCHING_INTERFACE == -54


async def test_ipv6_route(vpp: VppClient) -> None:
    index = await _loop(vpp)
    route = Route(
        net("fd10::/64"), (RoutePath.via_interface(index, ipaddress.ip_address("fd00::1")),)
    )
    await routes.add_route(vpp, route)
    assert route in await routes.dump_routes(vpp, 0, ipv6=True)


async def test_deleting_an_interface_takes_its_neighbours_but_not_its_api_routes(
    vpp: VppClient,
) -> None:
    index = await _loop(vpp)
    route = Route(net("10.2.0.0/16"), (RoutePath.via_interface(index),))
    await routes.add_route(vpp, route)
    await neighbors.add_neighbor(
        vpp, neighbors.IpNeighbor(index, ip4("10.2.0.1"), "02:00:00:00:00:01")
    )
    await loopback.delete_loopback(vpp, index)
    # VPP keeps the route (now forwarding to drop): whoever made it must delete it
    assert route in await routes.dump_routes(vpp, 0, False, source=routes.SOURCE_API)
    assert await neighbors.dump_neighbors(vpp, ipv6=False) == []
    await routes.delete_route(vpp, route)
    assert await routes.dump_routes(vpp, 0, False, source=routes.SOURCE_API) == []


async def test_route_dump_shows_vpps_own_routes_with_their_source(vpp: VppClient) -> None:
    index = await _loop(vpp)
    await interface_ip.add_address(vpp, index, addr("10.1.1.1/24"))

    def own(table: list[Route]) -> dict[str, tuple[int, tuple[RoutePath, ...]]]:
        return {str(r.prefix): (r.source, r.paths) for r in table if r.source != SOURCE_API}

    # an admin-down interface has no interface routes
    down = own(await routes.dump_routes(vpp, 0, ipv6=False))
    assert not any(p.startswith("10.1.1.") for p in down)
    assert down["0.0.0.0/0"] == (SOURCE_DEFAULT_ROUTE, (RoutePath(type=PathType.DROP),))
    assert down["224.0.0.0/4"] == (SOURCE_SPECIAL, (RoutePath(type=PathType.DROP),))

    await interfaces.set_admin_state(vpp, index, True)
    await neighbors.add_neighbor(
        vpp, neighbors.IpNeighbor(index, ip4("10.1.1.7"), "02:00:00:00:00:07")
    )
    up = own(await routes.dump_routes(vpp, 0, ipv6=False))
    drop = (RoutePath(type=PathType.DROP),)
    assert up["10.1.1.0/24"] == (SOURCE_INTERFACE, (RoutePath.via_interface(index),))
    assert up["10.1.1.1/32"] == (
        SOURCE_INTERFACE,
        (RoutePath(sw_if_index=index, next_hop=ip4("10.1.1.1"), type=PathType.LOCAL),),
    )
    assert up["10.1.1.0/32"] == (SOURCE_INTERFACE, drop)
    assert up["10.1.1.255/32"] == (SOURCE_INTERFACE, drop)
    assert up["10.1.1.7/32"] == (
        SOURCE_ADJ,
        (RoutePath.via_interface(index, ip4("10.1.1.7")),),
    )
    six = own(await routes.dump_routes(vpp, 0, ipv6=True))
    assert six["fe80::/10"] == (SOURCE_SPECIAL, (RoutePath(),))  # NORMAL, sw_if_index ~0
    # filtered by the API's source: only what the API made
    assert await routes.dump_routes(vpp, 0, ipv6=False, source=SOURCE_API) == []
    await interfaces.set_admin_state(vpp, index, False)
    again = own(await routes.dump_routes(vpp, 0, ipv6=False))
    assert [p for p in again if p.startswith("10.1.1.")] == ["10.1.1.7/32"]


async def test_a_path_via_an_interface_reads_back_table_0(vpp: VppClient) -> None:
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    index = await _loop(vpp)
    sent = RoutePath(sw_if_index=index, next_hop=ip4("10.1.1.254"), table_id=10)
    await routes.add_path(vpp, 10, net("10.6.0.0/16"), sent)
    (route,) = await routes.dump_routes(vpp, 10, ipv6=False, source=SOURCE_API)
    assert route.paths == (RoutePath.via_interface(index, ip4("10.1.1.254")),)
    # a path resolved in a table names it
    await routes.add_path(vpp, 0, net("10.7.0.0/16"), RoutePath.via_vrf(10))
    (route,) = await routes.dump_routes(vpp, 0, ipv6=False, source=SOURCE_API)
    assert route.paths == (RoutePath.via_vrf(10),)


async def test_neighbours_read_back_per_family_and_delete(vpp: VppClient) -> None:
    index = await _loop(vpp)
    v4 = neighbors.IpNeighbor(index, ip4("10.1.1.5"), "02:00:00:00:00:05")
    v6 = neighbors.IpNeighbor(index, ipaddress.ip_address("fd00::5"), "02:00:00:00:00:06")
    await neighbors.add_neighbor(vpp, v4)
    await neighbors.add_neighbor(vpp, v6)
    assert await neighbors.dump_neighbors(vpp, ipv6=False) == [v4]
    assert await neighbors.dump_neighbors(vpp, ipv6=True, sw_if_index=index) == [v6]
    await neighbors.delete_neighbor(vpp, v4)
    assert await neighbors.dump_neighbors(vpp, ipv6=False) == []
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await neighbors.delete_neighbor(vpp, v4)
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await neighbors.add_neighbor(vpp, neighbors.IpNeighbor(99, v4.ip, v4.mac))


async def test_proxy_arp_ranges_and_interfaces(vpp: VppClient) -> None:
    entry = proxy_arp.ProxyArpRange(
        ipaddress.IPv4Address("10.1.0.1"), ipaddress.IPv4Address("10.1.0.254")
    )
    await proxy_arp.add_proxy_arp_range(vpp, entry)
    await proxy_arp.add_proxy_arp_range(vpp, entry)  # again: accepted, kept once
    assert await proxy_arp.dump_proxy_arp_ranges(vpp) == [entry]
    with pytest.raises(VppApiError, match="NO_SUCH_FIB"):
        await proxy_arp.add_proxy_arp_range(
            vpp,
            proxy_arp.ProxyArpRange(entry.low, entry.high, table_id=9),
        )
    index = await _loop(vpp)
    await proxy_arp.set_proxy_arp(vpp, index, True)
    assert await proxy_arp.dump_proxy_arp_interfaces(vpp) == [index]
    await proxy_arp.set_proxy_arp(vpp, index, False)
    assert await proxy_arp.dump_proxy_arp_interfaces(vpp) == []
    await proxy_arp.delete_proxy_arp_range(vpp, entry)
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await proxy_arp.delete_proxy_arp_range(vpp, entry)


async def test_ip6_enable_disable(vpp: VppClient, target: VppTarget) -> None:
    index = await _loop(vpp)
    await interface_ip.enable_ip6(vpp, index)
    # (VPP's ip_address_dump does not list the link-local address this makes)
    if target.sim is not None:
        assert target.sim.state.interfaces[index].ip6_enabled
    await interface_ip.enable_ip6(vpp, index, enable=False)
    if target.sim is not None:
        assert not target.sim.state.interfaces[index].ip6_enabled
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await interface_ip.enable_ip6(vpp, 999)
