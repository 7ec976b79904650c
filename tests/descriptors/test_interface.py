"""The interface descriptor and its derived values against VPP (the simulator, or a real VPP).

Per interface type: create -> VPP holds it (read through the API) and retrieve gives back
exactly the desired value -> update in place -> delete. Also: re-create on a link change,
validation naming the field, dependencies ordering table -> bind -> address and unnumbered
after the numbered interface's address, a NIC configured by name, half-made interfaces removed
after a failed step, memif secrets kept out of reprs and logs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from contivpy.api.rendering import render_json
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import interface_key, vrf_table_key
from contivpy.models.vpp_l3 import IpProtocol, VrfTable
from contivpy.scheduler import OpKind, Txn, ValueState
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls.retvals import Retval
from descriptors.harness import HAS_VHOST_NET, Agent, nic_name, skip_without_taps, start_agent
from vpp_target.target import VppTarget, running_on_real_vpp, vpp_target

pytestmark = pytest.mark.vpp

NIC = "GigabitEthernet0/a/0"

CASES = {
    "loopback": Interface(
        "lo",
        InterfaceType.LOOPBACK,
        phys_address="02:00:00:00:00:01",
        mtu=1500,
        ip_addresses=("10.0.0.1/24", "2001:db8::1/64"),
    ),
    "tap": Interface(
        "pod/tap-a",
        InterfaceType.TAP,
        ip_addresses=("10.1.0.1/24",),
        link=TapLink(host_if_name="vpp1", host_namespace="pod1", rx_ring_size=1024, gso=True),
    ),
    "memif": Interface(
        "mem",
        InterfaceType.MEMIF,
        link=MemifLink(
            id=1, socket_id=3, socket_filename="/run/vpp/m3.sock", master=False, secret="hush"
        ),
    ),
    "af_packet": Interface(
        "afp",
        InterfaceType.AF_PACKET,
        phys_address="02:00:00:00:00:02",
        link=AfPacketLink("cvt-afp0"),
    ),
    "sub_interface": Interface(
        "sub",
        InterfaceType.SUB_INTERFACE,
        ip_addresses=("10.2.0.1/24",),
        link=SubInterfaceLink(NIC, 100),
    ),
    "vxlan": Interface(
        "vx", InterfaceType.VXLAN_TUNNEL, link=VxlanLink("192.168.0.1", "192.168.0.2", 10)
    ),
    "nic": Interface(NIC, InterfaceType.DPDK, mtu=9000, ip_addresses=("10.3.0.1/24",)),
}


async def _on_this_vpp(target: VppTarget, agent: Agent, value: Interface) -> Interface:
    """``value`` as this VPP can hold it: its af_packet's Linux link made, a sub-interface
    on the test's NIC (skipped where the VPP cannot make or must not change it)."""
    link = value.link
    if isinstance(link, TapLink):
        skip_without_taps()
    if isinstance(link, AfPacketLink):
        target.host_link(link.host_if_name)
    if isinstance(link, SubInterfaceLink):
        parent = await nic_name(target, agent.client)
        value = replace(value, link=replace(link, parent=parent))
        # a real VPP's stand-in NIC appeared after the agent started: let the agent see it,
        # as one that was there at its start
        await agent.scheduler.resync_downstream("the test's NIC")
    if value.type is InterfaceType.DPDK and target.real:
        pytest.skip("configures a NIC by name: a real VPP's NICs are not the tests' to change")
    return value


async def _tagged(agent: Agent) -> set[str]:
    return {i.tag for i in (await agent.snapshot()).tagged()}


async def _retrieved(agent: Agent, key: str, desired: object) -> object:
    descriptor = agent.scheduler.registry.get("vpp-interface")
    assert descriptor is not None
    found = {r.key: r.value for r in await descriptor.retrieve({key: desired})}
    return found.get(key)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_create_read_back_update_delete(target: VppTarget, agent: Agent, case: str) -> None:
    value = await _on_this_vpp(target, agent, CASES[case])
    key = interface_key(value.name)
    scheduler = agent.scheduler
    before = {i.name for i in (await agent.snapshot()).interfaces.values()}

    result = await scheduler.commit(Txn({key: value}))
    assert result.ok, result.record.errors
    assert scheduler.status(key).state is ValueState.CONFIGURED
    assert await agent.mismatches({key: value}) == []
    assert await _retrieved(agent, key, value) == value

    changed = replace(
        value,
        enabled=False,
        mtu=1400,
        ip_addresses=("10.9.0.1/24",) if value.ip_addresses else (),
    )
    result = await scheduler.commit(Txn({key: changed}))
    assert result.ok, result.record.errors
    ops = [op for op in result.record.executed if op.key == key]
    assert [op.op for op in ops] == [OpKind.UPDATE]
    assert await agent.mismatches({key: changed}) == []
    assert await _retrieved(agent, key, changed) == changed

    result = await scheduler.commit(Txn({key: None}))
    assert result.ok, result.record.errors
    snapshot = await agent.snapshot()
    assert {i.tag for i in snapshot.tagged()} == set()
    assert {i.name for i in snapshot.interfaces.values()} == before
    if value.type is InterfaceType.DPDK:
        nic = snapshot.by_name(NIC)
        assert (nic.details.admin_up, nic.addresses) == (False, ())
    assert (await scheduler.dry_run_downstream()).planned == ()


