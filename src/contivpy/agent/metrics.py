"""The node agent's Prometheus metrics, one registry per agent process.

In: what the agent's parts report as it happens (``AgentMetrics`` is the observer the
NodeAgent hands each of them at construction: the event loop's ``EventObserver``, the VPP
connection's ``CallObserver``, the CNI bridge's ``CniObserver``, and the agent's own VPP
watch), and what is read when scraped (``AgentReadings``: the event queue, the scheduler's
and the loop's counters, the pods, etcd reconnects). Out: ``registry``, which the agent's
HTTP endpoint serves at ``/metrics``. One registry per instance, not prometheus_client's
global one, so several agents in one process (tests, the demo) do not collide.

Series (names ``contivpy_agent_*``, as the reflector's are ``contivpy_reflector_*``):

- ``event_seconds{event}`` (histogram): an event's processing, controllers to record;
  ``event_failures_total{event}``; ``event_queue_length``, ``event_queue_overflows_total``.
- ``transactions_total{kind,outcome}``: scheduler transactions by kind (nb-change,
  full-resync, downstream-resync, refresh-start, retry) and outcome (ok, failed);
  ``scheduler_ops_total{op,outcome}``: southbound operations (create, update, delete);
  ``scheduler_retries_total``: retries scheduled; ``scheduler_queue_length``.
- ``vpp_call_seconds{message}`` (histogram): request to answer, dumps included;
  ``vpp_call_errors_total{message,retval}``: a non-zero retval raised ("-2"), or "timeout",
  "disconnected".
- ``cni_request_seconds{command,outcome}`` (histogram): CNI ADD / DEL, ok or failed.
- ``pods``: pods wired on this node.
- ``vpp_reconnects_total``, ``vpp_restarts_total`` (a reconnect to another VPP pid: VPP
  lost its state), ``etcd_reconnects_total``.

What the parts count themselves (the scheduler's and the loop's stats) is read at scrape
time rather than mirrored on every change, so the scheduler's hot path pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from contivpy.events.processing import LoopStats
from contivpy.scheduler import SchedulerStats

PREFIX = "contivpy_agent_"

#: Prometheus's usual 1-2.5-5 ladder of bucket bounds, from 100 µs to 10 s
_LADDER = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def _buckets(low: float, high: float) -> tuple[float, ...]:
    """The ladder's bounds from ``low`` to ``high``."""
    return tuple(bound for bound in _LADDER if low <= bound <= high)


