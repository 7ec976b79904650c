"""A measured figure and the target it is held against.

In: values measured by the scenarios. Out: ``Metric`` (name, value, unit, optional target,
a detail saying what exactly was measured) and ``Target`` (a bound, and whether a value
meets it). Reports render these; nothing here measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Target:
    """A bound a metric should meet: value ``op`` ``bound``."""

    op: Literal["<=", ">=", "=="]
    bound: float

    def met(self, value: float) -> bool:
        """True when ``value`` meets the target."""
        if self.op == "<=":
            return value <= self.bound
        if self.op == ">=":
            return value >= self.bound
        return value == self.bound

    def describe(self, unit: str) -> str:
        """E.g. ``<= 1.0 s``."""
        bound = f"{self.bound:g}"
        return f"{self.op} {bound} {unit}".rstrip()


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure of one benchmark run."""

    name: str
    value: float
    unit: str
    target: Target | None = None
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        """Whether the target is met; None without a target."""
        return None if self.target is None else self.target.met(self.value)
