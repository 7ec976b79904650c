"""The event loop: ordering, one transaction per event, follow-ups, blocking events, revert,
healing, overflow and history — against a real scheduler over the southbound double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from contivpy.controllers.base import ControllerBase
from contivpy.events.loop import EventLoop, EventQueueFullError, LoopSettings
from contivpy.events.types import (
    Config,
    DBResync,
    DownstreamResync,
    Event,
    HealingResync,
    KubeState,
    KubeStateChange,
    RejectedObject,
    ResyncResult,
    TxnPolicy,
    UpdateResult,
)
from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.agent_nodes import eventually
from doubles.southbound import BaseDescriptor, ChildDescriptor, Item, Southbound, base_key


@dataclass(frozen=True, eq=False)
class AddThing(Event):
    """A blocking, revert-on-failure event (shaped like a CNI ADD)."""

    name: ClassVar[str] = "AddThing"
    policy: ClassVar[TxnPolicy] = TxnPolicy.REVERT_ON_FAILURE
    blocking: ClassVar[bool] = True
    thing: str = ""


class Mirror(ControllerBase):
    """Mirrors reflected "ns" objects into base values; remembers added things."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls
        self.things: set[str] = set()
        self.fail_on: str = ""
        self.follow_up: Event | None = None

    async def resync(
        self, event: Event, state: KubeState, resync_count: int
    ) -> Config | ResyncResult:
        self.calls.append(f"{self.name}.resync")
        if self.name == "first":
            config = {base_key(key): Item("ns") for key in state.get("ns", {})}
            if "refused" in state.get("ns", {}):  # what it found, said with its config
                return ResyncResult(config, "refused: ns refused")
            return config
        return {}

    async def update(self, event: Event) -> UpdateResult[str]:
        self.calls.append(f"{self.name}.update:{event.name}")
        if isinstance(event, KubeStateChange) and self.name == "first":
            value = None if event.new is None else Item("ns")
            follow_ups = (self.follow_up,) if self.follow_up is not None else ()
            self.follow_up = None
            return UpdateResult(f"ns {event.key}", {base_key(event.key): value}, follow_ups)
        if isinstance(event, AddThing) and self.name == "second":
            if event.thing == self.fail_on:
                raise RuntimeError(f"cannot add {event.thing}")
            self.things.add(event.thing)
            return UpdateResult(
                f"added {event.thing}", {base_key(event.thing): Item("thing")}, undo=event.thing
            )
        return UpdateResult()

    async def revert(self, event: Event, undo: str | None) -> None:
        self.calls.append(f"{self.name}.revert")
        if undo is not None:
            self.things.discard(undo)


@dataclass
class Rig:
    loop: EventLoop
    sched: Scheduler
    sb: Southbound
    first: Mirror
    second: Mirror
    calls: list[str]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sb = Southbound()
    sched = Scheduler(retry=RetryPolicy(max_attempts=0))
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    calls: list[str] = []
    first, second = Mirror("first", calls), Mirror("second", calls)
    loop = EventLoop([first, second], sched, settings=LoopSettings(healing_delay=0.01))
    loop.start()
    yield Rig(loop, sched, sb, first, second, calls)
    await loop.stop()
    await sched.stop()


def change(key: str, new: object | None, rev: int, prev: object | None = None) -> KubeStateChange:
    return KubeStateChange("ns", key, prev, new, rev)


async def test_first_event_is_always_the_resync_and_earlier_events_wait(rig: Rig) -> None:
    rig.loop.push(change("late", {"x": 1}, 11))
    rig.loop.push(DBResync({"ns": {"a": {}, "b": {}}}, revision=10))
    await rig.loop.wait_idle()
    records = rig.loop.history.records()
    assert [r.name for r in records] == ["DBResync", "KubeStateChange"]
    assert records[0].seq == 0
    assert set(rig.sb.state()) == {base_key("a"), base_key("b"), base_key("late")}
    assert rig.loop.kube_state["ns"].keys() == {"a", "b", "late"}


async def test_a_resync_records_what_its_controllers_found(rig: Rig) -> None:
    rig.loop.push(DBResync({"ns": {"a": {}, "refused": {}}}, revision=10))
    rig.loop.push(HealingResync(error="test"))  # a full resync too
    await rig.loop.wait_idle()
    records = rig.loop.history.records()
    assert [(r.name, r.changes) for r in records] == [
        ("DBResync", ("first: refused: ns refused",)),
        ("HealingResync", ("first: refused: ns refused",)),
    ]
    assert set(rig.sb.state()) == {base_key("a"), base_key("refused")}


