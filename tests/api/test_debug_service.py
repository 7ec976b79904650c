"""The AgentDebug service over grpclib's in-memory channel, against a real scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator

import pytest
from grpclib import GRPCError, Status
from grpclib.testing import ChannelFor

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.debug_service import DebugService
from contivpy.api.request_codec import RequestCodec
from contivpy.scheduler import Scheduler, Txn, ValueState
from contivpy.vppcalls.errors import VppConnectionError
from doubles.southbound import Item, Southbound, child_key

from .scenario import (
    FOREIGN,
    STARTED,
    A,
    B,
    C,
    FakeAgent,
    M,
    MemifDescriptor,
)


async def test_status_reports_agent_vpp_resync_queues_and_counters(
    stub: pb.AgentDebugStub, scheduler: Scheduler
) -> None:
    status = await stub.status(pb.StatusRequest())
    assert status.agent is not None
    assert (status.agent.node_name, status.agent.version) == ("node-1", "0.1.0-test")
    assert status.agent.uptime_seconds == pytest.approx(125.0)
    assert status.agent.started_at_unix == STARTED
    assert status.vpp is not None
    assert (status.vpp.connected, status.vpp.pid, status.vpp.restarts) == (True, 4242, 1)
    assert status.vpp.last_restart_unix == STARTED + 5.0
    assert status.last_resync is not None
    full = scheduler.txn_history()[-1]
    assert (status.last_resync.kind, status.last_resync.seq) == ("full-resync", full.seq)
    assert status.last_resync.at_unix == full.started_at
    assert status.event_queue is not None
    assert (status.event_queue.depth, status.event_queue.capacity) == (3, 1000)
    assert status.event_queue.overflows == 2
    assert status.txn_queue is not None
    assert (status.txn_queue.depth, status.txn_queue.overflows) == (0, 0)
    assert status.counters["events.DBResync"] == 1
    assert status.counters["scheduler.txns.full-resync"] == 1
    assert status.counters["scheduler.ops.create"] == scheduler.stats.ops["create"]


def watching(
    stub: pb.AgentDebugStub, request: pb.WatchStatusRequest
) -> contextlib.aclosing[AsyncGenerator[pb.ValueStatus]]:
    """The WatchStatus stream, closed on leaving the block (which cancels the call)."""
    stream = stub.watch_status(request)
    assert isinstance(stream, AsyncGenerator)
    return contextlib.aclosing(stream)


def _values(dump: pb.DumpResponse) -> dict[str, object]:
    return {e.key: json.loads(e.value_json) for e in dump.entries}


async def test_dump_desired_renders_values_as_json_and_masks_secrets(
    stub: pb.AgentDebugStub, scheduler: Scheduler
) -> None:
    dump = await stub.dump(pb.DumpRequest(view=pb.View.DESIRED))
    assert dump.view is pb.View.DESIRED
    keys = [e.key for e in dump.entries]
    assert keys == sorted(scheduler.desired())
    assert FOREIGN not in keys  # found southbound, never desired
    values = _values(dump)
    assert values[A] == {
        "data": "a",
        "deps": [],
        "any_of": [],
        "children": [["c", "x"]],
        "props": [],
        "fixed": "",
    }
    assert values[child_key(A, "c")] == "x"
    assert values[M] == {
        "name": "m1",
        "mode": "IP",
        "mac": "020000000001",
        "secret": "***",
        "queues": [1],
    }
    assert all("hunter2" not in e.value_json for e in dump.entries)
    entries = {e.key: e for e in dump.entries}
    assert (entries[A].state, entries[A].origin) == ("configured", "nb")
    assert entries[C].state == "pending"
    assert "never" in entries[C].details
    assert entries[child_key(A, "c")].derived_from == A


async def test_dump_unspecified_view_means_desired(stub: pb.AgentDebugStub) -> None:
    dump = await stub.dump(pb.DumpRequest(key_prefix="t/memif/"))
    assert dump.view is pb.View.DESIRED
    assert [e.key for e in dump.entries] == [M]


async def test_dump_applied_and_southbound(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound
) -> None:
    applied = await stub.dump(pb.DumpRequest(view=pb.View.APPLIED, key_prefix="t/base/"))
    assert [e.key for e in applied.entries] == sorted(scheduler.applied("t/base/"))
    entries = {e.key: e for e in applied.entries}
    assert C not in entries  # pending: not applied
    assert (entries[FOREIGN].state, entries[FOREIGN].origin) == ("obtained", "sb")
    assert json.loads(entries[FOREIGN].value_json)["data"] == "theirs"

    sb.drift_remove(B)
    southbound = await stub.dump(pb.DumpRequest(view=pb.View.SOUTHBOUND, key_prefix="t/"))
    assert southbound.view is pb.View.SOUTHBOUND
    found = _values(southbound)
    assert B not in found  # read now, not what the scheduler believes
    # The child descriptor cannot retrieve: children show inside their base's value.
    assert set(found) == {k for k in sb.objects if k.startswith("t/base/")} | {M}
    assert found[A]["children"] == [["c", "x"]]  # type: ignore[index]
    assert found[M]["secret"] == "***"  # type: ignore[index]


async def test_plan_shows_the_repair_a_drifted_southbound_needs_and_changes_nothing(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound
) -> None:
    sb.drift_remove(B)
    sb.drift_change(A, Item("a-changed"))
    objects_before = dict(sb.state())
    writes_before = sb.writes
    history_before = len(scheduler.txn_history())
    for kind in (pb.ResyncKind.DOWNSTREAM, pb.ResyncKind.FULL):
        response = await stub.plan(pb.PlanRequest(kind=kind))
        plan = response.plan
        assert plan is not None
        assert plan.dry_run
        assert not plan.executed
        ops = {(op.op, op.key) for op in plan.planned}
        assert ("create", B) in ops
        assert ("update", A) in ops
        b_op = next(op for op in plan.planned if op.key == B)
        assert json.loads(b_op.new_value_json)["data"] == "b"
    assert sb.state() == objects_before
    assert sb.writes == writes_before
    assert len(scheduler.txn_history()) == history_before
    assert scheduler.status(B).state is ValueState.CONFIGURED  # not even marked missing


async def test_resync_repairs_the_drift(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound
) -> None:
    sb.drift_remove(B)
    response = await stub.resync(pb.ResyncRequest(kind=pb.ResyncKind.DOWNSTREAM))
    record = response.record
    assert record is not None
    assert record.kind == "downstream-resync"
    assert not record.dry_run
    assert [(op.op, op.key) for op in record.executed] == [("create", B)]
    assert not record.errors
    assert B in sb.objects
    plan = (await stub.plan(pb.PlanRequest(kind=pb.ResyncKind.DOWNSTREAM))).plan
    assert plan is not None
    assert not plan.planned  # re-planning after the repair is empty


async def test_full_resync_keeps_the_desired_state_and_removes_what_is_not_desired(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound, memifs: MemifDescriptor
) -> None:
    desired_before = scheduler.desired()
    sb.drift_remove(B)
    response = await stub.resync(pb.ResyncRequest(kind=pb.ResyncKind.FULL))
    assert response.record is not None
    assert response.record.kind == "full-resync"
    assert [(op.op, op.key) for op in response.record.executed] == [("create", B)]
    assert scheduler.desired() == desired_before
    assert M in memifs.objects
    assert FOREIGN in sb.objects  # not ours: left alone


async def test_full_resync_reads_the_desired_state_when_it_runs(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound
) -> None:
    # A change queued before the resync must survive it.
    new = "t/base/new"
    queued = scheduler.submit(Txn({new: Item("new")}))
    response = await stub.resync(pb.ResyncRequest(kind=pb.ResyncKind.FULL))
    await queued
    assert response.record is not None
    assert new in scheduler.desired()
    assert new in sb.objects


async def test_full_resync_and_plan_refused_before_the_first_full_resync(
    sb: Southbound, events: object
) -> None:
    from contivpy.api.introspection import AgentStatus
    from doubles.southbound import BaseDescriptor

    sched = Scheduler()
    sched.register(BaseDescriptor(sb))
    await sched.start()
    try:
        agent = FakeAgent(sched, events, AgentStatus("n", "v", 0.0))  # type: ignore[arg-type]
        service = DebugService(agent)
        for call in (
            service.plan(pb.PlanRequest(kind=pb.ResyncKind.FULL)),
            service.resync(pb.ResyncRequest(kind=pb.ResyncKind.FULL)),
        ):
            with pytest.raises(GRPCError) as raised:
                await call
            assert raised.value.status is Status.FAILED_PRECONDITION
        assert FOREIGN in sb.objects
        downstream = await service.plan(pb.PlanRequest(kind=pb.ResyncKind.DOWNSTREAM))
        assert downstream.plan is not None
        assert sched.awaiting_first_full
    finally:
        await sched.stop()


async def test_txn_history_by_seq_and_time(stub: pb.AgentDebugStub, scheduler: Scheduler) -> None:
    await scheduler.commit(Txn({C: None}, "drop c"))
    everything = (await stub.txn_history(pb.TxnHistoryRequest())).records
    assert [r.seq for r in everything] == [r.seq for r in scheduler.txn_history()]
    assert [r.kind for r in everything] == ["refresh-start", "full-resync", "nb-change"]
    last = everything[-1]
    assert last.description == "drop c"
    assert [(v.key, v.value_json) for v in last.values] == [(C, "null")]
    one = (await stub.txn_history(pb.TxnHistoryRequest(seq=everything[1].seq))).records
    assert len(one) == 1
    full = one[0]
    assert full.kind == "full-resync"
    assert {op.key for op in full.planned} >= {A, B, M}
    assert all(op.op == "create" for op in full.executed)
    assert {op.key for op in full.executed} == {op.key for op in full.planned}
    assert full.duration_seconds > 0
    assert all(op.duration_seconds >= 0 for op in full.executed)
    since_last = pb.TxnHistoryRequest(since_unix=last.started_at_unix)
    assert [r.seq for r in (await stub.txn_history(since_last)).records] == [last.seq]
    until_first = pb.TxnHistoryRequest(since_unix=0.0, until_unix=everything[0].started_at_unix)
    assert [r.seq for r in (await stub.txn_history(until_first)).records] == [everything[0].seq]


async def test_txn_history_records_errors(
    stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound
) -> None:
    sb.fail("create", "t/base/bad", retriable=False)
    await scheduler.commit(Txn({"t/base/bad": Item("x")}, "fails"))
    record = (await stub.txn_history(pb.TxnHistoryRequest())).records[-1]
    assert [(e.key, e.op, e.retriable) for e in record.errors] == [("t/base/bad", "create", False)]
    assert "injected" in record.errors[0].cause
    failed = next(op for op in record.executed if op.key == "t/base/bad")
    assert failed.error is not None


async def test_event_history(stub: pb.AgentDebugStub) -> None:
    records = (await stub.event_history(pb.EventHistoryRequest())).records
    assert [(r.seq, r.name) for r in records] == [(0, "DBResync"), (1, "KubeStateChange")]
    first, second = records
    assert first.handlers == ["ipam", "podmanager"]
    assert first.changes == ["ipam: 2 key(s)"]
    assert first.txn_seq == 2
    assert first.duration_seconds == pytest.approx(0.012)
    assert second.txn_seq is None  # optional: unset, not 0
    assert second.error == "boom"
    after_zero = (await stub.event_history(pb.EventHistoryRequest(since_seq=0))).records
    assert [r.seq for r in after_zero] == [1]


async def test_key_timeline(stub: pb.AgentDebugStub, scheduler: Scheduler, sb: Southbound) -> None:
    sb.drift_remove(B)
    await scheduler.resync_downstream()
    timeline = await stub.key_timeline(pb.KeyTimelineRequest(key=B))
    assert timeline.key == B
    states = [r.state for r in timeline.revisions]
    assert states[-3:] == ["configured", "missing", "configured"]
    assert json.loads(timeline.revisions[-1].value_json)["data"] == "b"
    seqs = [r.txn_seq for r in timeline.revisions]
    assert seqs == sorted(seqs)
    unknown = await stub.key_timeline(pb.KeyTimelineRequest(key="t/base/unknown"))
    assert not unknown.revisions


async def test_graph_is_dot_of_the_prefix(stub: pb.AgentDebugStub) -> None:
    dot = (await stub.graph(pb.GraphRequest(key_prefix="t/base/"))).dot
    assert dot.startswith("digraph")
    assert f'"{B}" -> "{A}"' in dot
    assert f'"{C}"' in dot
    assert M not in dot
    everything = (await stub.graph(pb.GraphRequest())).dot
    assert M in everything


async def test_watch_status_streams_current_then_changes(
    stub: pb.AgentDebugStub, scheduler: Scheduler
) -> None:
    request = pb.WatchStatusRequest(key_prefix=B, include_current=True)
    async with watching(stub, request) as stream:
        current = await anext(stream)
        assert (current.key, current.state) == (B, "configured")
        # Subscribed (the current status came after the subscription): changes now arrive.
        await scheduler.commit(Txn({B: Item("b2", deps=(A,))}))
        await scheduler.commit(Txn({A: None, "t/memif/other": None}))
        changed = await asyncio.wait_for(anext(stream), 5)
        assert changed.key == B
        assert json.loads(changed.value_json)["data"] == "b2"
        pending = await asyncio.wait_for(anext(stream), 5)
        assert (pending.key, pending.state) == (B, "pending")
        assert A in pending.details
        assert pending.dropped == 0


async def test_watch_status_ends_the_subscription_when_the_client_leaves(
    agent: FakeAgent, scheduler: Scheduler
) -> None:
    # A one-slot queue: a subscription left behind would drop (and count) the later changes.
    service = DebugService(agent, watch_queue_size=1)
    async with ChannelFor([service], codec=RequestCodec()) as channel:
        stub = pb.AgentDebugStub(channel)
        request = pb.WatchStatusRequest(key_prefix=B, include_current=True)
        async with watching(stub, request) as stream:
            await anext(stream)
    for data in ("b2", "b3", "b4"):
        await scheduler.commit(Txn({B: Item(data, deps=(A,))}))
    assert scheduler.stats.status_drops == 0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.dump(pb.DumpRequest(view=pb.View(7))), "view"),
        (lambda s: s.dump(pb.DumpRequest(key_prefix="t/\x00")), "key_prefix"),
        (lambda s: s.dump(pb.DumpRequest(key_prefix="t" * 5000)), "key_prefix"),
        (lambda s: s.plan(pb.PlanRequest()), "kind"),
        (lambda s: s.resync(pb.ResyncRequest(kind=pb.ResyncKind(9))), "kind"),
        (lambda s: s.key_timeline(pb.KeyTimelineRequest()), "key"),
        (lambda s: s.key_timeline(pb.KeyTimelineRequest(key="a\nb")), "key"),
        (lambda s: s.graph(pb.GraphRequest(key_prefix="\x7f")), "key_prefix"),
        (lambda s: s.txn_history(pb.TxnHistoryRequest(seq=1, since_unix=1.0)), "seq"),
        (lambda s: s.txn_history(pb.TxnHistoryRequest(since_unix=-1.0)), "since_unix"),
        (
            lambda s: s.txn_history(pb.TxnHistoryRequest(since_unix=5.0, until_unix=1.0)),
            "until_unix",
        ),
        (lambda s: s.txn_history(pb.TxnHistoryRequest(until_unix=float("nan"))), "until_unix"),
    ],
)
async def test_invalid_arguments_name_the_field(
    stub: pb.AgentDebugStub, call: object, field: str
) -> None:
    with pytest.raises(GRPCError) as raised:
        await call(stub)  # type: ignore[operator]
    assert raised.value.status is Status.INVALID_ARGUMENT
    assert raised.value.message is not None
    assert raised.value.message.startswith(f"{field}: ")
    status = await stub.status(pb.StatusRequest())  # still serving
    assert status.agent is not None


async def test_invalid_watch_prefix_ends_the_stream_with_invalid_argument(
    stub: pb.AgentDebugStub,
) -> None:
    with pytest.raises(GRPCError) as raised:
        async with watching(stub, pb.WatchStatusRequest(key_prefix="\x01")) as stream:
            await anext(stream)
    assert raised.value.status is Status.INVALID_ARGUMENT
    assert raised.value.message is not None
    assert raised.value.message.startswith("key_prefix: ")


@pytest.mark.parametrize(
    ("sent", "method", "answer", "field"),
    [
        # A double where Dump expects the string key_prefix (field 2).
        (pb.TxnHistoryRequest(since_unix=1.0), "Dump", pb.DumpResponse, "key_prefix"),
        # A string where Dump expects the enum view (field 1).
        (pb.GraphRequest(key_prefix="x"), "Dump", pb.DumpResponse, "view"),
        # A string where Plan expects the enum kind (field 1).
        (pb.KeyTimelineRequest(key="x"), "Plan", pb.PlanResponse, "kind"),
    ],
)
async def test_wrong_field_types_are_invalid_arguments_naming_the_field(
    stub: pb.AgentDebugStub, sent: object, method: str, answer: type, field: str
) -> None:
    from grpclib.const import Cardinality

    channel = stub.channel
    async with channel.request(
        f"/contivpy.agent.v1.AgentDebug/{method}",
        Cardinality.UNARY_UNARY,
        type(sent),
        answer,
    ) as stream:
        await stream.send_message(sent, end=True)
        with pytest.raises(GRPCError) as raised:
            await stream.recv_message()
    assert raised.value.status is Status.INVALID_ARGUMENT
    assert raised.value.message is not None
    assert raised.value.message.startswith(f"{field}: ")


async def test_scheduler_stopped_is_unavailable(
    stub: pb.AgentDebugStub, scheduler: Scheduler
) -> None:
    await scheduler.stop()
    with pytest.raises(GRPCError) as raised:
        await stub.resync(pb.ResyncRequest(kind=pb.ResyncKind.DOWNSTREAM))
    assert raised.value.status is Status.UNAVAILABLE


async def test_pods_nodes_and_ipam_carry_the_agents_views(stub: pb.AgentDebugStub) -> None:
    (pod,) = (await stub.pods(pb.PodsRequest())).pods
    assert (pod.namespace, pod.name, pod.ips) == ("default", "web", ["10.1.1.2"])
    main, memif = pod.interfaces
    assert (main.name, main.sw_if_index) == ("vpp-tap-c1", 3)
    assert memif.sw_if_index is None  # not created yet: unset, not 0
    assert memif.network == "net1"
    (node,) = (await stub.nodes(pb.NodesRequest())).nodes
    assert (node.id, node.this_node, node.vpp_addresses) == (1, True, ["192.168.16.1/24"])
    ipam = await stub.ipam(pb.IpamRequest())
    assert (ipam.pod_subnet, ipam.allocations[0].pod) == ("10.1.1.0/24", "default/web")


async def test_vpp_cli_answers_vpp_text_and_refusals(
    stub: pb.AgentDebugStub, agent: FakeAgent
) -> None:
    reply = await stub.vpp_cli(pb.VppCliRequest(command="  show interface "))
    assert (reply.output, reply.ok) == ("ran show interface\n", True)
    assert not (await stub.vpp_cli(pb.VppCliRequest(command="bad"))).ok
    for command, problem in (("", "must not be empty"), ("show\nint", "control characters")):
        with pytest.raises(GRPCError) as bad:
            await stub.vpp_cli(pb.VppCliRequest(command=command))
        assert bad.value.status is Status.INVALID_ARGUMENT
        assert bad.value.message is not None
        assert bad.value.message.startswith("command: ")
        assert problem in bad.value.message
    agent.vpp_error = VppConnectionError("not connected to VPP at /run/vpp/api.sock")
    with pytest.raises(GRPCError) as down:
        await stub.vpp_cli(pb.VppCliRequest(command="show version"))
    assert down.value.status is Status.UNAVAILABLE
    assert "not connected to VPP" in (down.value.message or "")


async def test_set_log_level_checks_the_level(stub: pb.AgentDebugStub, agent: FakeAgent) -> None:
    reply = await stub.set_log_level(pb.SetLogLevelRequest(level="DEBUG"))
    assert (reply.previous, reply.level) == ("info", "debug")
    with pytest.raises(GRPCError) as bad:
        await stub.set_log_level(pb.SetLogLevelRequest(level="verbose"))
    assert bad.value.status is Status.INVALID_ARGUMENT
    assert bad.value.message == "level: 'verbose' is not one of debug, info, warning, error"
    assert agent.log_levels == ["info", "debug"]


async def test_nat_sessions_answers_what_vpp_holds_or_why_not(
    stub: pb.AgentDebugStub, agent: FakeAgent
) -> None:
    reply = await stub.nat_sessions(pb.NatSessionsRequest())
    assert (reply.users, reply.max_sessions) == (1, 64512)
    (session,) = reply.sessions
    assert (session.inside_ip, session.inside_port, session.outside_ip) == (
        "10.1.1.2",
        8080,
        "10.96.0.10",
    )
    assert (session.twice_nat, session.ext_host_nat_ip, session.ext_host_nat_port) == (
        True,
        "10.1.1.254",
        40000,
    )
    agent.nat_enabled = False
    with pytest.raises(GRPCError) as off:
        await stub.nat_sessions(pb.NatSessionsRequest())
    assert off.value.status is Status.FAILED_PRECONDITION
    assert off.value.message == "NAT44-ED is not enabled on this node's VPP"
    agent.vpp_error = VppConnectionError("not connected to VPP at /run/vpp/api.sock")
    with pytest.raises(GRPCError) as down:
        await stub.nat_sessions(pb.NatSessionsRequest())
    assert down.value.status is Status.UNAVAILABLE
    assert "not connected to VPP" in (down.value.message or "")
