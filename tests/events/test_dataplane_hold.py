"""The event loop and a dataplane that goes away and comes back without its state: events
queued meanwhile wait, the downstream resync that rebuilds the dataplane runs first, and the
held events follow in arrival order (a real scheduler over the strict southbound double)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from contivpy.controllers.base import ControllerBase
from contivpy.events.loop import EventLoop
from contivpy.events.types import (
    Config,
    DBResync,
    Event,
    KubeState,
    KubeStateChange,
    UpdateResult,
)
from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.southbound import BaseDescriptor, ChildDescriptor, Item, Southbound, base_key

GATEWAY = base_key("gateway")


class OnGateway(ControllerBase):
    """A base value (the gateway) from every resync; one value per reflected object, each
    standing on the gateway (as a pod's route stands on the pod VRF)."""

    name = "on-gateway"

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        config: Config = {GATEWAY: Item("gateway")}
        for key in self.keys:
            config[base_key(key)] = Item("thing", deps=(GATEWAY,))
        return config

    async def update(self, event: Event) -> UpdateResult[None]:
        if isinstance(event, KubeStateChange):
            self.keys.add(event.key)
            return UpdateResult(changes={base_key(event.key): Item("thing", deps=(GATEWAY,))})
        return UpdateResult()


@dataclass
class Rig:
    loop: EventLoop
    sb: Southbound

    def restart_dataplane(self) -> None:
        """The dataplane restarts: everything in it is gone."""
        for key in list(self.sb.state()):
            self.sb.objects.pop(key)

    def names(self) -> list[str]:
        return [r.name for r in self.loop.history.records()]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sb = Southbound()
    sched = Scheduler(retry=RetryPolicy(max_attempts=0))
    sched.register(BaseDescriptor(sb))
    sched.register(ChildDescriptor(sb))
    await sched.start()
    loop = EventLoop([OnGateway()], sched)
    loop.start()
    loop.push(DBResync({}, revision=1))
    await loop.wait_idle()
    yield Rig(loop, sb)
    await loop.stop()
    await sched.stop()


def change(key: str, rev: int) -> KubeStateChange:
    return KubeStateChange("ns", key, None, {}, rev)


async def test_events_wait_for_the_resync_after_a_dataplane_restart(rig: Rig) -> None:
    rig.loop.dataplane_lost()
    rig.restart_dataplane()
    rig.loop.push(change("a", 2))
    rig.loop.push(change("b", 3))
    await rig.loop.wait_idle()
    assert rig.names() == ["DBResync"]  # nothing touched the dataplane while it was away
    assert rig.loop.waiting_for_dataplane
    assert rig.loop.queue_depth == 2
    rig.loop.dataplane_back("restarted")
    await rig.loop.wait_idle()
    assert rig.names() == ["DBResync", "DownstreamResync", "KubeStateChange", "KubeStateChange"]
    assert [r.error for r in rig.loop.history.records() if r.error] == []
    assert set(rig.sb.state()) == {GATEWAY, base_key("a"), base_key("b")}
    assert not rig.loop.waiting_for_dataplane


async def test_an_event_queued_before_the_resync_is_pushed_still_waits_for_it(rig: Rig) -> None:
    # VPP is back (a CNI ADD already saw it connected) but the agent has not yet queued the
    # resync: the event must not be applied to the empty dataplane.
    rig.loop.dataplane_lost()
    rig.restart_dataplane()
    rig.loop.push(change("a", 2))
    await rig.loop.wait_idle()
    rig.loop.dataplane_back("restarted")
    await rig.loop.wait_idle()
    assert rig.names() == ["DBResync", "DownstreamResync", "KubeStateChange"]
    assert set(rig.sb.state()) == {GATEWAY, base_key("a")}
    assert not rig.sb.violations


async def test_a_loss_before_the_resync_runs_keeps_events_held_until_the_next_return(
    rig: Rig,
) -> None:
    rig.loop.dataplane_lost()
    rig.loop.push(change("a", 2))
    rig.loop.dataplane_back("back once")
    rig.loop.dataplane_lost()  # gone again before that resync could run
    await rig.loop.wait_idle()
    assert "KubeStateChange" not in rig.names()
    assert rig.loop.waiting_for_dataplane
    rig.restart_dataplane()
    rig.loop.dataplane_back("back again")
    await rig.loop.wait_idle()
    # The resync of the second return runs first (the first one's, held, follows later).
    assert rig.names()[1:3] == ["DownstreamResync", "KubeStateChange"]
    assert [r.error for r in rig.loop.history.records() if r.error] == []
    assert set(rig.sb.state()) == {GATEWAY, base_key("a")}
    assert not rig.sb.violations
