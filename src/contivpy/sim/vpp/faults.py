"""Faults the simulator injects on request: failed calls and slow replies.

In: "fail the next N <message> calls with <retval>", "answer <message> (or everything) after
<seconds>". Out: for each arriving request, the retval to fail it with (or None) and how long
its reply waits. Faults outlive a simulated restart: they belong to the test, not to VPP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Failure:
    retval: int
    remaining: int


@dataclass
class FaultPlan:
    """Pending failures per message and reply latency per message."""

    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _latency: dict[str, float] = field(default_factory=dict)
    default_latency: float = 0.0

    def fail(self, message: str, retval: int, count: int = 1) -> None:
        """Answer the next ``count`` requests of ``message`` with ``retval``, changing nothing."""
        if retval == 0 or count < 1:
            raise ValueError("a failure needs a non-zero retval and a count of at least 1")
        self._failures.setdefault(message, []).append(_Failure(retval, count))

    def take_failure(self, message: str) -> int | None:
        """The retval to fail this request of ``message`` with, consuming one failure."""
        queue = self._failures.get(message)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining == 0:
            queue.pop(0)
        return failure.retval

    def set_latency(self, seconds: float, message: str | None = None) -> None:
        """Delay replies to ``message`` (every message when None) by ``seconds``."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        if message is None:
            self.default_latency = seconds
        else:
            self._latency[message] = seconds

    def latency(self, message: str) -> float:
        """How long the reply to ``message`` waits."""
        return self._latency.get(message, self.default_latency)

    def clear(self) -> None:
        """No more failures or latency."""
        self._failures.clear()
        self._latency.clear()
        self.default_latency = 0.0
