"""The debug API of an agent that is still starting: Status says what it waits for (and which
etcd endpoint it uses), every other call is UNAVAILABLE naming the wait, nothing crashes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from grpclib import GRPCError, Status
from grpclib.testing import ChannelFor

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.ctl import ctl_main
from contivpy.api.debug_service import DebugService
from contivpy.api.introspection import AgentNotReadyError, AgentPhase, AgentStatus
from contivpy.api.request_codec import RequestCodec
from contivpy.api.server import DebugServer, DebugServerSettings
from contivpy.events.history import EventHistory
from contivpy.scheduler import Scheduler

from .scenario import NOW, STARTED, FakeAgent

WAITING = "agent is starting: waiting for VPP at /run/vpp/api.sock"


@dataclass
class StartingAgent:
    """An agent waiting for VPP: no scheduler or history to show yet."""

    phase: AgentPhase = AgentPhase.WAITING_FOR_VPP

    @property
    def scheduler(self) -> Scheduler:
        raise AgentNotReadyError(WAITING)

    @property
    def event_history(self) -> EventHistory:
        raise AgentNotReadyError(WAITING)

    def agent_status(self) -> AgentStatus:
        return AgentStatus(
            node_name="node-1",
            version="0.1.0-test",
            started_at=STARTED,
            phase=self.phase,
            waiting_for="VPP at /run/vpp/api.sock",
            store_endpoint="127.0.0.1:2379",
        )


@pytest.fixture
async def starting_stub() -> AsyncIterator[pb.AgentDebugStub]:
    service = DebugService(StartingAgent(), clock=lambda: NOW)
    async with ChannelFor([service], codec=RequestCodec()) as channel:
        yield pb.AgentDebugStub(channel)


async def test_status_says_what_the_starting_agent_waits_for(
    starting_stub: pb.AgentDebugStub,
) -> None:
    status = await starting_stub.status(pb.StatusRequest())
    assert status.agent is not None
    assert status.agent.phase is pb.AgentPhase.WAITING_FOR_VPP
    assert status.agent.waiting_for == "VPP at /run/vpp/api.sock"
    assert status.agent.node_name == "node-1"
    assert status.store is not None
    assert status.store.endpoint == "127.0.0.1:2379"
    assert status.last_resync == pb.LastResync()


async def test_other_calls_are_unavailable_naming_the_wait(
    starting_stub: pb.AgentDebugStub,
) -> None:
    calls = [
        starting_stub.dump(pb.DumpRequest()),
        starting_stub.plan(pb.PlanRequest(kind=pb.ResyncKind.DOWNSTREAM)),
        starting_stub.resync(pb.ResyncRequest(kind=pb.ResyncKind.DOWNSTREAM)),
        starting_stub.txn_history(pb.TxnHistoryRequest()),
        starting_stub.event_history(pb.EventHistoryRequest()),
        starting_stub.key_timeline(pb.KeyTimelineRequest(key="k")),
        starting_stub.graph(pb.GraphRequest()),
    ]
    for call in calls:
        with pytest.raises(GRPCError) as raised:
            await call
        assert (raised.value.status, raised.value.message) == (Status.UNAVAILABLE, WAITING)
    with pytest.raises(GRPCError) as raised:
        async for _ in starting_stub.watch_status(pb.WatchStatusRequest()):
            pass
    assert (raised.value.status, raised.value.message) == (Status.UNAVAILABLE, WAITING)
    assert (await starting_stub.status(pb.StatusRequest())).agent is not None  # still serving


async def test_every_phase_travels_under_its_own_name() -> None:
    for phase in AgentPhase:
        agent = StartingAgent(phase)
        async with ChannelFor([DebugService(agent)], codec=RequestCodec()) as channel:
            reply = await pb.AgentDebugStub(channel).status(pb.StatusRequest())
        assert reply.agent is not None
        assert reply.agent.phase.name == phase.name


async def ctl_over(agent: object, socket_dir: Path, *argv: str) -> tuple[int, str, str]:
    settings = DebugServerSettings(socket_path=socket_dir / "debug.sock")
    service = DebugService(agent, clock=lambda: NOW)  # type: ignore[arg-type]
    async with DebugServer(agent, settings, service=service) as server:  # type: ignore[arg-type]
        out, err = io.StringIO(), io.StringIO()
        code = await ctl_main(["--socket", str(server.socket_path), *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def test_ctl_status_shows_the_wait_and_the_etcd_endpoint(socket_dir: Path) -> None:
    code, out, err = await ctl_over(StartingAgent(), socket_dir, "status")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[2].split(None, 1) == ["phase", "waiting for VPP at /run/vpp/api.sock"]
    assert "etcd         127.0.0.1:2379" in out
    assert "NOT connected" in out


async def test_ctl_dump_of_a_starting_agent_is_one_line_and_exit_1(socket_dir: Path) -> None:
    code, out, err = await ctl_over(StartingAgent(), socket_dir, "dump")
    assert (code, out) == (1, "")
    assert err.strip().endswith(f"UNAVAILABLE: {WAITING}")


async def test_ctl_status_of_a_running_agent_says_running(
    agent: FakeAgent, socket_dir: Path
) -> None:
    code, out, _ = await ctl_over(agent, socket_dir, "status")
    assert code == 0
    assert any(line.split() == ["phase", "running"] for line in out.splitlines())