@pytest.mark.parametrize("case", ["tap", "af_packet"])
async def test_a_link_change_recreates(target: VppTarget, agent: Agent, case: str) -> None:
    if case == "tap":
        value = await _on_this_vpp(target, agent, CASES["tap"])
        assert isinstance(value.link, TapLink)
        moved = replace(value, link=replace(value.link, host_namespace="pod2"))
    else:
        value = await _on_this_vpp(target, agent, CASES["af_packet"])
        moved = replace(value, link=AfPacketLink(target.host_link("cvt-afp1")))
    key = interface_key(value.name)
    assert (await agent.scheduler.commit(Txn({key: value}))).ok
    result = await agent.scheduler.commit(Txn({key: moved}))
    assert result.ok
    ops = [(op.op, op.recreate) for op in result.record.executed if op.key == key]
    assert ops == [(OpKind.DELETE, True), (OpKind.CREATE, True)]
    assert await agent.mismatches({key: moved}) == []


async def test_table_then_binding_then_address(agent: Agent) -> None:
    value = Interface("lo", InterfaceType.LOOPBACK, vrf=7, ip_addresses=("10.7.0.1/24",))
    key = interface_key(value.name)
    table_key = vrf_table_key(7, IpProtocol.IPV4)
    scheduler = agent.scheduler
    assert (await scheduler.commit(Txn({key: value}))).ok
    address = "vpp/interface/lo/address/static/10.7.0.1/24"
    binding = "vpp/interface/lo/vrf/7/ip-version/v4"
    assert scheduler.status(binding).state is ValueState.PENDING
    assert table_key in scheduler.status(binding).details
    assert scheduler.status(address).state is ValueState.PENDING
    assert (await agent.snapshot()).by_tag("lo").addresses == ()

    result = await scheduler.commit(Txn({table_key: VrfTable(7)}))
    assert result.ok
    order = [op.key for op in sorted(result.record.executed, key=lambda op: op.started)]
    assert order.index(table_key) < order.index(binding) < order.index(address)
    assert await agent.mismatches({key: value, table_key: VrfTable(7)}) == []

    # the table goes: address, then binding, then table
    result = await scheduler.commit(Txn({table_key: None}))
    order = [op.key for op in sorted(result.record.executed, key=lambda op: op.started)]
    assert order.index(address) < order.index(binding) < order.index(table_key)
    assert scheduler.status(address).state is ValueState.PENDING


async def test_unnumbered_waits_for_the_numbered_address(target: VppTarget, agent: Agent) -> None:
    numbered = Interface("lo", InterfaceType.LOOPBACK)
    borrower = Interface("lo2", InterfaceType.LOOPBACK, unnumbered="lo")
    desired: dict[str, object] = {
        interface_key("lo"): numbered,
        interface_key("lo2"): borrower,
    }
    scheduler = agent.scheduler
    assert (await scheduler.commit(Txn(desired))).ok
    status = scheduler.status("vpp/interface/unnumbered/lo2")
    assert status.state is ValueState.PENDING
    assert "vpp/interface/lo/has-IP-address" in status.details

    desired[interface_key("lo")] = replace(numbered, ip_addresses=("10.5.0.1/24",))
    assert (await scheduler.commit(Txn(desired))).ok
    assert scheduler.status("vpp/interface/unnumbered/lo2").state is ValueState.CONFIGURED
    assert await agent.mismatches(desired) == []
    snapshot = await agent.snapshot()
    assert snapshot.by_tag("lo2").unnumbered_of == snapshot.by_tag("lo").sw_if_index
    if target.sim is not None:  # the simulator's CLI says so too
        lo = snapshot.by_tag("lo").name
        assert f"unnumbered, use {lo}" in target.sim.show_interface_addr()


