"""Contract of the interface calls against the simulator: create, read back equal, delete,
and the errors a real VPP gives."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import af_packet, interfaces, loopback, memif, subinterfaces, tap, vxlan
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError, VppApiPermanentError
from contivpy.vppcalls.retvals import Retval


async def _names(vpp: VppClient) -> list[str]:
    return [i.name for i in await interfaces.dump_interfaces(vpp)]


async def test_loopback_is_named_by_instance_and_deleted(vpp: VppClient, sim: VppSimulator) -> None:
    first = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    second = await loopback.create_loopback(
        vpp, loopback.LoopbackSpec(mac="02:00:00:00:00:aa", instance=5)
    )
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=second)
    assert (details.name, details.mac, details.dev_type) == (
        "loop5",
        "02:00:00:00:00:aa",
        "Loopback",
    )
    (first_details,) = await interfaces.dump_interfaces(vpp, sw_if_index=first)
    assert (first_details.name, first_details.mac) == ("loop0", "de:ad:00:00:00:00")

    with pytest.raises(VppApiError) as taken:
        await loopback.create_loopback(vpp, loopback.LoopbackSpec(instance=5))
    assert taken.value.error_name == "INVALID_REGISTRATION"

    await loopback.delete_loopback(vpp, second)
    assert "loop5" not in await _names(vpp)
    assert sim.state.by_name("loop0") is not None


async def test_freed_sw_if_index_is_reused_as_vpp_does(vpp: VppClient) -> None:
    first = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await loopback.delete_loopback(vpp, first)
    again = await loopback.create_loopback(vpp, loopback.LoopbackSpec(instance=3))
    assert again == first


async def test_deleting_an_unknown_or_wrong_kind_of_interface_is_invalid_sw_if_index(
    vpp: VppClient,
) -> None:
    with pytest.raises(VppApiPermanentError) as unknown:
        await loopback.delete_loopback(vpp, 4711)
    assert unknown.value.retval == Retval.INVALID_SW_IF_INDEX
    assert unknown.value.message == "delete_loopback"
    assert not unknown.value.retriable
    loop = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await tap.delete_tap(vpp, loop)


async def test_admin_state_mac_mtu_and_tag_read_back(vpp: VppClient) -> None:
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await interfaces.set_admin_state(vpp, index, True)
    await interfaces.set_mac_address(vpp, index, "02:11:22:33:44:55")
    await interfaces.set_mtu(vpp, index, 1450)
    await interfaces.set_tag(vpp, index, "contiv-owned")
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert (details.admin_up, details.link_up) == (True, True)
    assert details.mac == "02:11:22:33:44:55"
    assert details.mtu[0] == 1450
    assert details.tag == "contiv-owned"

    await interfaces.set_admin_state(vpp, index, False)
    await interfaces.set_tag(vpp, index, "")
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert (details.admin_up, details.link_up, details.tag) == (False, False, "")

    with pytest.raises(ValueError, match="63"):
        await interfaces.set_tag(vpp, index, "t" * 64)
    with pytest.raises(VppApiError, match="INVALID_VALUE"):
        await interfaces.set_mtu(vpp, index, 65000)
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await interfaces.set_admin_state(vpp, 999, True)


async def test_name_filter_dump(vpp: VppClient) -> None:
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    found = await interfaces.dump_interfaces(vpp, name_contains="loop")
    assert [i.name for i in found] == ["loop0"]


async def test_tap_v3_with_host_side_reads_back_and_deletes(vpp: VppClient) -> None:
    spec = tap.TapSpec(
        id=3,
        mac="02:fe:00:00:00:03",
        host_if_name="vpp1",
        host_namespace="pod-ns",
        host_mac="02:fe:00:00:01:03",
        host_mtu=1450,
        host_ip4=ipaddress.IPv4Interface("10.1.1.2/24"),
        host_ip6=ipaddress.IPv6Interface("fd00::2/64"),
        flags=tap.TapFlags.GSO,
        rx_ring_size=1024,
        tx_ring_size=1024,
        tag="pod-a",
    )
    index = await tap.create_tap(vpp, spec)
    (details,) = await tap.dump_taps(vpp)
    assert details == tap.TapDetails(
        sw_if_index=index,
        id=3,
        dev_name="tap3",
        host_if_name="vpp1",
        host_namespace="pod-ns",
        host_mac="02:fe:00:00:01:03",
        host_mtu=1450,
        host_ip4=ipaddress.IPv4Interface("10.1.1.2/24"),
        host_ip6=ipaddress.IPv6Interface("fd00::2/64"),
        host_bridge="",
        flags=tap.TapFlags.GSO,
        rx_ring_size=1024,
        tx_ring_size=1024,
    )
    (iface,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert (iface.name, iface.mac, iface.tag, iface.dev_type) == (
        "tap3",
        "02:fe:00:00:00:03",
        "pod-a",
        "virtio",
    )
    await tap.delete_tap(vpp, index)
    assert await tap.dump_taps(vpp) == []


async def test_tap_without_vhost_net_fails_clearly_and_permanently(
    vpp: VppClient, sim: VppSimulator
) -> None:
    sim.set_vhost_net(False)
    with pytest.raises(VppApiPermanentError) as failed:
        await tap.create_tap(vpp, tap.TapSpec())
    assert failed.value.retval == Retval.SYSCALL_ERROR_1
    assert "/dev/vhost-net" in str(failed.value)
    assert await tap.dump_taps(vpp) == []
    # the rest of VPP keeps working
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())


async def test_memif_socket_and_interface_read_back_and_delete(
    vpp: VppClient, sim: VppSimulator
) -> None:
    socket = memif.MemifSocket(7, "/run/vpp/memif-pod.sock")
    await memif.add_memif_socket(vpp, socket)
    await memif.add_memif_socket(vpp, socket)  # the same pair again is accepted
    assert await memif.dump_memif_sockets(vpp) == [
        memif.MemifSocket(0, "/run/vpp/memif.sock"),
        socket,
    ]
    spec = memif.MemifSpec(
        socket_id=7, id=2, role=memif.MemifRole.SLAVE, mac="02:fe:00:00:07:02", secret="s3cret"
    )
    index = await memif.create_memif(vpp, spec)
    (details,) = await memif.dump_memifs(vpp)
    assert details == memif.MemifDetails(
        sw_if_index=index,
        name="memif7/2",
        socket_id=7,
        id=2,
        role=memif.MemifRole.SLAVE,
        mode=memif.MemifMode.ETHERNET,
        mac="02:fe:00:00:07:02",
        ring_size=1024,
        buffer_size=2048,
        zero_copy=True,
        admin_up=False,
        link_up=False,
    )
    # admin up is not enough: the link needs the peer
    await interfaces.set_admin_state(vpp, index, True)
    (details,) = await memif.dump_memifs(vpp)
    assert (details.admin_up, details.link_up) == (True, False)
    sim.set_memif_peer(index, True)
    (details,) = await memif.dump_memifs(vpp)
    assert details.link_up

    with pytest.raises(VppApiError, match="UNEXPECTED_INTF_STATE"):
        await memif.delete_memif_socket(vpp, 7)
    with pytest.raises(VppApiError, match="ENTRY_ALREADY_EXISTS"):
        await memif.add_memif_socket(vpp, memif.MemifSocket(7, "/run/vpp/other.sock"))
    await memif.delete_memif(vpp, index)
    await memif.delete_memif_socket(vpp, 7)
    assert await memif.dump_memifs(vpp) == []
    assert sim.state.memif_sockets == {0: "/run/vpp/memif.sock"}


async def test_memif_on_a_missing_socket_is_invalid_argument(vpp: VppClient) -> None:
    with pytest.raises(VppApiError, match="INVALID_ARGUMENT"):
        await memif.create_memif(vpp, memif.MemifSpec(socket_id=99, id=0))


async def test_af_packet_reads_back_and_deletes_by_host_name(vpp: VppClient) -> None:
    index = await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("veth-vpp1"))
    assert await af_packet.dump_af_packets(vpp) == [af_packet.AfPacketDetails(index, "veth-vpp1")]
    assert "host-veth-vpp1" in await _names(vpp)
    with pytest.raises(VppApiError, match="IF_ALREADY_EXISTS"):
        await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("veth-vpp1"))
    await af_packet.delete_af_packet(vpp, "veth-vpp1")
    assert await af_packet.dump_af_packets(vpp) == []
    with pytest.raises(VppApiError, match="SYSCALL_ERROR_1"):
        await af_packet.delete_af_packet(vpp, "veth-vpp1")


async def test_vlan_subinterface_is_named_after_parent_and_vlan(vpp: VppClient) -> None:
    (nic,) = await interfaces.dump_interfaces(vpp, name_contains="GigabitEthernet")
    spec = subinterfaces.VlanSubinterfaceSpec(nic.sw_if_index, 200)
    index = await subinterfaces.create_vlan_subinterface(vpp, spec)
    (sub,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert sub.name == "GigabitEthernet0/a/0.200"
    assert (sub.is_sub, sub.sup_sw_if_index, sub.sub_id, sub.outer_vlan_id) == (
        True,
        nic.sw_if_index,
        200,
        200,
    )
    assert sub.mac == nic.mac
    with pytest.raises(VppApiError, match="VLAN_ALREADY_EXISTS"):
        await subinterfaces.create_vlan_subinterface(vpp, spec)
    with pytest.raises(VppApiError, match="INVALID_SUB_SW_IF_INDEX"):
        await subinterfaces.delete_subinterface(vpp, nic.sw_if_index)
    await subinterfaces.delete_subinterface(vpp, index)
    assert "GigabitEthernet0/a/0.200" not in await _names(vpp)


async def test_vxlan_tunnel_reads_back_and_deletes_by_description(vpp: VppClient) -> None:
    tunnel = vxlan.VxlanTunnel(
        src=ipaddress.ip_address("192.168.16.1"),
        dst=ipaddress.ip_address("192.168.16.2"),
        vni=10,
        instance=4,
    )
    index = await vxlan.create_vxlan_tunnel(vpp, tunnel)
    (details,) = await vxlan.dump_vxlan_tunnels(vpp)
    assert details == vxlan.VxlanTunnelDetails(
        sw_if_index=index,
        instance=4,
        src=tunnel.src,
        dst=tunnel.dst,
        vni=10,
        encap_vrf_id=0,
        src_port=4789,
        dst_port=4789,
        mcast_sw_if_index=tunnel.mcast_sw_if_index,
        decap_next_index=tunnel.decap_next_index,
    )
    assert "vxlan_tunnel4" in await _names(vpp)
    with pytest.raises(VppApiError, match="TUNNEL_EXIST"):
        await vxlan.create_vxlan_tunnel(vpp, tunnel)
    with pytest.raises(VppApiError, match="NO_SUCH_FIB"):
        await vxlan.create_vxlan_tunnel(vpp, vxlan.VxlanTunnel(tunnel.src, tunnel.dst, 11, 5))
    await vxlan.delete_vxlan_tunnel(vpp, tunnel)
    assert await vxlan.dump_vxlan_tunnels(vpp) == []
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await vxlan.delete_vxlan_tunnel(vpp, tunnel)
