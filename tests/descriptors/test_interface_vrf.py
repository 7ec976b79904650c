"""The VRF bindings of unnumbered interfaces against VPP (the simulator, or a real VPP).

As a pod's interfaces are bound: several interfaces unnumbered to a loopback in the pod VRF
(IPv4 only). VPP sets unnumbered only when the unnumbered interface is already in both of the
numbered one's tables, so each is first put into them. What VPP holds is checked, and how
many tables the agent read to get there: none for interfaces the agent created itself (it
knows where they are), one per unknown table otherwise (a NIC, or after an agent restart);
an agent restart writes nothing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from contivpy.models.vpp_interfaces import AfPacketLink, Interface, InterfaceType, MemifLink
from contivpy.models.vpp_keys import interface_key, unnumbered_key, vrf_table_key
from contivpy.models.vpp_l3 import IpProtocol, VrfTable
from contivpy.scheduler import Txn, ValueState
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.retvals import Retval
from descriptors.harness import Agent, nic_name, start_agent
from vpp_target.snapshot import InterfaceSnapshot, VppSnapshot
from vpp_target.target import VppTarget

pytestmark = pytest.mark.vpp

READ = "sw_interface_get_table"
VRF = 7
GATEWAY = Interface("gw", InterfaceType.LOOPBACK, vrf=VRF, ip_addresses=("10.7.0.1/24",))


def _pod(target: VppTarget, n: int, numbered: str = "gw") -> dict[str, Interface]:
    """A pod's interfaces (as in veth mode, plus a memif), all unnumbered to ``numbered``."""
    link = AfPacketLink(target.host_link(f"cvt-vrf{n}"))
    memif = MemifLink(id=n, socket_id=20 + n, socket_filename=f"/run/vpp/vrf{n}.sock", master=False)
    interfaces = [
        Interface(f"pod{n}/eth0", InterfaceType.AF_PACKET, unnumbered=numbered, link=link),
        Interface(f"pod{n}/mem", InterfaceType.MEMIF, unnumbered=numbered, link=memif),
        Interface(f"pod{n}/lo", InterfaceType.LOOPBACK, unnumbered=numbered),
    ]
    return {interface_key(i.name): i for i in interfaces}


def _base() -> dict[str, object]:
    return {vrf_table_key(VRF, IpProtocol.IPV4): VrfTable(VRF), interface_key("gw"): GATEWAY}


async def _commit(agent: Agent, desired: dict[str, object]) -> None:
    result = await agent.scheduler.commit(Txn(desired))
    assert result.ok, [str(e) for e in result.record.errors]


async def _assert_borrowing(agent: Agent, pods: dict[str, Interface], vrf: int = VRF) -> None:
    """Every pod interface unnumbered to its numbered one, in that one's tables."""
    snapshot = await agent.snapshot()
    for value in pods.values():
        assert agent.scheduler.status(unnumbered_key(value.name)).state is ValueState.CONFIGURED
        assert value.unnumbered is not None
        made = _find(snapshot, value.name)
        assert made.unnumbered_of == _find(snapshot, value.unnumbered).sw_if_index
        assert (made.vrf4, made.vrf6) == (vrf, 0)


def _find(snapshot: VppSnapshot, name: str) -> InterfaceSnapshot:
    """Our interface by its tag, or a NIC (configured by VPP's name, untagged)."""
    try:
        return snapshot.by_tag(name)
    except KeyError:
        return snapshot.by_name(name)


async def test_binding_interfaces_it_made_reads_no_table(target: VppTarget, agent: Agent) -> None:
    await _commit(agent, _base())
    agent.channel.reset()
    pods = _pod(target, 1)
    await _commit(agent, dict(pods))
    await _assert_borrowing(agent, pods)
    assert agent.channel.calls[READ] == 0
    assert await agent.mismatches({**_base(), **pods}) == []

    # and back out: each into table 0 again, still without reading
    await _commit(agent, dict.fromkeys(pods))
    snapshot = await agent.snapshot()
    assert all(not i.tag.startswith("pod1/") for i in snapshot.tagged())
    assert agent.channel.calls[READ] == 0