#: VPP answers in tens of microseconds; a slow one takes seconds (timeout 5 s)
VPP_CALL_BUCKETS = _buckets(0.0001, 5.0)
#: an event takes milliseconds; a full resync of a big node seconds
EVENT_BUCKETS = _buckets(0.0005, 10.0)
#: a CNI ADD takes milliseconds; one waiting for VPP's return up to ``vpp_wait`` (30 s)
CNI_BUCKETS = (*_buckets(0.005, 10.0), 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class AgentReadings:
    """What the agent's metrics read when scraped (the NodeAgent provides it)."""

    event_queue_length: Callable[[], int]
    loop: LoopStats
    scheduler: SchedulerStats
    pods: Callable[[], int]
    etcd_reconnects: Callable[[], int]


class AgentMetrics:
    """The agent's metrics (see the module doc)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._event_seconds = Histogram(
            f"{PREFIX}event_seconds",
            "Processing time of an event, by event type",
            ["event"],
            buckets=EVENT_BUCKETS,
            registry=registry,
        )
        self._event_failures = Counter(
            f"{PREFIX}event_failures",
            "Events whose controllers or transaction failed, by event type",
            ["event"],
            registry=registry,
        )
        self._vpp_call_seconds = Histogram(
            f"{PREFIX}vpp_call_seconds",
            "Time from a VPP API request to its answer, by message",
            ["message"],
            buckets=VPP_CALL_BUCKETS,
            registry=registry,
        )
        self._vpp_call_errors = Counter(
            f"{PREFIX}vpp_call_errors",
            "VPP API calls that failed, by message and retval (or timeout, disconnected)",
            ["message", "retval"],
            registry=registry,
        )
        self._cni_seconds = Histogram(
            f"{PREFIX}cni_request_seconds",
            "Time to handle a CNI ADD or DEL, by command and outcome",
            ["command", "outcome"],
            buckets=CNI_BUCKETS,
            registry=registry,
        )
        self._vpp_reconnects = Counter(
            f"{PREFIX}vpp_reconnects",
            "Connections to VPP made again after one was lost",
            registry=registry,
        )
        self._vpp_restarts = Counter(
            f"{PREFIX}vpp_restarts",
            "VPP restarts detected (reconnected to another VPP process: its state was lost)",
            registry=registry,
        )
        # Children by label value, so the hot paths skip prometheus_client's labels() lookup.
        self._call_histograms: dict[str, Histogram] = {}
        self._event_histograms: dict[str, Histogram] = {}
        self._readings = _ReadingsCollector()
        registry.register(self._readings)

    def watch(self, readings: AgentReadings) -> None:
        """Read these when scraped from now on (the agent, once built)."""
        self._readings.readings = readings

    # --- events/processing.EventObserver --------------------------------------------------

    def event_processed(self, name: str, seconds: float, failed: bool) -> None:
        _child(self._event_histograms, self._event_seconds, name).observe(seconds)
        if failed:
            self._event_failures.labels(event=name).inc()

    # --- vppcalls/observer.CallObserver ---------------------------------------------------

    def call_answered(self, message: str, seconds: float) -> None:
        _child(self._call_histograms, self._vpp_call_seconds, message).observe(seconds)

    def call_failed(self, message: str, error: str) -> None:
        self._vpp_call_errors.labels(message=message, retval=error).inc()

    # --- agent/cni_bridge.CniObserver -----------------------------------------------------

    def cni_done(self, command: str, ok: bool, seconds: float) -> None:
        outcome = "ok" if ok else "failed"
        self._cni_seconds.labels(command=command, outcome=outcome).observe(seconds)

    # --- the agent's VPP watch ------------------------------------------------------------

    def vpp_reconnected(self, *, restarted: bool) -> None:
        """A connection to VPP was made again; ``restarted``: to another VPP process."""
        self._vpp_reconnects.inc()
        if restarted:
            self._vpp_restarts.inc()


def _child(children: dict[str, Histogram], histogram: Histogram, value: str) -> Histogram:
    """``histogram``'s child for its one label's ``value``, kept in ``children``."""
    child = children.get(value)
    if child is None:
        child = children[value] = histogram.labels(value)
    return child


class _ReadingsCollector:
    """The series read from the agent's parts when scraped (none before the agent exists,
    but the gauges, at zero)."""

    def __init__(self) -> None:
        self.readings: AgentReadings | None = None

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self.readings)

    @staticmethod
    def _families(readings: AgentReadings | None) -> list[Metric]:
        queue = GaugeMetricFamily(
            f"{PREFIX}event_queue_length", "Events waiting in the event loop's queues"
        )
        overflows = CounterMetricFamily(
            f"{PREFIX}event_queue_overflows", "Events refused because the queue was full"
        )
        txns = CounterMetricFamily(
            f"{PREFIX}transactions",
            "Scheduler transactions, by kind and outcome",
            labels=["kind", "outcome"],
        )
        ops = CounterMetricFamily(
            f"{PREFIX}scheduler_ops",
            "Southbound operations the scheduler executed, by operation and outcome",
            labels=["op", "outcome"],
        )
        retries = CounterMetricFamily(
            f"{PREFIX}scheduler_retries", "Retries of failed operations the scheduler scheduled"
        )
        txn_queue = GaugeMetricFamily(
            f"{PREFIX}scheduler_queue_length", "Transactions waiting in the scheduler's queue"
        )
        pods = GaugeMetricFamily(f"{PREFIX}pods", "Pods wired on this node")
        etcd = CounterMetricFamily(
            f"{PREFIX}etcd_reconnects", "Connections to etcd made again after one was lost"
        )
        if readings is None:
            for family in (queue, overflows, retries, txn_queue, pods, etcd):
                family.add_metric([], 0)
        else:
            stats = readings.scheduler
            queue.add_metric([], readings.event_queue_length())
            overflows.add_metric([], readings.loop.overflows)
            for (kind, outcome), count in sorted(dict(stats.outcomes).items()):
                txns.add_metric([kind, outcome], count)
            failed = dict(stats.ops_failed)
            for op, count in sorted(dict(stats.ops).items()):
                ops.add_metric([op, "ok"], count - failed.get(op, 0))
                ops.add_metric([op, "failed"], failed.get(op, 0))
            retries.add_metric([], stats.retries_scheduled)
            txn_queue.add_metric([], stats.queue_depth)
            pods.add_metric([], readings.pods())
            etcd.add_metric([], readings.etcd_reconnects())
        return [queue, overflows, txns, ops, retries, txn_queue, pods, etcd]
