"""Fixtures: a real scheduler over test southbounds (see ``scenario``), an event history, a
fake agent, and the debug API served in memory (grpclib ChannelFor) or on a unix socket."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from grpclib.testing import ChannelFor

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.debug_service import DebugService
from contivpy.api.request_codec import RequestCodec
from contivpy.api.server import DebugServer, DebugServerSettings
from contivpy.events.history import EventHistory, EventRecord
from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.southbound import BaseDescriptor, ChildDescriptor, Item, Southbound

from .scenario import DESIRED, FOREIGN, NOW, FakeAgent, MemifDescriptor


@pytest.fixture
def sb() -> Southbound:
    southbound = Southbound()
    southbound.plant_foreign(FOREIGN, Item("theirs"))
    return southbound


@pytest.fixture
def memifs() -> MemifDescriptor:
    return MemifDescriptor()


@pytest.fixture
async def scheduler(sb: Southbound, memifs: MemifDescriptor) -> AsyncIterator[Scheduler]:
    sched = Scheduler(retry=RetryPolicy(max_attempts=0))
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    sched.register(memifs)
    await sched.start()
    result = await sched.resync_full(DESIRED, "first full resync")
    assert result.ok
    yield sched
    await sched.stop()


@pytest.fixture
def events() -> EventHistory:
    history = EventHistory()
    now = time.time()  # the history drops what is older than a day by the real clock
    history.add(
        EventRecord(
            seq=0,
            name="DBResync",
            description="revision 10",
            handlers=("ipam", "podmanager"),
            changes=("ipam: 2 key(s)",),
            txn_seq=2,
            started_at=now - 100.0,
            duration=0.012,
        )
    )
    history.add(
        EventRecord(
            seq=1,
            name="KubeStateChange",
            description="pod default/web",
            handlers=("podmanager",),
            changes=(),
            txn_seq=None,
            started_at=now - 50.0,
            duration=0.001,
            error="boom",
        )
    )
    return history


@pytest.fixture
def agent(scheduler: Scheduler, events: EventHistory) -> FakeAgent:
    return FakeAgent(scheduler, events)


@pytest.fixture
def service(agent: FakeAgent) -> DebugService:
    return DebugService(agent, clock=lambda: NOW)


@pytest.fixture
async def stub(service: DebugService) -> AsyncIterator[pb.AgentDebugStub]:
    """The service over grpclib's in-memory channel."""
    async with ChannelFor([service], codec=RequestCodec()) as channel:
        yield pb.AgentDebugStub(channel)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Short: unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="cvapi", dir="/tmp") as directory:
        yield Path(directory)


@pytest.fixture
async def unix_server(agent: FakeAgent, socket_dir: Path) -> AsyncIterator[DebugServer]:
    settings = DebugServerSettings(socket_path=socket_dir / "debug.sock")
    service = DebugService(agent, clock=lambda: NOW)
    async with DebugServer(agent, settings, service=service) as server:
        yield server
