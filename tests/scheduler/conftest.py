"""Fixtures for scheduler unit tests: a started scheduler over the southbound double, with
real retry timers (``sched``) or with retries the test fires by hand (``timed_sched``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.southbound import BaseDescriptor, ChildDescriptor, Southbound
from doubles.timer import ManualTimer

FAST = RetryPolicy(period=0.01, backoff=2.0, max_attempts=3)


@pytest.fixture
def sb() -> Southbound:
    return Southbound()


@pytest.fixture
async def sched(sb: Southbound) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(retry=FAST, concurrency=4)
    scheduler.register(BaseDescriptor(sb))
    scheduler.register(ChildDescriptor(sb))
    await scheduler.start()
    yield scheduler
    await scheduler.stop()


@pytest.fixture
def timer() -> ManualTimer:
    return ManualTimer()


@pytest.fixture
async def timed_sched(sb: Southbound, timer: ManualTimer) -> AsyncIterator[Scheduler]:
    """Like ``sched``, but its retries wait for ``timer.fire()``, not for the clock."""
    scheduler = Scheduler(retry=FAST, concurrency=4, retry_timer=timer)
    scheduler.register(BaseDescriptor(sb))
    scheduler.register(ChildDescriptor(sb))
    await scheduler.start()
    yield scheduler
    await scheduler.stop()
