"""Contract of the IP calls against the simulator: VRFs, interface VRF binding, addresses,
unnumbered, routes, neighbours, proxy ARP."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import interface_ip, loopback, neighbors, proxy_arp, routes, vrf
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.routes import Route, RoutePath

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


async def test_a_table_bound_to_an_interface_outlives_its_api_delete(
    vpp: VppClient, sim: VppSimulator
) -> None:
    index = await _loop(vpp)
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    await interface_ip.set_interface_vrf(vpp, index, 10, ipv6=False)
    await vrf.delete_vrf_table(vpp, vrf.VrfTable(10))
    assert sim.state.table(False, 10) is not None
    await interface_ip.set_interface_vrf(vpp, index, 0, ipv6=False)
    assert sim.state.table(False, 10) is None


async def test_addresses_read_back_in_order_and_delete(vpp: VppClient) -> None:
    index = await _loop(vpp)
    for a in ("10.1.1.1/24", "10.1.2.1/24", "fd00::1/64"):
        await interface_ip.add_address(vpp, index, addr(a))
    assert await interface_ip.dump_addresses(vpp, index, ipv6=False) == [
        addr("10.1.1.1/24"),
        addr("10.1.2.1/24"),
    ]
    assert await interface_ip.dump_addresses(vpp, index, ipv6=True) == [addr("fd00::1/64")]
    with pytest.raises(VppApiError, match="DUPLICATE_IF_ADDRESS"):
        await interface_ip.add_address(vpp, index, addr("10.1.1.1/24"))
    other = await _loop(vpp)
    with pytest.raises(VppApiError, match="ADDRESS_IN_USE"):
        await interface_ip.add_address(vpp, other, addr("10.1.1.9/24"))
    await interface_ip.delete_address(vpp, index, addr("10.1.2.1/24"))
    with pytest.raises(VppApiError, match="ADDRESS_NOT_FOUND_FOR_INTERFACE"):
        await interface_ip.delete_address(vpp, index, addr("10.1.2.1/24"))
    assert await interface_ip.dump_addresses(vpp, index, ipv6=False) == [addr("10.1.1.1/24")]


async def test_unnumbered_borrows_addresses_and_vrf(vpp: VppClient, sim: VppSimulator) -> None:
    await vrf.add_vrf_table(vpp, vrf.VrfTable(10))
    source = await _loop(vpp)
    await interface_ip.set_interface_vrf(vpp, source, 10, ipv6=False)
    await interface_ip.add_address(vpp, source, addr("10.1.1.1/32"))
    borrower = await _loop(vpp)
    await interface_ip.set_unnumbered(vpp, borrower, source)
    assert await interface_ip.dump_unnumbered(vpp) == {borrower: source}
    assert await interface_ip.get_interface_vrf(vpp, borrower, ipv6=False) == 10
    assert "unnumbered, use loop0" in sim.show_interface_addr()
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX_2"):
        await interface_ip.set_unnumbered(vpp, 999, source)
    await interface_ip.clear_unnumbered(vpp, borrower, source)
    assert await interface_ip.dump_unnumbered(vpp) == {}


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
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await routes.add_route(vpp, Route(net("10.9.0.0/16"), (RoutePath.via_interface(555),)))


async def test_ipv6_route(vpp: VppClient) -> None:
    index = await _loop(vpp)
    route = Route(
        net("fd10::/64"), (RoutePath.via_interface(index, ipaddress.ip_address("fd00::1")),)
    )
    await routes.add_route(vpp, route)
    assert route in await routes.dump_routes(vpp, 0, ipv6=True)


async def test_deleting_an_interface_takes_its_routes_and_neighbours(
    vpp: VppClient, sim: VppSimulator
) -> None:
    index = await _loop(vpp)
    await routes.add_route(vpp, Route(net("10.2.0.0/16"), (RoutePath.via_interface(index),)))
    await neighbors.add_neighbor(
        vpp, neighbors.IpNeighbor(index, ip4("10.2.0.1"), "02:00:00:00:00:01")
    )
    await loopback.delete_loopback(vpp, index)
    assert all(r.prefix != net("10.2.0.0/16") for r in await routes.dump_routes(vpp, 0, False))
    assert await neighbors.dump_neighbors(vpp, ipv6=False) == []
    assert sim.state.neighbors == {}


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


async def test_ip6_enable_disable(vpp: VppClient, sim: VppSimulator) -> None:
    index = await _loop(vpp)
    await interface_ip.enable_ip6(vpp, index)
    assert sim.state.interfaces[index].ip6_enabled
    await interface_ip.enable_ip6(vpp, index, enable=False)
    assert not sim.state.interfaces[index].ip6_enabled
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await interface_ip.enable_ip6(vpp, 999)
