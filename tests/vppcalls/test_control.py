"""The simulator's control socket (JSON lines) and its process entry point."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contivpy.sim.vpp.control import ControlClient, ControlServer
from contivpy.sim.vpp.runner import serve_vppsim
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import loopback, system
from contivpy.vppcalls.client import VppClient, VppConnected
from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import VppApiError


@pytest.fixture
async def control(sim: VppSimulator, tmp_path: Path) -> AsyncIterator[ControlClient]:
    server = ControlServer(sim, str(tmp_path / "control.sock"))
    await server.start()
    client = await ControlClient.connect(server.path)
    yield client
    await client.close()
    await server.stop()


async def test_fail_then_clear(control: ControlClient, vpp: VppClient) -> None:
    await control.request("fail", message="create_loopback_instance", retval=-2, count=1)
    with pytest.raises(VppApiError, match="INVALID_SW_IF_INDEX"):
        await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    await control.request("fail", message="create_loopback_instance", retval=-2, count=5)
    await control.request("clear_faults")
    await loopback.create_loopback(vpp, loopback.LoopbackSpec())


async def test_latency_slows_replies(control: ControlClient, vpp: VppClient) -> None:
    await control.request("latency", seconds=0.1, message="show_version")
    started = asyncio.get_running_loop().time()
    await system.show_version(vpp)
    assert asyncio.get_running_loop().time() - started >= 0.09


async def test_restart_pid_and_show(control: ControlClient, sim: VppSimulator) -> None:
    before = (await control.request("pid"))["pid"]
    after = (await control.request("restart"))["pid"]
    assert after != before
    assert after == sim.pid
    text = (await control.request("show_interface_addr"))["text"]
    assert text.startswith("GigabitEthernet0/a/0 (dn):")


async def test_drop_cuts_clients_off(control: ControlClient, sim: VppSimulator) -> None:
    connection = await VppConnection.open(sim.socket_path)
    await control.request("drop")
    async with asyncio.timeout(5):
        assert "closed" in await connection.wait_closed()
    await connection.close()


async def _reconnected(client: VppClient) -> VppConnected:
    async with asyncio.timeout(5):
        while True:
            event = await client.connection_events.get()
            if isinstance(event, VppConnected) and event.reconnected:
                return event


async def test_outage_keeps_state_and_clients_come_back(
    control: ControlClient, vpp: VppClient, sim: VppSimulator
) -> None:
    index = await loopback.create_loopback(vpp, loopback.LoopbackSpec())
    pid = sim.pid
    await control.request("outage", seconds=0.1)
    assert await _reconnected(vpp) == VppConnected(pid, restarted=False, reconnected=True)
    assert sim.state.interfaces[index].name == "loop0"


async def test_bad_requests_are_answered_not_fatal(control: ControlClient) -> None:
    with pytest.raises(RuntimeError, match="unknown op"):
        await control.request("explode")
    with pytest.raises(RuntimeError, match="not a request"):
        await control.request("fail", message="sw_interface_dump", retval=-1)
    assert (await control.request("pid"))["ok"]


async def test_serve_vppsim_serves_both_sockets_until_cancelled(tmp_path: Path) -> None:
    api, ctl = str(tmp_path / "api.sock"), str(tmp_path / "ctl.sock")
    ready = asyncio.Event()
    serving = asyncio.ensure_future(serve_vppsim(api, ctl, ready=ready))
    try:
        async with asyncio.timeout(5):
            await ready.wait()
        connection = await VppConnection.open(api)
        control = await ControlClient.connect(ctl)
        pid = (await control.request("pid"))["pid"]
        assert await system.vpp_pid(connection) == pid
        await control.close()
        await connection.close()
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    assert not await asyncio.to_thread(Path(api).exists)