async def test_handlers_run_in_order_and_in_reverse_for_removals(rig: Rig) -> None:
    rig.loop.push(DBResync({"ns": {"a": {}}}, revision=1))
    rig.loop.push(change("a", None, 2, prev={}))
    await rig.loop.wait_idle()
    assert rig.calls == [
        "first.resync",
        "second.resync",
        "second.update:KubeStateChange",
        "first.update:KubeStateChange",
    ]
    assert rig.sb.state() == {}


async def test_resync_replaces_the_whole_desired_state(rig: Rig) -> None:
    rig.loop.push(DBResync({"ns": {"a": {}, "b": {}}}, revision=1))
    rig.loop.push(DBResync({"ns": {"b": {}, "c": {}}}, revision=5, reason="relist"))
    await rig.loop.wait_idle()
    assert set(rig.sb.state()) == {base_key("b"), base_key("c")}
    assert rig.loop.stats.resyncs == 2


async def test_follow_ups_go_before_queued_events(rig: Rig) -> None:
    rig.loop.push(DBResync({}, revision=1))
    await rig.loop.wait_idle()
    rig.first.follow_up = DownstreamResync(reason="follow-up")
    rig.loop.push(change("a", {}, 2))
    rig.loop.push(change("b", {}, 3))
    await rig.loop.wait_idle()
    names = [(r.name, r.description) for r in rig.loop.history.records()][1:]
    assert names[1][0] == "DownstreamResync"
    assert "follow-up to #1" in names[1][1]
    assert names[2][1].startswith("ns b")


async def test_blocking_event_gets_its_result(rig: Rig) -> None:
    rig.loop.push(DBResync({}, revision=1))
    result = await rig.loop.push_and_wait(AddThing(thing="t1"))
    assert result.ok
    assert result.txn is not None
    assert result.txn.ok
    assert base_key("t1") in rig.sb.objects
    record = rig.loop.history.records()[-1]
    assert record.blocking
    assert record.txn_seq == result.txn.seq
    assert record.changes == ("second: added t1",)


async def test_revert_on_failure_undoes_controllers_and_dataplane(rig: Rig) -> None:
    rig.loop.push(DBResync({}, revision=1))
    rig.sb.fail("create", base_key("t2"), 1)
    result = await rig.loop.push_and_wait(AddThing(thing="t2"))
    assert not result.ok
    assert "t2" not in rig.second.things  # the controller's internal state was reverted
    assert base_key("t2") not in rig.sb.objects
    assert rig.calls[-2:] == ["second.revert", "first.revert"]
    rig.second.fail_on = "t3"
    result = await rig.loop.push_and_wait(AddThing(thing="t3"))
    assert "cannot add t3" in result.error
    assert rig.loop.stats.healings_scheduled == 0  # the caller retries, no healing


async def test_failed_event_schedules_one_healing_resync(rig: Rig) -> None:
    rig.loop.push(DBResync({}, revision=1))
    rig.sb.fail("create", base_key("x"), 1)
    rig.loop.push(change("x", {}, 2))
    await eventually(lambda: "HealingResync" in [r.name for r in rig.loop.history.records()])
    await rig.loop.wait_idle()
    names = [r.name for r in rig.loop.history.records()]
    assert names == ["DBResync", "KubeStateChange", "HealingResync"]
    assert rig.loop.stats.healings_scheduled == 1
    assert base_key("x") in rig.sb.objects  # the healing full resync repaired it
    assert rig.loop.history.records()[-1].error == ""


async def test_rejected_objects_are_recorded_and_change_nothing(rig: Rig) -> None:
    rig.loop.push(DBResync({"ns": {"a": {}}}, revision=1))
    rig.loop.push(RejectedObject("ns/bad", "spec.ports[0].port: expected an integer", 2))
    await rig.loop.wait_idle()
    record = rig.loop.history.records()[-1]
    assert record.name == "RejectedObject"
    assert "spec.ports[0].port" in record.error
    assert "ns/bad" in record.description
    assert set(rig.sb.state()) == {base_key("a")}
    assert rig.loop.stats.healings_scheduled == 0


async def test_queue_overflow_is_refused_and_counted() -> None:
    sb = Southbound()
    sched = Scheduler()
    sched.register(BaseDescriptor(sb))
    await sched.start()
    loop = EventLoop([], sched, settings=LoopSettings(queue_size=2))
    loop.start()
    loop.push(HealingResync(after_error=False))
    loop.push(HealingResync(after_error=False))
    with pytest.raises(EventQueueFullError):
        loop.push(HealingResync(after_error=False))
    assert loop.stats.overflows == 1
    await loop.stop()
    await sched.stop()
