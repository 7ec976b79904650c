"""Contract of the L2 calls against the simulator: cross-connects, bridge domains with
members, BVI and split horizon, and the L2 FIB."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.vppcalls import bridge_domains, l2fib, loopback, memif, vxlan, xconnect
from contivpy.vppcalls.bridge_domains import BridgeDomain, BridgeDomainMember, BridgeDomainPort
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.l2fib import L2FibEntry
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import NO_INDEX
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp


async def _loop(vpp: VppClient, mac: str | None = None) -> int:
    return await loopback.create_loopback(vpp, loopback.LoopbackSpec(mac=mac))


async def _memif(vpp: VppClient, memif_id: int) -> int:
    return await memif.create_memif(vpp, memif.MemifSpec(socket_id=0, id=memif_id))


async def test_xconnect_pair_reads_back_and_clears(vpp: VppClient, target: VppTarget) -> None:
    a, b = await _memif(vpp, 1), await _memif(vpp, 2)
    await xconnect.set_xconnect(vpp, xconnect.XConnect(a, b))
    await xconnect.set_xconnect(vpp, xconnect.XConnect(b, a))
    # listed by receiving interface index (VPP reuses freed indexes: a need not be below b)
    assert await xconnect.dump_xconnects(vpp) == sorted(
        [xconnect.XConnect(a, b), xconnect.XConnect(b, a)], key=lambda x: x.rx_sw_if_index
    )
    if target.sim is not None:
        assert "L2 xconnect memif0/2" in target.sim.show_interface_addr()
    await xconnect.clear_xconnect(vpp, a)
    assert await xconnect.dump_xconnects(vpp) == [xconnect.XConnect(b, a)]
    with pytest.raises(VppApiError) as bad_tx:
        await xconnect.set_xconnect(vpp, xconnect.XConnect(a, 999))
    assert bad_tx.value.retval == Retval.INVALID_SW_IF_INDEX == -2


async def test_bridge_domain_with_bvi_and_split_horizon_reads_back(vpp: VppClient) -> None:
    domain = BridgeDomain(bd_id=5, learn=False, arp_term=True, mac_age=10, tag="pods")
    assert await bridge_domains.add_bridge_domain(vpp, domain) == 5
    bvi = await _loop(vpp, "02:00:00:00:00:b1")
    port_a, port_b = await _memif(vpp, 1), await _memif(vpp, 2)
    await bridge_domains.add_port(vpp, BridgeDomainPort(bvi, 5, bvi=True))
    await bridge_domains.add_port(vpp, BridgeDomainPort(port_a, 5, shg=1))
    await bridge_domains.add_port(vpp, BridgeDomainPort(port_b, 5, shg=1))

    (details,) = await bridge_domains.dump_bridge_domains(vpp)
    assert details.domain == domain
    assert details.bvi_sw_if_index == bvi
    assert details.members == (
        BridgeDomainMember(bvi, 0),
        BridgeDomainMember(port_a, 1),
        BridgeDomainMember(port_b, 1),
    )
    # VPP does not implement the sw_if_index filter: a filtered dump answers nothing
    filtered = await vpp.dump("bridge_domain_dump", {"bd_id": NO_INDEX, "sw_if_index": port_a})
    assert filtered == []
    # VPP's own L2 FIB entry for the BVI
    assert await l2fib.dump_l2fib(vpp, 5) == [
        L2FibEntry(5, "02:00:00:00:00:b1", bvi, static=True, bvi=True)
    ]

    other_bvi = await _loop(vpp)
    with pytest.raises(VppApiError, match="BD_ALREADY_HAS_BVI"):
        await bridge_domains.add_port(vpp, BridgeDomainPort(other_bvi, 5, bvi=True))
    with pytest.raises(VppApiError, match="BD_IN_USE"):
        await bridge_domains.delete_bridge_domain(vpp, 5)
    for port in (BridgeDomainPort(bvi, 5, bvi=True), BridgeDomainPort(port_a, 5)):
        await bridge_domains.remove_port(vpp, port)
    (details,) = await bridge_domains.dump_bridge_domains(vpp, bd_id=5)
    assert details.members == (BridgeDomainMember(port_b, 1),)
    assert details.bvi_sw_if_index is None
    await bridge_domains.remove_port(vpp, BridgeDomainPort(port_b, 5))
    await bridge_domains.delete_bridge_domain(vpp, 5)
    assert await bridge_domains.dump_bridge_domains(vpp) == []


async def test_bridge_domain_errors(vpp: VppClient, target: VppTarget) -> None:
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(1))
    with pytest.raises(VppApiError, match="BD_ALREADY_EXISTS"):
        await bridge_domains.add_bridge_domain(vpp, BridgeDomain(1))
    # domain 0 is VPP's placeholder: it "exists", and cannot be deleted
    with pytest.raises(VppApiError) as add_zero:
        await bridge_domains.add_bridge_domain(vpp, BridgeDomain(0))
    assert add_zero.value.retval == Retval.BD_ALREADY_EXISTS == -119
    with pytest.raises(VppApiError) as delete_zero:
        await bridge_domains.delete_bridge_domain(vpp, 0)
    assert delete_zero.value.retval == Retval.BD_NOT_MODIFIABLE == -121
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await bridge_domains.delete_bridge_domain(vpp, 2)
    # id ~0: VPP picks a free one pseudo-randomly, from a seed every VPP process starts at 0
    picked = await bridge_domains.add_bridge_domain(vpp, BridgeDomain(0xFFFFFFFF))
    if target.sim is not None or target.restart_command:  # a VPP process fresh for this test
        assert picked == 7271263
    assert 1 < picked < 1 << 24
    second = await bridge_domains.add_bridge_domain(vpp, BridgeDomain(0xFFFFFFFF))
    assert 1 < second < 1 << 24
    assert second != picked
    assert [d.domain.bd_id for d in await bridge_domains.dump_bridge_domains(vpp)] == [
        1,
        picked,
        second,
    ]


async def test_joining_a_missing_bridge_domain_creates_it(vpp: VppClient) -> None:
    port = await _memif(vpp, 1)
    await bridge_domains.add_port(vpp, BridgeDomainPort(port, 42))
    (details,) = await bridge_domains.dump_bridge_domains(vpp)
    assert details.domain == BridgeDomain(42)
    assert details.members == (BridgeDomainMember(port, 0),)


async def test_xconnect_and_bridge_exclude_each_other(vpp: VppClient) -> None:
    a, b = await _memif(vpp, 1), await _memif(vpp, 2)
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(3))
    await bridge_domains.add_port(vpp, BridgeDomainPort(a, 3))
    await xconnect.set_xconnect(vpp, xconnect.XConnect(a, b))
    (details,) = await bridge_domains.dump_bridge_domains(vpp)
    assert details.members == ()
    await bridge_domains.add_port(vpp, BridgeDomainPort(a, 3))
    assert await xconnect.dump_xconnects(vpp) == []


async def test_deleting_a_member_interface_leaves_the_domain(vpp: VppClient) -> None:
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(3))
    port = await _loop(vpp)
    await bridge_domains.add_port(vpp, BridgeDomainPort(port, 3, bvi=True))
    await loopback.delete_loopback(vpp, port)
    (details,) = await bridge_domains.dump_bridge_domains(vpp)
    assert details.members == ()
    assert await l2fib.dump_l2fib(vpp) == []
    await bridge_domains.delete_bridge_domain(vpp, 3)


async def test_l2fib_entries_read_back_and_delete(vpp: VppClient) -> None:
    await bridge_domains.add_bridge_domain(vpp, BridgeDomain(7))
    port = await _memif(vpp, 1)
    entry = L2FibEntry(7, "02:00:00:00:07:01", port)
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await l2fib.add_l2fib_entry(vpp, entry)  # the interface is not bridged yet
    await bridge_domains.add_port(vpp, BridgeDomainPort(port, 7))
    await l2fib.add_l2fib_entry(vpp, entry)
    assert await l2fib.dump_l2fib(vpp, 7) == [entry]
    await l2fib.delete_l2fib_entry(vpp, entry)
    assert await l2fib.dump_l2fib(vpp) == []
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await l2fib.delete_l2fib_entry(vpp, entry)
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await l2fib.add_l2fib_entry(vpp, L2FibEntry(8, entry.mac, port))


async def test_a_memif_cross_connects_into_an_sfc_vxlan_tunnel_both_ways(vpp: VppClient) -> None:
    # A service function chain's hop between nodes: the local interface and the hop's tunnel
    # cross-connected each way (two tunnels between the same nodes differ by VNI only).
    local = await _memif(vpp, 1)
    ends = (ipaddress.ip_address("192.168.16.1"), ipaddress.ip_address("192.168.16.2"))
    hop = await vxlan.create_vxlan_tunnel(vpp, vxlan.VxlanTunnel(*ends, vni=5000))
    other = await vxlan.create_vxlan_tunnel(vpp, vxlan.VxlanTunnel(*ends, vni=5001))
    assert hop != other
    await xconnect.set_xconnect(vpp, xconnect.XConnect(local, hop))
    await xconnect.set_xconnect(vpp, xconnect.XConnect(hop, local))
    found = {(x.rx_sw_if_index, x.tx_sw_if_index) for x in await xconnect.dump_xconnects(vpp)}
    assert found == {(local, hop), (hop, local)}
    await xconnect.clear_xconnect(vpp, hop)
    await xconnect.clear_xconnect(vpp, local)
    assert await xconnect.dump_xconnects(vpp) == []
