"""The AgentDebug gRPC service: a running agent's state, history and resyncs, for operators.

In: AgentDebug requests (generated messages, contivpy.agent.v1) and an AgentIntrospection
(scheduler, event history, agent status). Out: responses built from them (``convert``), a
stream of status changes for WatchStatus, and two actions: Plan (a dry run of a resync:
nothing changes) and Resync. Invalid requests fail with INVALID_ARGUMENT and a message that
names the field; a stopped or overloaded scheduler with UNAVAILABLE or RESOURCE_EXHAUSTED;
nothing a client sends can crash the service. While the agent is starting (no scheduler yet:
it waits for etcd or VPP), Status answers with its phase and every other call fails with
UNAVAILABLE "agent is starting: waiting for ...".

Pods, Nodes and Ipam answer from the agent's own state (its controllers and the scheduler's
values, read-only). VppCli passes one command to VPP's debug CLI (cli_inband) and returns
VPP's text; VPP down is UNAVAILABLE. NatSessions reads the NAT44-ED sessions VPP holds
(through vppcalls, as VppCli does): FAILED_PRECONDITION when NAT44-ED is not enabled,
UNAVAILABLE when VPP cannot be asked. SetLogLevel changes the process's log level at once (it
answers in every phase); an unknown level is INVALID_ARGUMENT.

A FULL resync (or its plan) re-applies the desired state the scheduler holds, replacing it
with itself: what the controllers asked for is kept, and objects of ours that are no longer
desired are deleted. It is refused until the agent's first full resync, since until then the
desired state may be incomplete and a full resync would delete what is merely not known yet.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import structlog
from grpclib import GRPCError, Status

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api import convert
from contivpy.api.introspection import AgentIntrospection, AgentNotReadyError, NatNotEnabledError
from contivpy.api.rendering import render_json
from contivpy.errors import ContivpyError
from contivpy.events.history import EventHistory
from contivpy.logs import LEVELS as LOG_LEVELS
from contivpy.scheduler import (
    Key,
    Scheduler,
    SchedulerStats,
    SchedulerStoppedError,
    TxnQueueFullError,
    TxnRecord,
    ValueState,
)

log = structlog.get_logger(__name__)

MAX_KEY_LENGTH = 4096
MAX_CLI_LENGTH = 4096

_T = TypeVar("_T")


class DebugService(pb.AgentDebugBase):
    """AgentDebug over one agent. Serve it with ``contivpy.api.server.DebugServer``."""

    def __init__(
        self,
        agent: AgentIntrospection,
        *,
        clock: Callable[[], float] = time.time,
        watch_queue_size: int = 1000,
    ) -> None:
        self._agent = agent
        self._clock = clock
        self._watch_queue_size = watch_queue_size

    @property
    def _scheduler(self) -> Scheduler:
        return self._ready(lambda: self._agent.scheduler)

    @property
    def _history(self) -> EventHistory:
        return self._ready(lambda: self._agent.event_history)

    async def status(self, message: pb.StatusRequest) -> pb.StatusResponse:
        agent = self._agent.agent_status()
        try:
            scheduler = self._agent.scheduler
        except AgentNotReadyError:  # starting: the agent's own status is all there is
            return convert.status_response(
                agent, SchedulerStats(), pb.LastResync(), self._clock(), txn_queue_capacity=0
            )
        return convert.status_response(
            agent,
            scheduler.stats,
            convert.last_resync(scheduler.last_resync),
            self._clock(),
            txn_queue_capacity=scheduler.queue_capacity,
        )

    async def dump(self, message: pb.DumpRequest) -> pb.DumpResponse:
        prefix = _checked_key(message.key_prefix, "key_prefix", required=False)
        scheduler = self._scheduler
        view = message.view
        values: Mapping[Key, object]
        origins: dict[Key, str] = {}
        if view in (pb.View.UNSPECIFIED, pb.View.DESIRED):
            view = pb.View.DESIRED
            values = scheduler.desired(prefix)
        elif view is pb.View.APPLIED:
            values = scheduler.applied(prefix)
        elif view is pb.View.SOUTHBOUND:
            try:
                found = await scheduler.southbound(prefix)
                values = {key: item.value for key, item in found.items()}
                origins = {key: item.origin.value for key, item in found.items()}
            except Exception as error:  # a descriptor's read failed (e.g. VPP is down)
                log.warning("debug dump: southbound read failed", error=str(error))
                raise GRPCError(Status.UNAVAILABLE, f"southbound read failed: {error}") from error
        else:
            raise _invalid("view", f"unknown view {int(view)} (DESIRED, APPLIED or SOUTHBOUND)")
        entries = []
        for key in sorted(values):
            status = scheduler.status(key)
            entries.append(
                pb.DumpEntry(
                    key=key,
                    value_json=render_json(values[key]),
                    state=status.state.value,
                    details=status.details,
                    origin=origins.get(key) or _origin(status.state),
                    derived_from=status.derived_from or "",
                )
            )
        return pb.DumpResponse(view=view, entries=entries)

    async def plan(self, message: pb.PlanRequest) -> pb.PlanResponse:
        kind = _resync_kind(message.kind)
        scheduler = self._scheduler
        record: TxnRecord
        if kind is pb.ResyncKind.FULL:
            self._refuse_early_full()
            record = await _guarded(scheduler.dry_run_full_current())
        else:
            record = await _guarded(scheduler.dry_run_downstream())
        return pb.PlanResponse(plan=convert.txn_record(record))

    async def resync(self, message: pb.ResyncRequest) -> pb.ResyncResponse:
        kind = _resync_kind(message.kind)
        scheduler = self._scheduler
        log.info("debug API resync", kind=kind.name.lower())
        if kind is pb.ResyncKind.FULL:
            self._refuse_early_full()
            result = await _guarded(scheduler.resync_full_current("full resync (debug API)"))
        else:
            result = await _guarded(scheduler.resync_downstream("downstream resync (debug API)"))
        return pb.ResyncResponse(record=convert.txn_record(result.record))

    async def txn_history(self, message: pb.TxnHistoryRequest) -> pb.TxnHistoryResponse:
        since = _checked_time(message.since_unix, "since_unix")
        until = _checked_time(message.until_unix, "until_unix")
        if message.seq is not None and (since is not None or until is not None):
            raise _invalid("seq", "give either seq or since_unix/until_unix, not both")
        if since is not None and until is not None and until < since:
            raise _invalid("until_unix", "is before since_unix")
        records = self._scheduler.txn_history(seq=message.seq, since=since, until=until)
        return pb.TxnHistoryResponse(records=[convert.txn_record(r) for r in records])

    async def event_history(self, message: pb.EventHistoryRequest) -> pb.EventHistoryResponse:
        records = self._history.records(since_seq=message.since_seq)
        return pb.EventHistoryResponse(records=[convert.event_record(r) for r in records])

    async def key_timeline(self, message: pb.KeyTimelineRequest) -> pb.KeyTimelineResponse:
        key = _checked_key(message.key, "key", required=True)
        revisions = self._scheduler.timeline(key)
        return pb.KeyTimelineResponse(
            key=key, revisions=[convert.key_revision(r) for r in revisions]
        )

    async def graph(self, message: pb.GraphRequest) -> pb.GraphResponse:
        prefix = _checked_key(message.key_prefix, "key_prefix", required=False)
        return pb.GraphResponse(dot=self._scheduler.dot(prefix))

    async def watch_status(self, message: pb.WatchStatusRequest) -> AsyncIterator[pb.ValueStatus]:
        prefix = _checked_key(message.key_prefix, "key_prefix", required=False)
        scheduler = self._scheduler
        # Subscribe before reading the current statuses: a change in between is then sent
        # twice (harmless) rather than lost.
        subscription = scheduler.watch_status(prefix, self._watch_queue_size)
        try:
            if message.include_current:
                for status in scheduler.statuses(prefix):
                    yield convert.value_status(status, subscription.dropped)
            while True:
                # The queue itself, not the subscription's async iterator: a nested async
                # generator would be left unfinalised when the client goes away.
                status = await subscription.queue.get()
                yield convert.value_status(status, subscription.dropped)
        finally:
            subscription.close()

    async def pods(self, message: pb.PodsRequest) -> pb.PodsResponse:
        views = self._ready(self._agent.pod_views)
        return pb.PodsResponse(pods=[convert.pod(view) for view in views])

    async def nodes(self, message: pb.NodesRequest) -> pb.NodesResponse:
        views = self._ready(self._agent.node_views)
        return pb.NodesResponse(nodes=[convert.node(view) for view in views])

    async def ipam(self, message: pb.IpamRequest) -> pb.IpamResponse:
        return convert.ipam(self._ready(self._agent.ipam_view))

    async def vpp_cli(self, message: pb.VppCliRequest) -> pb.VppCliResponse:
        command = message.command.strip()
        if not command:
            raise _invalid("command", "must not be empty (e.g. 'show interface')")
        if len(command) > MAX_CLI_LENGTH:
            raise _invalid("command", f"longer than {MAX_CLI_LENGTH} characters")
        if not command.isprintable():
            raise _invalid("command", "one line without control characters")
        log.info("debug API: VPP CLI", command=command)
        try:
            output = await self._agent.vpp_cli(command)
        except AgentNotReadyError as error:
            raise _not_ready(error) from error
        except ContivpyError as error:  # not connected, timed out, a protocol error
            raise GRPCError(Status.UNAVAILABLE, f"VPP: {error}") from error
        return pb.VppCliResponse(output=output.text, ok=output.ok)

    async def nat_sessions(self, message: pb.NatSessionsRequest) -> pb.NatSessionsResponse:
        try:
            view = await self._agent.nat_sessions()
        except AgentNotReadyError as error:
            raise _not_ready(error) from error
        except NatNotEnabledError as error:
            raise GRPCError(Status.FAILED_PRECONDITION, str(error)) from error
        except ContivpyError as error:  # not connected, timed out, a protocol error
            raise GRPCError(Status.UNAVAILABLE, f"VPP: {error}") from error
        return convert.nat_sessions(view)

    async def set_log_level(self, message: pb.SetLogLevelRequest) -> pb.SetLogLevelResponse:
        level = message.level.strip().lower()
        if level not in LOG_LEVELS:
            raise _invalid("level", f"{message.level!r} is not one of {', '.join(LOG_LEVELS)}")
        previous = self._agent.set_log_level(level)
        return pb.SetLogLevelResponse(previous=previous, level=level)

    def _ready(self, read: Callable[[], _T]) -> _T:
        """What ``read`` returns; UNAVAILABLE while the agent is starting."""
        try:
            return read()
        except AgentNotReadyError as error:
            raise _not_ready(error) from error

    def _refuse_early_full(self) -> None:
        if self._scheduler.awaiting_first_full:
            raise GRPCError(
                Status.FAILED_PRECONDITION,
                "kind: FULL refused before the agent's first full resync "
                "(the desired state may be incomplete); use DOWNSTREAM",
            )


async def _guarded(awaitable: Awaitable[_T]) -> _T:
    """Scheduler refusals as gRPC statuses."""
    try:
        return await awaitable
    except SchedulerStoppedError as error:
        raise GRPCError(Status.UNAVAILABLE, f"scheduler: {error}") from error
    except TxnQueueFullError as error:
        raise GRPCError(Status.RESOURCE_EXHAUSTED, f"scheduler: {error}") from error


def _not_ready(error: AgentNotReadyError) -> GRPCError:
    return GRPCError(Status.UNAVAILABLE, str(error))


def _invalid(field_name: str, problem: str) -> GRPCError:
    log.debug("debug API: invalid argument", field=field_name, problem=problem)
    return GRPCError(Status.INVALID_ARGUMENT, f"{field_name}: {problem}")


def _checked_key(text: str, field_name: str, *, required: bool) -> str:
    """A key or key prefix: printable text of sane length (required: not empty)."""
    if required and not text:
        raise _invalid(field_name, "must not be empty")
    if len(text) > MAX_KEY_LENGTH:
        raise _invalid(field_name, f"longer than {MAX_KEY_LENGTH} characters")
    if not text.isprintable():
        raise _invalid(field_name, "contains control characters")
    return text


def _checked_time(value: float | None, field_name: str) -> float | None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise _invalid(field_name, f"must be a time in seconds since the epoch, got {value}")
    return value


def _resync_kind(kind: pb.ResyncKind) -> pb.ResyncKind:
    if kind in (pb.ResyncKind.FULL, pb.ResyncKind.DOWNSTREAM):
        return kind
    raise _invalid("kind", f"choose FULL or DOWNSTREAM (got {int(kind)})")


def _origin(state: ValueState) -> str:
    """Who owns a key, as far as the scheduler knows from its state."""
    if state is ValueState.NONEXISTENT:
        return ""  # found southbound, but the scheduler has not recorded it (yet)
    return "sb" if state is ValueState.OBTAINED else "nb"