async def test_a_rebinding_after_an_unbinding_moves_the_interface_again(
    target: VppTarget, agent: Agent
) -> None:
    # What was remembered of the first binding must not survive its removal: the
    # interface is in table 0 again and must be moved again.
    pods = _pod(target, 2)
    await _commit(agent, {**_base(), **pods})
    await _assert_borrowing(agent, pods)
    alone = {k: replace(v, unnumbered=None) for k, v in pods.items()}
    await _commit(agent, dict(alone))
    snapshot = await agent.snapshot()
    assert all(
        (snapshot.by_tag(v.name).vrf4, snapshot.by_tag(v.name).unnumbered_of) == (0, None)
        for v in alone.values()
    )
    await _commit(agent, dict(pods))
    await _assert_borrowing(agent, pods)

    # to another numbered interface in another VRF
    other = Interface("gw8", InterfaceType.LOOPBACK, vrf=8, ip_addresses=("10.8.0.1/24",))
    moved = {k: replace(v, unnumbered="gw8") for k, v in pods.items()}
    agent.channel.reset()
    await _commit(
        agent,
        {vrf_table_key(8, IpProtocol.IPV4): VrfTable(8), interface_key("gw8"): other, **moved},
    )
    await _assert_borrowing(agent, moved, vrf=8)
    assert agent.channel.calls[READ] == 0


async def test_an_agent_restart_writes_nothing_and_reads_only_what_it_does_not_know(
    target: VppTarget, agent: Agent
) -> None:
    pods = _pod(target, 3)
    desired = {**_base(), **pods}
    await _commit(agent, desired)
    await agent.stop()

    restarted = await start_agent(agent.target)
    try:
        result = await restarted.scheduler.resync_full(dict(desired))
        assert result.ok, [str(e) for e in result.record.errors]
        assert (restarted.channel.writes, result.writes) == (0, 0)
        await _assert_borrowing(restarted, pods)

        # a new pod: the restart read the gateway's IPv4 table (it has IPv4 addresses), so
        # only its IPv6 table is read (by each binding that runs before one has read it),
        # never the new interfaces' own; and the next pod reads nothing
        restarted.channel.reset()
        more = _pod(target, 4)
        await _commit(restarted, dict(more))
        await _assert_borrowing(restarted, more)
        assert 1 <= restarted.channel.calls[READ] <= len(more)
        restarted.channel.reset()
        again = _pod(target, 6)
        await _commit(restarted, dict(again))
        await _assert_borrowing(restarted, again)
        assert restarted.channel.calls[READ] == 0

        # an interface found at the restart: its tables are not known, so read (both)
        restarted.channel.reset()
        gone = interface_key("pod3/lo")
        await _commit(restarted, {gone: None})
        assert restarted.channel.calls[READ] == 2
        assert all(i.tag != "pod3/lo" for i in (await restarted.snapshot()).tagged())
    finally:
        await restarted.stop()


async def test_a_nic_is_read_as_it_was_not_made_here(target: VppTarget, agent: Agent) -> None:
    if target.real:
        pytest.skip("configures a NIC by name: a real VPP's NICs are not the tests' to change")
    name = await nic_name(target, agent.client)
    nic = Interface(name, InterfaceType.DPDK, enabled=True, unnumbered="gw")
    await _commit(agent, _base())
    agent.channel.reset()
    await _commit(agent, {interface_key(name): nic})
    await _assert_borrowing(agent, {interface_key(name): nic})
    # the NIC was not made here: what the agent's start read of it (its IPv4 table: it has
    # no addresses and was not asked for) is known, its IPv6 table is read
    assert agent.channel.calls[READ] == 1


async def test_a_failed_move_is_retried_from_what_vpp_holds(
    sim: VppSimulator, target: VppTarget, agent: Agent
) -> None:
    await _commit(agent, _base())
    sim.fail_next("sw_interface_set_table", int(Retval.BUSY))
    pods = _pod(target, 5)
    result = await agent.scheduler.commit(Txn(dict(pods)))
    assert not result.ok
    await agent.settled()
    await _assert_borrowing(agent, pods)
    assert await agent.mismatches({**_base(), **pods}) == []
