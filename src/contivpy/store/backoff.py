"""Exponential backoff delays with jitter, for reconnecting watches and keep-alives.

In: initial delay, factor, cap and jitter fraction. Out: an endless iterator of delays in
seconds. Jitter spreads reconnects of many agents after an etcd restart, so they do not all
hit the new leader in the same millisecond.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``initial``, then times ``factor`` per attempt up to ``maximum``, each ± ``jitter``."""

    initial: float = 0.05
    factor: float = 2.0
    maximum: float = 2.0
    jitter: float = 0.2

    def delays(self) -> Iterator[float]:
        """Delays for attempts 1, 2, 3, ... (never ends)."""
        delay = self.initial
        while True:
            spread = delay * self.jitter
            yield max(0.0, delay + random.uniform(-spread, spread))
            delay = min(self.maximum, delay * self.factor)
