"""``contivpy ctl`` against a live agent socket: tables, JSON lines, errors, exit codes."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from contivpy.api.ctl import ctl_main, run_ctl
from contivpy.api.server import DebugServer
from contivpy.scheduler import Scheduler, Txn
from doubles.southbound import Southbound

from .scenario import A, B, C, FakeAgent, M


async def ctl(server: DebugServer, *argv: str) -> tuple[int, str, str]:
    """Run ctl against the server's socket: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = await ctl_main(["--socket", str(server.socket_path), *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def column_starts(header: str, names: list[str]) -> list[int]:
    return [header.index(name) for name in names]


async def test_status_prints_fields_and_counters(unix_server: DebugServer) -> None:
    code, out, err = await ctl(unix_server, "status")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["node", "node-1"]
    assert "uptime       2m05s" in out
    assert "connected, pid 4242, 1 restart(s)" in out
    assert "full-resync (txn 2)" in out
    assert "3/1000 queued, 2 overflow(s)" in out
    assert any(line.split() == ["events.DBResync", "1"] for line in lines)


async def test_dump_prints_an_aligned_table(unix_server: DebugServer) -> None:
    code, out, _ = await ctl(unix_server, "dump", "t/base/")
    assert code == 0
    header, *rows = out.splitlines()
    names = ["KEY", "STATE", "ORIGIN", "VALUE", "DETAILS"]
    assert header.split() == names
    starts = column_starts(header, names)
    assert [row.split()[0] for row in rows] == [A, B, C]
    for row in rows:
        key, state = row.split()[:2]
        assert row.index(state, len(key)) == starts[1]  # states line up under STATE
    pending = next(row for row in rows if row.startswith(C))
    assert "pending" in pending
    assert "never" in pending


async def test_dump_json_lines_parse_and_mask_secrets(unix_server: DebugServer) -> None:
    for argv in (["--json", "dump", "--view", "applied"], ["dump", "--view", "applied", "--json"]):
        code, out, _ = await ctl(unix_server, *argv)
        assert code == 0
        entries = [json.loads(line) for line in out.splitlines()]
        by_key = {e["key"]: e for e in entries}
        assert by_key[M]["value"]["secret"] == "***"
        assert by_key[M]["value"]["mode"] == "IP"
        assert by_key[M]["view"] == "applied"
        assert by_key[A]["state"] == "configured"
        assert "hunter2" not in out


async def test_plan_then_resync_then_nothing_to_do(
    unix_server: DebugServer, sb: Southbound
) -> None:
    sb.drift_remove(B)
    code, out, _ = await ctl(unix_server, "plan")
    assert code == 0
    head, header, row = out.splitlines()
    assert head == "plan (downstream-resync): 1 operation(s)"
    assert header.split() == ["#", "OP", "KEY", "VALUE", "NOTES"]
    assert row.split()[:3] == ["1", "create", B]
    assert B not in sb.objects  # a plan changes nothing
    code, out, _ = await ctl(unix_server, "resync", "--downstream")
    assert code == 0
    assert out.startswith("txn ")
    assert "(downstream-resync): 1 operation(s), 0 error(s)" in out
    assert B in sb.objects
    code, out, _ = await ctl(unix_server, "plan", "--full")
    assert (code, out) == (0, "plan (full-resync): nothing to do\n")


async def test_txns_events_timeline_graph(unix_server: DebugServer, scheduler: Scheduler) -> None:
    code, out, _ = await ctl(unix_server, "txns")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["SEQ", "STARTED", "KIND"]
    assert [row.split()[0] for row in rows] == ["1", "2"]
    code, out, _ = await ctl(unix_server, "txns", "--seq", "2")
    assert code == 0
    assert "kind         full-resync" in out
    assert "planned:" in out
    assert "executed:" in out
    code, out, _ = await ctl(unix_server, "--json", "txns", "--since", "3600")
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2]

    code, out, _ = await ctl(unix_server, "events", "--since-seq", "0")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:3] == ["SEQ", "STARTED", "EVENT"]
    assert "KubeStateChange" in row
    assert row.rstrip().endswith("boom")

    code, out, _ = await ctl(unix_server, "--json", "timeline", A)
    revisions = [json.loads(line) for line in out.splitlines()]
    assert revisions[-1]["key"] == A
    assert revisions[-1]["state"] == "configured"
    assert revisions[-1]["value"]["data"] == "a"

    code, out, _ = await ctl(unix_server, "graph", "t/base/")
    assert code == 0
    assert out.startswith("digraph contivpy {")
    assert f'"{B}" -> "{A}"' in out


