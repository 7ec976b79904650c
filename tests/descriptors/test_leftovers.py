"""An interface left untagged by an interrupted create (the agent killed between VPP's create
and the tag) is adopted when the agent creates it again, instead of VPP refusing the create
forever; one tagged by someone else is never taken. Runs on the simulator and a real VPP."""

from __future__ import annotations

import ipaddress

import pytest

from contivpy.models.vpp_interfaces import AfPacketLink, Interface, InterfaceType, VxlanLink
from contivpy.models.vpp_keys import interface_key
from contivpy.scheduler import Txn, ValueState
from contivpy.vppcalls import af_packet, interfaces, vxlan
from descriptors.harness import Agent
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp

TUNNEL = Interface(
    "vx-node2",
    InterfaceType.VXLAN_TUNNEL,
    link=VxlanLink(src_address="192.168.16.1", dst_address="192.168.16.2", vni=10),
)


async def _leftover_tunnel(agent: Agent) -> int:
    """What an interrupted create leaves: the tunnel, without our tag."""
    spec = vxlan.VxlanTunnel(
        ipaddress.ip_address("192.168.16.1"), ipaddress.ip_address("192.168.16.2"), 10
    )
    return await vxlan.create_vxlan_tunnel(agent.client, spec)


async def test_an_untagged_leftover_tunnel_is_adopted(agent: Agent) -> None:
    leftover = await _leftover_tunnel(agent)
    desired = {interface_key(TUNNEL.name): TUNNEL}
    result = await agent.scheduler.commit(Txn(desired, "create the tunnel"))
    assert result.ok, result.record.errors
    assert await agent.mismatches(desired) == []
    (tunnel,) = await vxlan.dump_vxlan_tunnels(agent.client)
    assert tunnel.sw_if_index == leftover  # the same tunnel, now ours
    (details,) = await interfaces.dump_interfaces(agent.client, leftover)
    assert details.tag == TUNNEL.name


async def test_a_tunnel_tagged_by_someone_else_is_not_taken(agent: Agent) -> None:
    other = await _leftover_tunnel(agent)
    await interfaces.set_tag(agent.client, other, "someone-else")
    desired = {interface_key(TUNNEL.name): TUNNEL}
    result = await agent.scheduler.commit(Txn(desired, "create the tunnel"))
    assert not result.ok
    (status,) = [s for s in agent.scheduler.statuses() if s.key == interface_key(TUNNEL.name)]
    assert status.state in (ValueState.RETRYING, ValueState.FAILED)
    assert "TUNNEL_EXIST" in status.details
    (details,) = await interfaces.dump_interfaces(agent.client, other)
    assert details.tag == "someone-else"


async def test_an_untagged_leftover_af_packet_is_adopted(target: VppTarget, agent: Agent) -> None:
    host = target.host_link("veth-left1")
    leftover = await af_packet.create_af_packet(agent.client, af_packet.AfPacketSpec(host))
    value = Interface("pod-veth", InterfaceType.AF_PACKET, link=AfPacketLink(host))
    desired = {interface_key(value.name): value}
    result = await agent.scheduler.commit(Txn(desired, "create the af_packet"))
    assert result.ok, result.record.errors
    assert await agent.mismatches(desired) == []
    assert [a.sw_if_index for a in await af_packet.dump_af_packets(agent.client)] == [leftover]
