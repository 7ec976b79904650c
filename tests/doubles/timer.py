"""A retry timer the test fires by hand, for the scheduler's ``retry_timer`` hook.

In: (delay, callback) from the scheduler each time it arms a retry. Out: every delay it was
asked for, in order, and ``fire()`` to run the armed callbacks now. A test asserts the
delays the scheduler chose instead of measuring wall-clock gaps, and never waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)  # hashable by identity: the scheduler keeps its timers in a set
class Armed:
    """One armed retry: cancelled on the scheduler's stop, run by ``ManualTimer.fire``."""

    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ManualTimer:
    """Records the retries the scheduler arms; runs them only when told to."""

    armed: list[Armed] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, delay: float, callback: Callable[[], None]) -> Armed:
        armed = Armed(delay, callback)
        self.armed.append(armed)
        self._changed.set()
        return armed

    @property
    def delays(self) -> list[float]:
        """Every delay asked for so far, fired or not, in order."""
        return [armed.delay for armed in self.armed]

    def fire(self) -> int:
        """Run every armed, not yet run, not cancelled callback; how many ran."""
        due = [armed for armed in self.armed if not armed.cancelled]
        for armed in due:
            armed.cancelled = True  # a timer runs once
            armed.callback()
        return len(due)

    async def armed_count(self, count: int, within: float = 10.0) -> None:
        """Wait until ``count`` retries have been armed in all."""
        async with asyncio.timeout(within):
            while len(self.armed) < count:
                self._changed.clear()
                await self._changed.wait()
