"""Full resyncs replace the whole desired state, so they must be built by every controller and
never applied half-built: a healing resync after an error runs every controller (whatever
their ``handles`` says), a full resync in which a controller failed or which a controller
refuses changes nothing southbound, fails loudly and is retried by healing. Real scheduler
over the southbound double."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from contivpy.controllers.base import ControllerBase
from contivpy.events.loop import EventLoop, LoopSettings
from contivpy.events.types import (
    Config,
    DBResync,
    DownstreamResync,
    Event,
    EventTxn,
    HealingResync,
    KubeState,
    KubeStateChange,
    Method,
    UpdateResult,
    method_of,
)
from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.agent_nodes import eventually
from doubles.southbound import BaseDescriptor, Item, Southbound, base_key


class Owner(ControllerBase):
    """Puts one value per reflected "ns" object on resyncs; handles no update event at all
    (like a controller whose part only changes on resyncs)."""

    def __init__(self, name: str, prefix: str) -> None:
        self.name = name
        self.prefix = prefix
        self.fail = False
        self.refuse = ""
        self.resyncs = 0

    def handles(self, event: Event) -> bool:
        return False

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self.resyncs += 1
        if self.fail:
            raise RuntimeError(f"{self.name} cannot read its state")
        return {base_key(f"{self.prefix}-{key}"): Item(self.name) for key in state.get("ns", {})}

    def check_resync(self, txn: EventTxn) -> str:
        return self.refuse


class Changer(ControllerBase):
    """Handles updates; a change it cannot apply fails the event (so healing follows)."""

    name = "changer"

    async def update(self, event: Event) -> UpdateResult[None]:
        if isinstance(event, KubeStateChange):
            return UpdateResult(event.key, {base_key(f"change-{event.key}"): Item("change")})
        return UpdateResult()


@dataclass
class Rig:
    loop: EventLoop
    sched: Scheduler
    sb: Southbound
    first: Owner
    second: Owner


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sb = Southbound()
    sched = Scheduler(retry=RetryPolicy(max_attempts=0))
    sched.register(BaseDescriptor(sb))
    await sched.start()
    first, second = Owner("first", "a"), Owner("second", "b")
    loop = EventLoop([first, second, Changer()], sched, settings=LoopSettings(healing_delay=0.01))
    loop.start()
    yield Rig(loop, sched, sb, first, second)
    await loop.stop()
    await sched.stop()


STATE: KubeState = {"ns": {"x": {}, "y": {}}}
WANTED = {base_key(k) for k in ("a-x", "a-y", "b-x", "b-y")}


async def healed(rig: Rig) -> None:
    """Wait until a healing resync succeeded."""
    for _ in range(500):
        await rig.loop.wait_idle()
        if any(r.name == "HealingResync" and not r.error for r in rig.loop.history.records()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no healing resync succeeded")


def test_the_method_of_an_event_comes_from_one_place() -> None:
    assert HealingResync(after_error=True).method is Method.FULL_RESYNC
    assert method_of(HealingResync(after_error=True)) is Method.FULL_RESYNC
    assert HealingResync(after_error=False).method is Method.DOWNSTREAM_RESYNC
    assert DBResync({}, 1).method is Method.FULL_RESYNC
    assert DownstreamResync().method is Method.DOWNSTREAM_RESYNC
    assert KubeStateChange("ns", "x", None, {}, 2).method is Method.UPDATE


async def test_healing_after_an_error_is_built_by_every_controller(rig: Rig) -> None:
    rig.loop.push(DBResync(STATE, revision=1))
    await rig.loop.wait_idle()
    assert set(rig.sb.state()) == WANTED
    rig.sb.fail("create", base_key("change-z"), 1, retriable=False)
    rig.loop.push(KubeStateChange("ns", "z", None, {}, 2))
    await healed(rig)
    # The healing full resync ran both owners: nothing they configured was deleted, and the
    # failed change is put back.
    assert rig.first.resyncs == rig.second.resyncs == 2
    assert set(rig.sb.state()) == WANTED | {base_key("a-z"), base_key("b-z")}
    healing = [r for r in rig.loop.history.records() if r.name == "HealingResync"][-1]
    assert set(healing.handlers) == {"first", "second", "changer"}


async def test_a_full_resync_with_a_failed_controller_changes_nothing(rig: Rig) -> None:
    rig.loop.push(DBResync(STATE, revision=1))
    await rig.loop.wait_idle()
    writes = rig.sb.writes
    rig.second.fail = True
    rig.loop.push(DBResync({"ns": {"x": {}}}, revision=5, reason="relist"))
    await rig.loop.wait_idle()
    record = [r for r in rig.loop.history.records() if r.name == "DBResync"][-1]
    assert "not every controller" in record.error
    assert "second cannot read its state" in record.error
    assert record.txn_seq is None  # never reached the scheduler
    assert rig.sb.writes == writes
    assert set(rig.sb.state()) == WANTED
    assert rig.loop.stats.healings_scheduled >= 1
    # Once the controller works again, healing applies the new state.
    rig.second.fail = False
    await healed(rig)
    assert set(rig.sb.state()) == {base_key("a-x"), base_key("b-x")}


async def test_a_refused_desired_state_is_never_applied_and_healing_retries(rig: Rig) -> None:
    rig.loop.push(DBResync(STATE, revision=1))
    await rig.loop.wait_idle()
    writes = rig.sb.writes
    rig.first.refuse = "no base configuration while pods are wired"
    rig.loop.push(DBResync({}, revision=5, reason="relist"))
    await rig.loop.wait_idle()
    record = [r for r in rig.loop.history.records() if r.name == "DBResync"][-1]
    assert "refused" in record.error
    assert "first: no base configuration while pods are wired" in record.error
    assert rig.sb.writes == writes
    assert set(rig.sb.state()) == WANTED
    await eventually(lambda: bool(rig.loop.stats.degraded))
    await rig.loop.wait_idle()
    assert rig.loop.stats.degraded  # healing keeps failing while refused: reported
    assert set(rig.sb.state()) == WANTED
    rig.first.refuse = ""
    await healed(rig)
    assert rig.sb.state() == {}