async def test_watch_prints_current_then_changes(
    unix_server: DebugServer, scheduler: Scheduler
) -> None:
    out = io.StringIO()
    argv = ["--socket", str(unix_server.socket_path), "watch", B]
    task = asyncio.create_task(ctl_main(argv, out=out))
    try:
        for _ in range(500):
            if out.getvalue():
                break
            await asyncio.sleep(0.01)
        assert out.getvalue().split()[:2] == ["configured", B]
        await scheduler.commit(Txn({A: None}))
        for _ in range(500):
            if len(out.getvalue().splitlines()) > 1:
                break
            await asyncio.sleep(0.01)
        assert out.getvalue().splitlines()[1].split()[:2] == ["pending", B]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_missing_socket_is_one_line_and_exit_2(socket_dir: Path) -> None:
    missing = socket_dir / "nobody-here.sock"
    out, err = io.StringIO(), io.StringIO()
    code = await ctl_main(["--socket", str(missing), "status"], out=out, err=err)
    assert code == 2
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert str(missing) in lines[0]
    assert lines[0].startswith("contivpy ctl: cannot reach the agent at unix socket ")
    assert "Traceback" not in err.getvalue()


async def test_agent_errors_are_one_line_and_exit_1(unix_server: DebugServer) -> None:
    code, out, err = await ctl(unix_server, "timeline", "")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"contivpy ctl: unix socket {unix_server.socket_path}: INVALID_ARGUMENT: "
        "key: must not be empty"
    ]


async def test_usage_errors_exit_2(unix_server: DebugServer) -> None:
    code, _, _ = await ctl(unix_server, "--address", "no-port", "status")
    assert code == 2  # --socket and --address exclude each other (argparse says so)
    out, err_io = io.StringIO(), io.StringIO()
    code = await ctl_main(["--address", "no-port", "status"], out=out, err=err_io)
    assert code == 2
    assert err_io.getvalue() == "contivpy ctl: --address 'no-port': expected HOST:PORT\n"


async def test_run_ctl_entry_point(
    unix_server: DebugServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # run_ctl owns its event loop, as the console script does: run it in another thread.
    argv = ["--socket", str(unix_server.socket_path), "--json", "status"]
    assert await asyncio.to_thread(run_ctl, argv) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["agent"]["node_name"] == "node-1"
    assert status["counters"]["events.DBResync"] == 1
    missing = ["--socket", str(unix_server.socket_path) + ".gone", "status"]
    assert await asyncio.to_thread(run_ctl, missing) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1


async def test_nat_sessions_table_cut_or_wide_json_and_not_enabled(
    unix_server: DebugServer, agent: FakeAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await ctl(unix_server, "nat", "sessions")
    assert (code, err) == (0, "")
    header, row, total = out.splitlines()
    assert header.split() == [
        "PROTO",
        "INSIDE",
        "OUTSIDE",
        "EXTERNAL",
        "HOST",
        "TWICE-NAT",
        "AS",
        "VRF",
        "IDLE",
        "PACKETS",
        "KIND",
    ]
    assert row.split() == [
        "tcp",
        "10.1.1.2:8080",
        "10.96.0.10:80",
        "10.1.1.2:40000",
        "10.1.1.254:40000",
        "1",
        "7s",
        "3",
        "static",
    ]
    assert total == "1 session(s) of 1 inside address(es); VPP's limit 64512 per thread"
    assert (await ctl(unix_server, "--wide", "nat", "sessions"))[1] == out  # nothing to cut
    code, out, _ = await ctl(unix_server, "nat", "sessions", "--json")
    (reply,) = [json.loads(line) for line in out.splitlines()]
    assert reply["users"] == 1
    assert reply["sessions"][0]["ext_host_nat_ip"] == "10.1.1.254"
    assert reply["sessions"][0]["idle_seconds"] == 7

    agent.nat_enabled = False
    code, out, err = await ctl(unix_server, "nat", "sessions")
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"contivpy ctl: unix socket {unix_server.socket_path}: "
        "FAILED_PRECONDITION: NAT44-ED is not enabled on this node's VPP"
    )
    code, _, _ = await ctl(unix_server, "nat")  # argparse's usage error, on sys.stderr
    assert code == 2
    assert "the following arguments are required: sessions" in capsys.readouterr().err
