"""The client's behaviour on the wire: pipelining, events, restarts, reconnects, faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from contivpy.backoff import Backoff
from contivpy.errors import is_retriable
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import interfaces, loopback, system
from contivpy.vppcalls.client import VppClient, VppConnected, VppDisconnected
from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import (
    VppApiError,
    VppApiMismatchError,
    VppConnectionError,
    VppTimeoutError,
)
from contivpy.vppcalls.retvals import Retval
from doubles.agent_nodes import eventually
from vpp_target.target import make_client


async def _next_event(client: VppClient) -> VppConnected | VppDisconnected:
    async with asyncio.timeout(5):
        return await client.connection_events.get()


async def test_many_concurrent_calls_share_one_connection(
    vpp: VppClient, sim: VppSimulator
) -> None:
    created = await asyncio.gather(
        *(loopback.create_loopback(vpp, loopback.LoopbackSpec()) for _ in range(200))
    )
    assert len(set(created)) == 200
    dumps = await asyncio.gather(*(interfaces.dump_interfaces(vpp) for _ in range(20)))
    assert all(len(d) == 202 for d in dumps)
    assert len(list(sim.state.interfaces)) == 202


async def test_pipelining_beats_one_call_at_a_time(vpp: VppClient, sim: VppSimulator) -> None:
    # Pipelined, every call reaches VPP before the first answer comes back; one call at a
    # time, the second would wait for the first answer. The answers are held back long
    # enough (1 s) that only pipelining gets all 50 requests there meanwhile.
    sim.set_latency(1.0, "create_loopback_instance")
    calls = [
        asyncio.ensure_future(loopback.create_loopback(vpp, loopback.LoopbackSpec()))
        for _ in range(50)
    ]
    await eventually(lambda: sim.requests["create_loopback_instance"] == 50, within=5.0)
    assert not any(call.done() for call in calls)  # all 50 in flight at once
    assert len(set(await asyncio.gather(*calls))) == 50


async def test_replies_match_their_requests_whatever_the_order(
    vpp: VppClient, sim: VppSimulator
) -> None:
    sim.set_latency(0.05, "create_loopback_instance")
    slow = asyncio.ensure_future(loopback.create_loopback(vpp, loopback.LoopbackSpec(instance=9)))
    version = await system.show_version(vpp)
    assert version.version.startswith("26.06")
    assert await slow == sim.state.by_name("loop9").sw_if_index  # type: ignore[union-attr]


async def test_interface_events_reach_the_subscriber(vpp: VppClient) -> None:
    events = await interfaces.subscribe_interface_events(vpp)
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await interfaces.set_admin_state(vpp, index, True)
    await loopback.delete_loopback(vpp, index)
    async with asyncio.timeout(5):
        created = await events.get()
        up = await events.get()
        gone = await events.get()
    assert created == interfaces.InterfaceEvent(index, admin_up=False, link_up=False, deleted=False)
    assert up == interfaces.InterfaceEvent(index, admin_up=True, link_up=True, deleted=False)
    assert gone.sw_if_index == index
    assert gone.deleted


async def test_a_full_event_queue_drops_and_counts(vpp: VppClient) -> None:
    events = await interfaces.subscribe_interface_events(vpp, maxsize=1)
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    for up in (True, False, True):
        await interfaces.set_admin_state(vpp, index, up)
    await system.vpp_pid(vpp)  # events before this reply have been read
    assert events.queue.qsize() == 1
    assert events.dropped == 3  # the creation's event and two of the three changes


async def test_restart_is_reported_and_the_client_reconnects(
    vpp: VppClient, sim: VppSimulator
) -> None:
    first = await _next_event(vpp)
    assert first == VppConnected(sim.pid, restarted=False, reconnected=False)
    events = await interfaces.subscribe_interface_events(vpp)
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    old_pid = sim.pid

    await sim.restart()

    assert isinstance(await _next_event(vpp), VppDisconnected)
    back = await _next_event(vpp)
    assert back == VppConnected(sim.pid, restarted=True, reconnected=True)
    assert back.pid != old_pid
    # the new VPP has nothing, and message ids moved: calls still work by name
    assert [i.name for i in await interfaces.dump_interfaces(vpp)] == [
        "local0",
        "GigabitEthernet0/a/0",
    ]
    # the subscription was re-armed on the new connection
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await interfaces.set_admin_state(vpp, index, True)
    async with asyncio.timeout(5):
        assert (await events.get()).sw_if_index == index


async def test_a_dropped_socket_reconnects_without_a_restart(
    vpp: VppClient, sim: VppSimulator
) -> None:
    await _next_event(vpp)
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    sim.drop_connections()
    assert isinstance(await _next_event(vpp), VppDisconnected)
    assert await _next_event(vpp) == VppConnected(sim.pid, restarted=False, reconnected=True)
    assert index in {i.sw_if_index for i in await interfaces.dump_interfaces(vpp)}


async def test_calls_fail_fast_and_retriably_while_vpp_is_away(
    vpp: VppClient, sim: VppSimulator
) -> None:
    await _next_event(vpp)
    await sim.stop_listening()
    assert isinstance(await _next_event(vpp), VppDisconnected)
    with pytest.raises(VppConnectionError) as away:
        await system.vpp_pid(vpp)
    assert is_retriable(away.value)
    await sim.start()
    assert isinstance(await _next_event(vpp), VppConnected)
    assert await system.vpp_pid(vpp) == sim.pid


async def test_a_call_in_flight_when_the_connection_drops_fails_retriably(
    vpp: VppClient, sim: VppSimulator
) -> None:
    sim.set_latency(1.0, "create_loopback_instance")
    call = asyncio.ensure_future(loopback.create_loopback(vpp, loopback.LoopbackSpec()))
    await eventually(lambda: sim.requests["create_loopback_instance"] == 1)  # VPP has it
    sim.drop_connections()
    with pytest.raises(VppConnectionError):
        await call


async def test_fail_next_n_calls_with_a_retval(vpp: VppClient, sim: VppSimulator) -> None:
    sim.fail_next("create_loopback_instance", Retval.EAGAIN, count=2)
    for _ in range(2):
        with pytest.raises(VppApiError) as failed:
            await loopback.create_loopback(vpp, loopback.LoopbackSpec())
        assert failed.value.retriable
        assert is_retriable(failed.value)
        assert failed.value.error_name == "EAGAIN"
    assert sim.state.by_name("loop0") is None  # a failed call changes nothing
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    assert sim.state.by_name("loop0") is not None


async def test_a_call_without_answer_times_out(sim: VppSimulator) -> None:
    client = make_client(sim.socket_path)
    client.call_timeout = 0.1
    client.health_interval = 10
    await client.start(connect_timeout=5)
    try:
        sim.set_latency(1.0, "show_version")
        with pytest.raises(VppTimeoutError):
            await system.show_version(client)
    finally:
        await client.close()


async def test_a_vpp_of_another_version_is_refused_naming_the_messages(
    sim: VppSimulator,
) -> None:
    sim.pretend_api({"tap_create_v3": "0xdeadbeef", "memif_dump": None})
    with pytest.raises(VppApiMismatchError) as mismatch:
        await VppConnection.open(sim.socket_path)
    assert mismatch.value.missing == ("memif_dump",)
    assert mismatch.value.mismatched == (("tap_create_v3", "0x3f3fd1df", "0xdeadbeef"),)
    assert "memif_dump" in str(mismatch.value)
    assert "tap_create_v3" in str(mismatch.value)

    client = make_client(sim.socket_path)
    with pytest.raises(VppApiMismatchError):
        await client.start(connect_timeout=5)
    assert not client.connected


async def test_start_gives_up_after_its_timeout_when_vpp_is_not_there(tmp_path: Path) -> None:
    client = make_client(str(tmp_path / "nothing.sock"))
    with pytest.raises(VppConnectionError, match="no connection"):
        await client.start(connect_timeout=0.2)


async def test_start_waits_for_a_vpp_that_comes_up_later(tmp_path: Path) -> None:
    path = str(tmp_path / "late.sock")
    client = make_client(path)
    starting = asyncio.ensure_future(client.start(connect_timeout=5))
    await asyncio.sleep(0.1)
    async with VppSimulator(path) as sim:
        await starting
        assert await system.vpp_pid(client) == sim.pid
        await client.close()


async def test_a_client_that_needs_less_connects_to_a_vpp_that_has_less(
    sim: VppSimulator,
) -> None:
    sim.pretend_api({"tap_create_v3": None})
    connection = await VppConnection.open(sim.socket_path, required={"show_version"})
    try:
        assert connection.table.has("show_version")
        assert not connection.table.has("tap_create_v3")
        assert (await connection.call("control_ping")).get_int("vpe_pid") == sim.pid
    finally:
        await connection.close()


async def test_a_vpp_that_comes_back_is_reconnected_without_waiting_out_the_backoff(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "back.sock")
    # A backoff far longer than the test may take: only noticing the new socket can connect.
    client = VppClient(path, call_timeout=2.0, backoff=Backoff(initial=60.0, maximum=60.0))
    starting = asyncio.ensure_future(client.start(connect_timeout=30))
    await asyncio.sleep(0.1)  # the first attempt has failed and the client waits
    async with VppSimulator(path) as sim:
        async with asyncio.timeout(10):
            await starting
        assert await system.vpp_pid(client) == sim.pid
        await client.close()


async def test_the_simulator_answers_get_api_json_without_memclnt_as_a_real_vpp(
    vpp: VppClient,
) -> None:
    modules = json.loads((await vpp.call("get_api_json")).get_str("json"))
    messages = {m[0] for module in modules for m in module.get("messages", [])}
    assert "sw_interface_dump" in messages
    assert not messages & {"control_ping", "sockclnt_create", "get_api_json"}
