"""Exponential backoff: how long to wait before the next attempt of something that failed.

In: an initial delay, a factor, a cap and a jitter fraction. Out: the delay before attempt
``n`` (:meth:`Backoff.delay`) or an endless iterator of delays (:meth:`Backoff.delays`), in
seconds. One type for every layer: the store's reconnecting watches and lease keep-alives, the
reflector, the VPP client's reconnects and the scheduler's retries (``RetryPolicy``) all wait
this way. It imports nothing of contivpy, so any package may use it.

Jitter spreads the reconnects of many agents after an etcd restart, so they do not all hit
the new leader in the same millisecond; a single client of its own VPP needs none.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``initial``, then times ``factor`` per attempt up to ``maximum``, each ± ``jitter``
    (a fraction of the delay)."""

    initial: float = 0.05
    factor: float = 2.0
    maximum: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """The delay before attempt ``attempt`` (1-based), without jitter."""
        try:
            grown = self.initial * self.factor ** (attempt - 1)
        except OverflowError:  # far past the cap
            grown = math.inf
        return min(self.maximum, grown)

    def delays(self) -> Iterator[float]:
        """Delays for attempts 1, 2, 3, ... (never ends), with jitter."""
        delay = self.initial
        while True:
            spread = delay * self.jitter
            yield max(0.0, delay + random.uniform(-spread, spread)) if spread else delay
            delay = min(self.maximum, delay * self.factor)
