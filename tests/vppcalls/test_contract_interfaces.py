"""Contract of the interface calls against the simulator: create, read back equal, delete,
and the errors a real VPP gives."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from contivpy.vppcalls import (
    af_packet,
    interfaces,
    loopback,
    memif,
    subinterfaces,
    tap,
    vxlan,
    xconnect,
)
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppApiError, VppApiPermanentError
from contivpy.vppcalls.retvals import Retval
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp

#: whether this kernel has vhost-net (a real VPP makes taps only then); read once, at import
HAS_VHOST_NET = Path("/dev/vhost-net").exists()


async def _names(vpp: VppClient) -> list[str]:
    return [i.name for i in await interfaces.dump_interfaces(vpp)]


async def test_loopback_is_named_by_instance_and_deleted(vpp: VppClient) -> None:
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
    assert "loop0" in await _names(vpp)


async def test_creating_an_interface_tells_subscribers_it_is_down(vpp: VppClient) -> None:
    events = await interfaces.subscribe_interface_events(vpp)
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    async with asyncio.timeout(5):
        created = await events.get()
    assert created == interfaces.InterfaceEvent(index, admin_up=False, link_up=False, deleted=False)


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
    # VPP checks no MTU against the device: a loopback takes L3 65000 (its link stays 9000)
    await interfaces.set_mtu(vpp, index, 65000)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert (details.mtu, details.link_mtu) == ((65000, 0, 0, 0), 9000)
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await interfaces.set_admin_state(vpp, 999, True)


async def test_name_filter_dump(vpp: VppClient) -> None:
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    found = await interfaces.dump_interfaces(vpp, name_contains="loop")
    assert [i.name for i in found] == ["loop0"]


async def test_tap_v3_with_host_side_reads_back_and_deletes(
    vpp: VppClient, target: VppTarget
) -> None:
    if target.real and not HAS_VHOST_NET:
        pytest.skip("a real VPP makes taps only with /dev/vhost-net, which this kernel lacks")
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
    vpp: VppClient, target: VppTarget
) -> None:
    if target.sim is not None:
        target.sim.set_vhost_net(False)
    elif HAS_VHOST_NET:
        pytest.skip("this kernel has /dev/vhost-net: a real VPP makes taps here")
    with pytest.raises(VppApiPermanentError) as failed:
        await tap.create_tap(vpp, tap.TapSpec())
    assert failed.value.retval == Retval.SYSCALL_ERROR_1
    assert "/dev/vhost-net" in str(failed.value)
    assert await tap.dump_taps(vpp) == []
    # the rest of VPP keeps working
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())


async def test_memif_socket_and_interface_read_back_and_delete(
    vpp: VppClient, target: VppTarget
) -> None:
    # socket 0 is VPP's default, <runtime-dir>/memif.sock (/run/vpp/memif.sock by default)
    (default,) = await memif.dump_memif_sockets(vpp)
    assert default.socket_id == 0
    assert default.filename.endswith("/memif.sock")
    socket = memif.MemifSocket(7, "/run/vpp/memif-pod.sock")
    await memif.add_memif_socket(vpp, socket)
    await memif.add_memif_socket(vpp, socket)  # the same pair again is accepted
    # VPP walks a hash: the sockets come in no order to rely on
    assert sorted(await memif.dump_memif_sockets(vpp), key=lambda s: s.socket_id) == [
        default,
        socket,
    ]
    spec = memif.MemifSpec(
        socket_id=7, id=2, role=memif.MemifRole.SLAVE, mac="02:fe:00:00:07:02", secret="s3cret"
    )
    index = await memif.create_memif(vpp, spec)
    (details,) = await memif.dump_memifs(vpp)
    # without a peer VPP reports the sizes of no connection: ring 1, buffer 0
    assert details == memif.MemifDetails(
        sw_if_index=index,
        name="memif7/2",
        socket_id=7,
        id=2,
        role=memif.MemifRole.SLAVE,
        mode=memif.MemifMode.ETHERNET,
        mac="02:fe:00:00:07:02",
        ring_size=1,
        buffer_size=0,
        zero_copy=True,
        admin_up=False,
        link_up=False,
    )
    # admin up is not enough: the link needs the peer
    await interfaces.set_admin_state(vpp, index, True)
    (details,) = await memif.dump_memifs(vpp)
    assert (details.admin_up, details.link_up) == (True, False)
    if target.sim is not None:  # a peer needs a memif slave process on a real VPP
        target.sim.set_memif_peer(index, True)
        (details,) = await memif.dump_memifs(vpp)
        assert details.link_up
        assert (details.ring_size, details.buffer_size) == (1024, 2048)

    with pytest.raises(VppApiError, match="UNEXPECTED_INTF_STATE"):
        await memif.delete_memif_socket(vpp, 7)
    with pytest.raises(VppApiError, match="ENTRY_ALREADY_EXISTS"):
        await memif.add_memif_socket(vpp, memif.MemifSocket(7, "/run/vpp/other.sock"))
    await memif.delete_memif(vpp, index)
    await memif.delete_memif_socket(vpp, 7)
    assert await memif.dump_memifs(vpp) == []
    assert await memif.dump_memif_sockets(vpp) == [default]


async def test_memif_on_a_missing_socket_is_invalid_argument(vpp: VppClient) -> None:
    with pytest.raises(VppApiError, match="INVALID_ARGUMENT"):
        await memif.create_memif(vpp, memif.MemifSpec(socket_id=99, id=0))


async def test_af_packet_reads_back_and_deletes_by_host_name(
    vpp: VppClient, target: VppTarget
) -> None:
    target.host_link("veth-vpp1")
    index = await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("veth-vpp1"))
    assert await af_packet.dump_af_packets(vpp) == [af_packet.AfPacketDetails(index, "veth-vpp1")]
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    # VPP's device class is "af-packet"; the link is up while admin is still down
    assert (details.name, details.dev_type) == ("host-veth-vpp1", "af-packet")
    assert (details.admin_up, details.link_up, details.link_mtu) == (False, True, 9000)
    await interfaces.set_admin_state(vpp, index, True)
    await interfaces.set_admin_state(vpp, index, False)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert (details.admin_up, details.link_up) == (False, False)
    with pytest.raises(VppApiError, match="IF_ALREADY_EXISTS"):
        await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("veth-vpp1"))
    await af_packet.delete_af_packet(vpp, "veth-vpp1")
    assert await af_packet.dump_af_packets(vpp) == []
    with pytest.raises(VppApiError, match="SYSCALL_ERROR_1"):
        await af_packet.delete_af_packet(vpp, "veth-vpp1")


async def test_af_packet_on_a_missing_host_link_is_invalid_interface(
    vpp: VppClient, target: VppTarget
) -> None:
    if target.sim is not None:
        target.sim.state.host_interfaces = {"veth-vpp1"}
    with pytest.raises(VppApiError) as missing:
        await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec("no-such-veth"))
    assert missing.value.retval == Retval.INVALID_INTERFACE == -71


async def test_vlan_subinterface_is_named_after_parent_and_vlan(
    vpp: VppClient, target: VppTarget
) -> None:
    nic = await target.nic(vpp)
    spec = subinterfaces.VlanSubinterfaceSpec(nic.sw_if_index, 200)
    index = await subinterfaces.create_vlan_subinterface(vpp, spec)
    (sub,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    assert sub.name == f"{nic.name}.200"
    assert (sub.is_sub, sub.sup_sw_if_index, sub.sub_id, sub.outer_vlan_id) == (
        True,
        nic.sw_if_index,
        200,
        200,
    )
    # VPP sends no L2 address and no MTU for a sub-interface; its dev type is the parent's
    assert (sub.mac, sub.mtu, sub.dev_type) == ("00:00:00:00:00:00", (0, 0, 0, 0), nic.dev_type)
    with pytest.raises(VppApiError, match="VLAN_ALREADY_EXISTS"):
        await subinterfaces.create_vlan_subinterface(vpp, spec)
    with pytest.raises(VppApiError, match="INVALID_SUB_SW_IF_INDEX"):
        await subinterfaces.delete_subinterface(vpp, nic.sw_if_index)
    await subinterfaces.delete_subinterface(vpp, index)
    assert f"{nic.name}.200" not in await _names(vpp)


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
        decap_next_index=1,  # asked for ~0: VPP stores l2-input's next index
    )
    assert tunnel.decap_next_index == 0xFFFFFFFF
    (iface,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
    # VPP brings a new tunnel up by itself
    assert (iface.name, iface.dev_type, iface.admin_up, iface.link_up) == (
        "vxlan_tunnel4",
        "VXLAN",
        True,
        True,
    )
    with pytest.raises(VppApiError, match="TUNNEL_EXIST"):
        await vxlan.create_vxlan_tunnel(vpp, tunnel)
    with pytest.raises(VppApiError, match="NO_SUCH_FIB"):
        await vxlan.create_vxlan_tunnel(vpp, vxlan.VxlanTunnel(tunnel.src, tunnel.dst, 11, 5))
    await vxlan.delete_vxlan_tunnel(vpp, tunnel)
    assert await vxlan.dump_vxlan_tunnels(vpp) == []
    with pytest.raises(VppApiError, match="NO_SUCH_ENTRY"):
        await vxlan.delete_vxlan_tunnel(vpp, tunnel)


async def test_a_sub_interface_goes_up_only_while_its_parent_is_up(
    vpp: VppClient, target: VppTarget
) -> None:
    if target.sim is not None:
        pytest.skip("real-VPP behaviour the simulator does not model yet (docs/REAL_VPP.md)")
    parent = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    sub = await subinterfaces.create_vlan_subinterface(
        vpp, subinterfaces.VlanSubinterfaceSpec(parent, 5)
    )
    with pytest.raises(VppApiError) as refused:
        await interfaces.set_admin_state(vpp, sub, True)
    assert refused.value.retval == Retval.UNSPECIFIED == -1
    await interfaces.set_admin_state(vpp, parent, True)
    await interfaces.set_admin_state(vpp, sub, True)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=sub)
    assert (details.admin_up, details.link_up) == (True, True)
    # once up it stays up when the parent goes down; its link follows the parent
    await interfaces.set_admin_state(vpp, parent, False)
    (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=sub)
    assert (details.admin_up, details.link_up) == (True, False)


async def test_a_vlan_sub_interface_pops_its_tag_until_it_is_back_in_l3(
    vpp: VppClient, target: VppTarget
) -> None:
    nic = await target.nic(vpp)
    sub = await subinterfaces.create_vlan_subinterface(
        vpp, subinterfaces.VlanSubinterfaceSpec(nic.sw_if_index, 200)
    )
    peer = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    pop = subinterfaces.VlanTagRewrite.pop(1)

    async def rewrite(index: int) -> subinterfaces.VlanTagRewrite:
        (details,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
        return details.tag_rewrite

    assert await rewrite(sub) == subinterfaces.NO_REWRITE
    # taken in L3 as well as in L2, and read back as VPP's l2vtr_get reports it
    await subinterfaces.set_vlan_tag_rewrite(vpp, sub, pop)
    assert await rewrite(sub) == subinterfaces.VlanTagRewrite(subinterfaces.VtrOp.POP_1)
    await xconnect.set_xconnect(vpp, xconnect.XConnect(sub, peer))
    assert (await rewrite(sub)).popped_tags == 1
    # back to L3: VPP clears the interface's L2 output configuration, rewrite included
    await xconnect.clear_xconnect(vpp, sub)
    assert await rewrite(sub) == subinterfaces.NO_REWRITE

    refusals = {
        # the port matches no tag: nothing to pop
        "INVALID_VLAN_TAG_COUNT": (nic.sw_if_index, pop),
        "INVALID_SW_IF_INDEX": (4000, pop),
    }
    for name, (index, asked) in refusals.items():
        with pytest.raises(VppApiError) as refused:
            await subinterfaces.set_vlan_tag_rewrite(vpp, index, asked)
        assert refused.value.error_name == name
    with pytest.raises(VppApiError) as unknown_op:
        await vpp.call("l2_interface_vlan_tag_rewrite", {"sw_if_index": sub, "vtr_op": 9})
    assert unknown_op.value.retval == Retval.INVALID_VALUE == -7
    with pytest.raises(VppApiError) as not_ethernet:
        await subinterfaces.set_vlan_tag_rewrite(vpp, 0, subinterfaces.NO_REWRITE)  # local0
    assert not_ethernet.value.retval == Retval.INVALID_INTERFACE == -71
    # a push is kept with the pushed tag's value
    push = subinterfaces.VlanTagRewrite(subinterfaces.VtrOp.PUSH_1, push_dot1q=True, tag1=300)
    await subinterfaces.set_vlan_tag_rewrite(vpp, peer, push)
    assert await rewrite(peer) == push
    await subinterfaces.delete_subinterface(vpp, sub)
    await loopback.delete_loopback(vpp, peer)
