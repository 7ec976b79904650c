"""What the simulated VPP holds and shows, beyond single calls: names, restarts, cascades."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from contivpy.sim.vpp.model import Kind
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import (
    af_packet,
    bridge_domains,
    interface_ip,
    interfaces,
    loopback,
    memif,
    subinterfaces,
    tap,
    vxlan,
)
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval


async def test_interfaces_get_the_names_vpp_gives(vpp: VppClient, sim: VppSimulator) -> None:
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await tap.create_tap(vpp, tap.TapSpec())
    await memif.add_memif_socket(vpp, memif.MemifSocket(1, "/run/vpp/m1.sock"))
    await memif.create_memif(vpp, memif.MemifSpec(socket_id=1, id=0))
    await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("eth0"))
    await vxlan.create_vxlan_tunnel(
        vpp, vxlan.VxlanTunnel(ipaddress.ip_address("1.1.1.1"), ipaddress.ip_address("1.1.1.2"), 1)
    )
    await subinterfaces.create_vlan_subinterface(vpp, subinterfaces.VlanSubinterfaceSpec(1, 200))
    names = [i.name for i in await interfaces.dump_interfaces(vpp)]
    assert names == [
        "local0",
        "GigabitEthernet0/a/0",
        "loop0",
        "tap0",
        "memif1/0",
        "host-eth0",
        "vxlan_tunnel0",
        "GigabitEthernet0/a/0.200",
    ]
    assert [i.name for i in sim.state.of_kind(Kind.TAP)] == ["tap0"]


async def test_tap_ids_are_the_lowest_free_and_freed_ids_come_back(vpp: VppClient) -> None:
    first = [await tap.create_tap(vpp, tap.TapSpec()) for _ in range(3)]
    explicit = await tap.create_tap(vpp, tap.TapSpec(id=5))
    await tap.delete_tap(vpp, first[1])
    again = await tap.create_tap(vpp, tap.TapSpec())
    later = [await tap.create_tap(vpp, tap.TapSpec()) for _ in range(3)]
    by_index = {t.sw_if_index: t.id for t in await tap.dump_taps(vpp)}
    assert by_index[again] == 1  # the freed id, before any never-used one
    assert [by_index[i] for i in later] == [3, 4, 6]  # 5 was taken explicitly
    assert by_index[explicit] == 5
    with pytest.raises(VppApiError) as refused:
        await tap.create_tap(vpp, tap.TapSpec(id=4))
    assert refused.value.retval == Retval.INVALID_INTERFACE


async def test_memif_socket_without_an_id_gets_a_random_one(
    vpp: VppClient, sim: VppSimulator
) -> None:
    reply = await vpp.call(
        "memif_socket_filename_add_del_v2",
        {"is_add": True, "socket_id": 0xFFFFFFFF, "socket_filename": "pod.sock"},
    )
    socket_id = reply.get_int("socket_id")
    assert socket_id not in (0, 0xFFFFFFFF)
    assert sim.state.memif_sockets[socket_id] == "/run/vpp/pod.sock"


async def test_deleting_a_parent_deletes_its_sub_interfaces(vpp: VppClient) -> None:
    parent = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    spec = subinterfaces.VlanSubinterfaceSpec(parent, 10)
    await subinterfaces.create_vlan_subinterface(vpp, spec)
    await loopback.delete_loopback(vpp, parent)
    assert [i.name for i in await interfaces.dump_interfaces(vpp)] == [
        "local0",
        "GigabitEthernet0/a/0",
    ]


async def test_restart_loses_all_state_and_changes_pid_and_message_ids(
    vpp: VppClient, sim: VppSimulator
) -> None:
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await bridge_domains.add_bridge_domain(vpp, bridge_domains.BridgeDomain(1))
    pid, ids = sim.pid, dict(sim.table.entries())
    await sim.restart()
    assert sim.pid != pid
    assert dict(sim.table.entries()) != ids
    assert sim.state.by_name("loop0") is None
    assert sim.state.bridge_domains == {}
    # a new connection sees the new VPP
    connection = await VppConnection.open(sim.socket_path)
    try:
        reply = await connection.call("control_ping")
        assert reply.get_int("vpe_pid") == sim.pid
    finally:
        await connection.close()


async def test_a_stale_socket_file_is_taken_over(sim: VppSimulator) -> None:
    await sim.stop()
    await asyncio.to_thread(Path(sim.socket_path).write_text, "left behind by a VPP that died")
    await sim.start()
    connection = await VppConnection.open(sim.socket_path)
    await connection.close()


async def test_show_interface_addr_looks_like_vppctl(vpp: VppClient, sim: VppSimulator) -> None:
    bvi = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await interfaces.set_admin_state(vpp, bvi, True)
    await interface_ip.add_address(vpp, bvi, ipaddress.ip_interface("10.1.1.1/24"))
    await bridge_domains.add_port(vpp, bridge_domains.BridgeDomainPort(bvi, 1, bvi=True))
    pod = await tap.create_tap(vpp, tap.TapSpec())
    await interfaces.set_admin_state(vpp, pod, True)
    await interface_ip.set_unnumbered(vpp, pod, bvi)
    assert sim.show_interface_addr() == (
        "GigabitEthernet0/a/0 (dn):\n"
        "local0 (dn):\n"
        "loop0 (up):\n"
        "  L2 bridge bd-id 1 idx 1 shg 0 bvi\n"
        "  L3 10.1.1.1/24\n"
        "tap0 (up):\n"
        "  unnumbered, use loop0\n"
        "  L3 10.1.1.1/24\n"
    )


async def test_the_link_of_a_sub_interface_follows_its_parent(vpp: VppClient) -> None:
    parent = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    sub = await subinterfaces.create_vlan_subinterface(
        vpp, subinterfaces.VlanSubinterfaceSpec(parent, 5)
    )
    await interfaces.set_admin_state(vpp, sub, True)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=sub)
    assert (details.admin_up, details.link_up) == (True, False)
    await interfaces.set_admin_state(vpp, parent, True)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=sub)
    assert details.link_up