async def test_an_unnumbered_interface_is_put_into_the_numbered_ones_tables(
    target: VppTarget, agent: Agent
) -> None:
    # As a pod's interface (veth mode): unnumbered to a loopback in the pod VRF (IPv4 only).
    # VPP sets unnumbered only when both are in the same IPv4 and IPv6 tables, and moves
    # neither.
    gateway = Interface("gw", InterfaceType.LOOPBACK, vrf=7, ip_addresses=("10.7.0.1/24",))
    link = AfPacketLink(target.host_link("cvt-pod0"))
    pod = Interface("pod", InterfaceType.AF_PACKET, vrf=7, unnumbered="gw", link=link)
    desired: dict[str, object] = {
        vrf_table_key(7, IpProtocol.IPV4): VrfTable(7),
        interface_key("gw"): gateway,
        interface_key("pod"): pod,
    }
    scheduler = agent.scheduler
    result = await scheduler.commit(Txn(desired))
    assert result.ok, result.record.errors
    assert scheduler.status("vpp/interface/unnumbered/pod").state is ValueState.CONFIGURED
    snapshot = await agent.snapshot()
    made, gw = snapshot.by_tag("pod"), snapshot.by_tag("gw")
    assert made.unnumbered_of == gw.sw_if_index
    assert (made.vrf4, made.vrf6) == (7, 0)
    assert await agent.mismatches(desired) == []

    before = agent.channel.writes
    assert (await scheduler.resync_full(desired)).writes == 0
    assert agent.channel.writes == before

    # no longer unnumbered: out of the borrowed tables again
    result = await scheduler.commit(Txn({interface_key("pod"): replace(pod, unnumbered=None)}))
    assert result.ok, result.record.errors
    made = (await agent.snapshot()).by_tag("pod")
    assert (made.unnumbered_of, made.vrf4, made.vrf6) == (None, 0, 0)
    result = await scheduler.commit(Txn({interface_key("pod"): None}))
    assert result.ok, result.record.errors


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Interface("x" * 64, InterfaceType.LOOPBACK), "name: longer than 63 characters"),
        (Interface("a/vrf/b", InterfaceType.LOOPBACK), "name: segment 'vrf' is reserved"),
        (
            Interface("lo", InterfaceType.LOOPBACK, ip_addresses=("10.0.0.1/24", "10.0.0.300/24")),
            "ip_addresses[1]: not an IP network",
        ),
        (
            Interface("vx", InterfaceType.VXLAN_TUNNEL, link=VxlanLink("1.1.1.1", "2.2.2.2", 0)),
            "link.vni: must be 1..16777215",
        ),
        (
            Interface("m", InterfaceType.MEMIF, link=MemifLink(ring_size=1000)),
            "link.ring_size: must be a power of 2",
        ),
        (Interface("lo", InterfaceType.LOOPBACK, link=TapLink()), "link: a loopback interface"),
        (
            Interface(
                "s",
                InterfaceType.SUB_INTERFACE,
                phys_address="02:00:00:00:00:01",
                link=SubInterfaceLink(NIC, 1),
            ),
            "phys_address: a sub-interface always has its parent's MAC",
        ),
        (
            Interface("s", InterfaceType.SUB_INTERFACE, link=SubInterfaceLink(NIC, 1, pop_tags=2)),
            "link.pop_tags: must be 0..1",
        ),
        (Interface("lo", InterfaceType.LOOPBACK, mtu=10), "mtu: must be 64..9216"),
        (
            Interface("lo", InterfaceType.LOOPBACK, ip_addresses=("10.0.0.1/24",), unnumbered="x"),
            "unnumbered: an unnumbered interface has no addresses",
        ),
        (Interface("lo", InterfaceType.LOOPBACK, phys_address="01:00:00:00:00:01"), "phys_addr"),
        (Interface("lo", InterfaceType.UNDEFINED), "type:"),
    ],
)
async def test_validation_names_the_field(agent: Agent, value: Interface, message: str) -> None:
    key = interface_key(value.name)
    await agent.scheduler.commit(Txn({key: value}))
    status = agent.scheduler.status(key)
    assert status.state is ValueState.INVALID
    assert status.details.startswith(message), status.details


async def test_a_value_under_another_key_is_invalid(agent: Agent) -> None:
    await agent.scheduler.commit(Txn({interface_key("a"): Interface("b", InterfaceType.LOOPBACK)}))
    status = agent.scheduler.status(interface_key("a"))
    assert (status.state, status.details.split(":")[0]) == (ValueState.INVALID, "key")


