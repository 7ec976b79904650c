"""The reflector's counters per kind, as Prometheus metrics and as the ``status/gauges`` record.

In: counts from the informers (conversion errors, API errors) and the etcd writer (adds,
updates, deletes, resyncs, write errors), object totals, and leadership changes. Out: a
Prometheus registry of this reflector instance alone (so several instances in one process,
as in tests, do not collide), and ``gauges_json``: the same counters as deterministic JSON for
etcd's ``status/gauges`` key (Contiv-VPP's KSR stored its stats there too)::

    {"pod": {"adds": 3, "deletes": 0, "errors": 0, "resyncs": 1, "updates": 2}, ...}

Counters: ``contivpy_reflector_{adds,updates,deletes,resyncs,errors}_total{kind}``; gauges:
``contivpy_reflector_objects{kind}`` (objects in the view) and ``contivpy_reflector_leader``
(1 while this instance leads); ``contivpy_reflector_data_losses_total`` counts etcd data
losses detected.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from prometheus_client import CollectorRegistry, Counter, Gauge

CounterName: TypeAlias = Literal["adds", "updates", "deletes", "resyncs", "errors"]
COUNTER_NAMES: tuple[CounterName, ...] = ("adds", "updates", "deletes", "resyncs", "errors")

_HELP: dict[CounterName, str] = {
    "adds": "Objects written to etcd that were not there",
    "updates": "Objects rewritten in etcd because they changed",
    "deletes": "Objects deleted from etcd",
    "resyncs": "Mark-and-sweep resyncs of a kind against etcd",
    "errors": "Malformed objects, API errors and failed etcd writes",
}

RECENT_ERRORS = 100  # error records kept for inspection (the debug API, tests)


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """One error met while reflecting: which kind, what (the message names the object and
    the field), when (wall-clock seconds)."""

    kind: str
    message: str
    at: float


class ReflectorStats:
    """Counters per kind (see the module doc)."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self._values: dict[str, dict[CounterName, int]] = {
            kind: dict.fromkeys(COUNTER_NAMES, 0) for kind in kinds
        }
        self._counters = {
            name: Counter(
                f"contivpy_reflector_{name}", _HELP[name], ["kind"], registry=self.registry
            )
            for name in COUNTER_NAMES
        }
        self._objects = Gauge(
            "contivpy_reflector_objects",
            "Objects of a kind in the view",
            ["kind"],
            registry=self.registry,
        )
        self._leader = Gauge(
            "contivpy_reflector_leader", "1 while this instance leads", registry=self.registry
        )
        self._data_losses = Counter(
            "contivpy_reflector_data_losses", "etcd data losses detected", registry=self.registry
        )
        self.recent_errors: deque[ErrorRecord] = deque(maxlen=RECENT_ERRORS)
        for kind in self._values:  # every series exists from the start, at zero
            for counter in self._counters.values():
                counter.labels(kind=kind)
            self._objects.labels(kind=kind).set(0)

    def count(self, kind: str, name: CounterName, amount: int = 1) -> None:
        if amount <= 0:
            return
        self._values[kind][name] += amount
        self._counters[name].labels(kind=kind).inc(amount)

    def record_error(self, kind: str, message: str) -> None:
        """Count an error of ``kind`` and keep its record."""
        self.count(kind, "errors")
        self.recent_errors.append(ErrorRecord(kind, message, time.time()))

    def value(self, kind: str, name: CounterName) -> int:
        return self._values[kind][name]

    def set_objects(self, kind: str, count: int) -> None:
        self._objects.labels(kind=kind).set(count)

    def set_leader(self, leading: bool) -> None:
        self._leader.set(1 if leading else 0)

    def data_loss(self) -> None:
        self._data_losses.inc()

    def snapshot(self) -> dict[str, dict[CounterName, int]]:
        """A copy of every counter, per kind."""
        return {kind: dict(values) for kind, values in self._values.items()}

    def gauges_json(self) -> bytes:
        """The ``status/gauges`` value."""
        return json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":")).encode()
