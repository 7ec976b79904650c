"""End to end: scheduler -> descriptors -> vppcalls -> VPP over a real socket (a fresh
simulator per example, or with ``CONTIVPY_VPP_SOCKET`` a real VPP made clean), on random
desired VPP states (``vpp_states``).

Properties: any sequence of desired states is reached exactly (VPP's state, read through the
API, is what the desired state implies) and re-planning it is empty; drift made behind the
agent's back through the API (``drift``) is repaired by a downstream resync; busy-VPP failures
are retried until the state converges (simulator only: it injects them); after a VPP restart
(all state lost) a downstream resync restores everything; an agent restart against an
unchanged VPP writes nothing; objects made by hand are left alone.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.models.vpp_interfaces import InterfaceType
from contivpy.models.vpp_keys import interface_key
from contivpy.scheduler import Txn, TxnResult, ValueState
from contivpy.vppcalls import interface_ip, loopback
from contivpy.vppcalls.retvals import Retval
from descriptors import vpp_states
from descriptors.drift import drift
from descriptors.harness import (
    HAS_VHOST_NET,
    Agent,
    nic_name,
    reconnected,
    restore_nic,
    start_agent,
)
from descriptors.vpp_states import af_packet_hosts, desired_states
from vpp_target.target import RESTART_VARIABLE, require_simulator, running_on_real_vpp, vpp_target

pytestmark = pytest.mark.vpp

E2E = settings(
    max_examples=int(os.environ.get("VPP_E2E_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: the NIC sub-interfaces hang on: on a real VPP without NICs the af_packet that
#: VppTarget.nic makes (which the models call by its UNTAGGED- name)
NIC = "UNTAGGED-host-cvt-nic0" if running_on_real_vpp() else vpp_states.NIC
#: a real VPP makes taps only with /dev/vhost-net
TYPES = [
    t
    for t in vpp_states.TYPES
    if t is not InterfaceType.TAP or HAS_VHOST_NET or not running_on_real_vpp()
]
STATES = desired_states(nic=NIC, types=TYPES)
#: not flipped by drift on a real VPP: its NIC (the simulator lets sub-interfaces be brought
#: up on a down parent, a real VPP does not)
KEEP_UP = frozenset({NIC.removeprefix("UNTAGGED-")} if running_on_real_vpp() else ())
Scenario = Callable[[Agent], Awaitable[None]]


def run(scenario: Scenario, *states: Mapping[str, object]) -> None:
    """Run ``scenario`` on uvloop with a fresh VPP (the Linux links the ``states``' af_packets
    need made, and the NIC) and an agent."""

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="cvpp") as directory:
            async with vpp_target(Path(directory)) as target:
                for host in sorted(af_packet_hosts(dict(s) for s in states)):
                    target.host_link(host)
                agent = await start_agent(target)
                try:
                    assert await nic_name(target, agent.client) == NIC
                    await scenario(agent)
                finally:
                    await agent.stop()

    uvloop.run(main())


async def assert_reached(agent: Agent, desired: Mapping[str, object]) -> None:
    """VPP holds exactly the desired state, every value is configured, re-planning is empty."""
    assert await agent.mismatches(desired) == []
    scheduler = agent.scheduler
    not_configured = [
        (s.key, s.state.value, s.details)
        for s in scheduler.statuses()
        if s.state not in (ValueState.CONFIGURED, ValueState.OBTAINED)
    ]
    assert not_configured == []
    assert (await scheduler.dry_run(Txn(dict(desired), full=True))).planned == ()
    assert (await scheduler.dry_run_downstream()).planned == ()


def assert_ok(result: TxnResult) -> None:
    assert result.ok, [str(e) for e in result.record.errors]


def _changes(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, object | None]:
    changes: dict[str, object | None] = {k: None for k in old if k not in new}
    changes.update({k: v for k, v in new.items() if old.get(k) != v})
    return changes


@E2E
@given(st.lists(STATES, min_size=1, max_size=3))
def test_any_sequence_of_states_is_reached_exactly(path: list[dict[str, object]]) -> None:
    async def scenario(agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(path[0]))
        await assert_reached(agent, path[0])
        for before, after in itertools.pairwise(path):
            assert_ok(await agent.scheduler.commit(Txn(_changes(before, after))))
            await assert_reached(agent, after)

    run(scenario, *path)


@E2E
@given(STATES, st.data())
def test_drift_is_repaired_by_a_downstream_resync(
    desired: dict[str, object], data: st.DataObject
) -> None:
    async def scenario(agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        done = [
            await drift(agent.client, await agent.snapshot(), data, KEEP_UP)
            for _ in range(data.draw(st.integers(1, 3)))
        ]
        assert_ok(await agent.scheduler.resync_downstream("repair: " + "; ".join(done)))
        # a flipped admin state of an interface that is not ours stays flipped: compare ours
        await assert_reached(agent, desired)

    run(scenario, desired)


#: requests that change VPP, to be refused with "busy, try again"
WRITES = [
    "create_loopback_instance",
    "tap_create_v3",
    "memif_create_v2",
    "sw_interface_tag_add_del",
    "sw_interface_set_flags",
    "sw_interface_add_del_address",
    "sw_interface_set_table",
    "ip_table_add_del",
    "ip_route_add_del",
    "ip_neighbor_add_del",
    "bridge_domain_add_del_v2",
    "sw_interface_set_l2_bridge",
    "l2fib_add_del",
    "sw_interface_set_l2_xconnect",
]


@E2E
@given(
    STATES,
    st.dictionaries(st.sampled_from(WRITES), st.integers(1, 2), min_size=1, max_size=3),
    st.sampled_from([Retval.EAGAIN, Retval.BUSY, Retval.QUEUE_FULL]),
)
def test_busy_failures_are_retried_until_the_state_converges(
    desired: dict[str, object], failures: dict[str, int], retval: Retval
) -> None:
    require_simulator("fault injection (fail_next)")

    async def scenario(agent: Agent) -> None:
        sim = agent.target.simulator
        for message, count in failures.items():
            sim.fail_next(message, int(retval), count)
        await agent.scheduler.resync_full(desired)
        await agent.settled()
        await assert_reached(agent, desired)

    run(scenario, desired)


@E2E
@given(STATES)
def test_after_a_vpp_restart_a_downstream_resync_restores_everything(
    desired: dict[str, object],
) -> None:
    if running_on_real_vpp() and not os.environ.get(RESTART_VARIABLE):
        pytest.skip(f"restarting a real VPP needs {RESTART_VARIABLE}")

    async def scenario(agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        await agent.target.restart()
        await reconnected(agent)
        await restore_nic(agent.target, agent.client, NIC)
        assert_ok(await agent.scheduler.resync_downstream("VPP restarted"))
        await assert_reached(agent, desired)

    run(scenario, desired)


@E2E
@given(STATES)
def test_an_agent_restart_against_an_unchanged_vpp_writes_nothing(
    desired: dict[str, object],
) -> None:
    async def scenario(agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        # a loopback made by hand (untagged, with an address): not ours
        handmade = await loopback.create_loopback(agent.client, loopback.LoopbackSpec())
        address = ipaddress.ip_interface("10.254.0.1/24")
        await interface_ip.add_address(agent.client, handmade, address)
        await agent.stop()

        restarted = await start_agent(agent.target)
        try:
            start_writes = restarted.channel.writes
            result = await restarted.scheduler.resync_full(desired)
            assert_ok(result)
            assert (start_writes, restarted.channel.writes, result.writes) == (0, 0, 0)
            await assert_reached(restarted, desired)
            left = (await restarted.snapshot()).interfaces[handmade]
            assert left.addresses == (address,)
            status = restarted.scheduler.status(interface_key(f"UNTAGGED-{left.name}"))
            assert status.state is ValueState.OBTAINED
        finally:
            await restarted.stop()

    run(scenario, desired)
