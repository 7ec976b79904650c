"""End to end: scheduler -> descriptors -> vppcalls -> simulator over a real socket, on random
desired VPP states (``vpp_states``).

Properties: any sequence of desired states is reached exactly (VPP's state, read from the
simulator, is what the desired state implies) and re-planning it is empty; drift made behind
the agent's back is repaired by a downstream resync; busy-VPP failures are retried until the
state converges; after a VPP restart (all state lost) a downstream resync restores everything;
an agent restart against an unchanged VPP writes nothing; objects made by hand are left alone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping

import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.models.vpp_keys import interface_key
from contivpy.scheduler import Txn, TxnResult, ValueState
from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.server import VppSimulator
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls import interface_ip, loopback
from contivpy.vppcalls.retvals import Retval
from descriptors.harness import Agent, reconnected, start_agent
from descriptors.vpp_states import desired_states
from descriptors.vpp_view import mismatches

E2E = settings(
    max_examples=int(os.environ.get("VPP_E2E_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
Scenario = Callable[[VppSimulator, Agent], Awaitable[None]]


def run(scenario: Scenario) -> None:
    """Run ``scenario`` on uvloop with a fresh simulator and agent."""

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="cvpp") as directory:
            async with VppSimulator(os.path.join(directory, "api.sock")) as sim:
                agent = await start_agent(sim)
                try:
                    await scenario(sim, agent)
                finally:
                    await agent.stop()

    uvloop.run(main())


async def assert_reached(sim: VppSimulator, agent: Agent, desired: Mapping[str, object]) -> None:
    """VPP holds exactly the desired state, every value is configured, re-planning is empty."""
    assert mismatches(sim.state, desired) == []
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
@given(st.lists(desired_states(), min_size=1, max_size=3))
def test_any_sequence_of_states_is_reached_exactly(path: list[dict[str, object]]) -> None:
    async def scenario(sim: VppSimulator, agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(path[0]))
        await assert_reached(sim, agent, path[0])
        for before, after in itertools.pairwise(path):
            assert_ok(await agent.scheduler.commit(Txn(_changes(before, after))))
            await assert_reached(sim, agent, after)

    run(scenario)


def _drift(state: VppState, data: st.DataObject) -> str:
    """Change VPP behind the agent's back, as an operator or a crash would; what was done."""
    tagged = sorted((i for i in state.interfaces.values() if i.tag), key=lambda i: i.tag)
    kinds = ["admin"]
    if tagged:
        kinds += ["delete-interface", "admin"]
    if any(i.addresses for i in tagged):
        kinds.append("address")
    if any(state.routes.values()):
        kinds.append("route")
    if any(bd.members for bd in state.bridge_domains.values()):
        kinds.append("member")
    if state.neighbors:
        kinds.append("neighbour")
    kind = data.draw(st.sampled_from(kinds))
    if kind == "delete-interface":
        victim = data.draw(st.sampled_from(tagged))
        state.delete_interface(victim.sw_if_index)
        return f"deleted {victim.tag}"
    if kind == "address":
        victim = data.draw(st.sampled_from([i for i in tagged if i.addresses]))
        # Through the state's methods, as `vppctl set interface ip address` would go.
        state.remove_address(victim, victim.addresses[0])
        with contextlib.suppress(SimError):  # taken by an earlier drift: removed is drift too
            state.add_address(victim, ipaddress.ip_interface("10.250.250.250/32"))
        return f"changed an address of {victim.tag}"
    if kind == "route":
        table = data.draw(st.sampled_from([t for t, r in state.routes.items() if r]))
        prefix = data.draw(st.sampled_from(sorted(state.routes[table], key=str)))
        del state.routes[table][prefix]
        return f"removed route {prefix}"
    if kind == "member":
        bd = data.draw(st.sampled_from([b for b in state.bridge_domains.values() if b.members]))
        member = data.draw(st.sampled_from(sorted(bd.members)))
        state.leave_bridge_domain(state.interfaces[member])
        return f"took {member} out of bridge domain {bd.bd_id}"
    if kind == "neighbour":
        del state.neighbors[data.draw(st.sampled_from(sorted(state.neighbors, key=str)))]
        return "removed a neighbour"
    victim = data.draw(st.sampled_from(sorted(state.interfaces.values(), key=lambda i: i.name)))
    victim.admin_up = not victim.admin_up
    return f"flipped admin state of {victim.name}"


@E2E
@given(desired_states(), st.data())
def test_drift_is_repaired_by_a_downstream_resync(
    desired: dict[str, object], data: st.DataObject
) -> None:
    async def scenario(sim: VppSimulator, agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        done = [_drift(sim.state, data) for _ in range(data.draw(st.integers(1, 3)))]
        assert_ok(await agent.scheduler.resync_downstream("repair: " + "; ".join(done)))
        # a flipped admin state of an interface that is not ours stays flipped: compare ours
        await assert_reached(sim, agent, desired)

    run(scenario)


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
    desired_states(),
    st.dictionaries(st.sampled_from(WRITES), st.integers(1, 2), min_size=1, max_size=3),
    st.sampled_from([Retval.EAGAIN, Retval.BUSY, Retval.QUEUE_FULL]),
)
def test_busy_failures_are_retried_until_the_state_converges(
    desired: dict[str, object], failures: dict[str, int], retval: Retval
) -> None:
    async def scenario(sim: VppSimulator, agent: Agent) -> None:
        for message, count in failures.items():
            sim.fail_next(message, int(retval), count)
        await agent.scheduler.resync_full(desired)
        await agent.settled()
        await assert_reached(sim, agent, desired)

    run(scenario)


@E2E
@given(desired_states())
def test_after_a_vpp_restart_a_downstream_resync_restores_everything(
    desired: dict[str, object],
) -> None:
    async def scenario(sim: VppSimulator, agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        await sim.restart()
        await reconnected(agent, sim)
        assert_ok(await agent.scheduler.resync_downstream("VPP restarted"))
        await assert_reached(sim, agent, desired)

    run(scenario)


@E2E
@given(desired_states())
def test_an_agent_restart_against_an_unchanged_vpp_writes_nothing(
    desired: dict[str, object],
) -> None:
    async def scenario(sim: VppSimulator, agent: Agent) -> None:
        assert_ok(await agent.scheduler.resync_full(desired))
        # a loopback made by hand (untagged, with an address): not ours
        handmade = await loopback.create_loopback(agent.client, loopback.LoopbackSpec())
        await interface_ip.add_address(
            agent.client, handmade, ipaddress.ip_interface("10.254.0.1/24")
        )
        await agent.stop()

        restarted = await start_agent(sim)
        try:
            start_writes = restarted.channel.writes
            result = await restarted.scheduler.resync_full(desired)
            assert_ok(result)
            assert (start_writes, restarted.channel.writes, result.writes) == (0, 0, 0)
            await assert_reached(sim, restarted, desired)
            assert sim.state.interfaces[handmade].addresses == [
                ipaddress.ip_interface("10.254.0.1/24")
            ]
            name = sim.state.interfaces[handmade].name
            status = restarted.scheduler.status(interface_key(f"UNTAGGED-{name}"))
            assert status.state is ValueState.OBTAINED
        finally:
            await restarted.stop()

    run(scenario)
