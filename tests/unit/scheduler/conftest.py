"""Fixtures for scheduler unit tests: a started scheduler over the southbound double."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contivpy.scheduler import RetryPolicy, Scheduler
from doubles.southbound import BaseDescriptor, ChildDescriptor, Southbound

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