async def test_tap_without_vhost_net_fails_for_good(tmp_path: Path) -> None:
    # On the simulator: one that answers as a kernel without vhost-net; on a real VPP: that
    # VPP, when this kernel has no vhost-net.
    if running_on_real_vpp() and HAS_VHOST_NET:
        pytest.skip("this kernel has /dev/vhost-net: the real VPP makes taps")
    options = {} if running_on_real_vpp() else {"vhost_net": False}
    async with vpp_target(tmp_path, **options) as target:
        agent = await start_agent(target)
        try:
            # no host namespace: a real VPP fails a tap into a missing one first (-12)
            value = replace(CASES["tap"], link=TapLink(host_if_name="vpp1"))
            key = interface_key(value.name)
            result = await agent.scheduler.commit(Txn({key: value}))
            assert not result.ok
            status = agent.scheduler.status(key)
            assert status.state is ValueState.FAILED
            assert status.error is not None
            assert not status.error.retriable
            assert "vhost-net" in status.details
            assert agent.scheduler.stats.retries_scheduled == 0
            assert await _tagged(agent) == set()
        finally:
            await agent.stop()


async def test_a_failed_step_leaves_no_half_made_interface(sim: VppSimulator, agent: Agent) -> None:
    value = Interface("lo", InterfaceType.LOOPBACK, mtu=1500)
    key = interface_key(value.name)
    before = {i.name for i in (await agent.snapshot()).interfaces.values()}
    sim.fail_next("sw_interface_set_mtu", int(Retval.INVALID_VALUE))
    result = await agent.scheduler.commit(Txn({key: value}))
    assert not result.ok
    assert agent.scheduler.status(key).state is ValueState.FAILED
    assert {i.name for i in (await agent.snapshot()).interfaces.values()} == before


async def test_a_busy_vpp_is_retried(sim: VppSimulator, agent: Agent) -> None:
    value = CASES["loopback"]
    key = interface_key(value.name)
    sim.fail_next("create_loopback_instance", int(Retval.EAGAIN), count=2)
    sim.fail_next("sw_interface_add_del_address", int(Retval.BUSY))
    result = await agent.scheduler.commit(Txn({key: value}))
    assert not result.ok
    assert agent.scheduler.status(key).state is ValueState.RETRYING
    await agent.settled()
    assert agent.scheduler.status(key).state is ValueState.CONFIGURED
    assert await agent.mismatches({key: value}) == []


async def test_memif_secret_is_never_shown(sim: VppSimulator, agent: Agent) -> None:
    value = CASES["memif"]
    key = interface_key(value.name)
    assert "hush" not in repr(value)
    assert "hush" not in render_json(value)
    sim.fail_next("memif_create_v2", int(Retval.INVALID_ARGUMENT))
    with capture_logs() as logs:
        await agent.scheduler.commit(Txn({key: value}))
        await agent.scheduler.commit(Txn({key: replace(value, enabled=False)}))
    assert "hush" not in repr(logs)
    assert "hush" not in repr(agent.scheduler.txn_history())
    assert "hush" not in agent.scheduler.dot()


async def test_moving_an_interface_with_addresses_to_another_vrf(agent: Agent) -> None:
    tables = {vrf_table_key(i, IpProtocol.IPV4): VrfTable(i) for i in (1, 2)}
    value = Interface("lo", InterfaceType.LOOPBACK, vrf=1, ip_addresses=("10.7.0.1/24",))
    desired: dict[str, object] = {**tables, interface_key("lo"): value}
    assert (await agent.scheduler.commit(Txn(desired))).ok
    for vrf in (2, 0, 1):
        desired[interface_key("lo")] = replace(value, vrf=vrf)
        result = await agent.scheduler.commit(Txn(desired))
        assert result.ok, result.record.errors
        assert await agent.mismatches(desired) == []
        assert (await agent.scheduler.dry_run(Txn(desired, full=True))).planned == ()


async def test_a_multicast_tunnel_waits_for_an_address_on_its_interface(agent: Agent) -> None:
    tunnel = Interface(
        "vx",
        InterfaceType.VXLAN_TUNNEL,
        link=VxlanLink("192.168.0.1", "239.1.1.1", 5, multicast="lo"),
    )
    desired: dict[str, object] = {
        interface_key("vx"): tunnel,
        interface_key("lo"): Interface("lo", InterfaceType.LOOPBACK),
    }
    await agent.scheduler.commit(Txn(desired))
    status = agent.scheduler.status(interface_key("vx"))
    assert status.state is ValueState.PENDING
    assert "vpp/interface/lo/address/" in status.details
    desired[interface_key("lo")] = Interface(
        "lo", InterfaceType.LOOPBACK, ip_addresses=("192.168.0.1/24",)
    )
    assert (await agent.scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    snapshot = await agent.snapshot()
    vx, lo = snapshot.by_tag("vx"), snapshot.by_tag("lo")
    assert vx.vxlan is not None
    assert vx.vxlan.mcast_sw_if_index == lo.sw_if_index
    assert await _retrieved(agent, interface_key("vx"), tunnel) == tunnel
