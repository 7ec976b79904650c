"""``contivpy ctl``: an operator's window into one agent, through its debug API.

In: the arguments after ``ctl`` (``contivpy ctl --help``). Out: text tables on stdout (long
cells cut with "…", whole with ``--wide``), or one JSON object per line with ``--json``, and
an exit code: 0 done; 1 the agent answered with an error, or what was asked for is not there,
or VPP refused a ``vpp cli`` command (the message, or VPP's text, on stderr); 2 usage error or
the agent cannot be reached (one line on stderr naming the socket or address, never a
traceback); 130 interrupted (``watch``).

Besides the scheduler's views (status, dump, plan, resync, txns, events, timeline, graph,
watch) it shows the node as Contiv's netctl did: ``pods``, ``nodes``, ``ipam``, VPP's own CLI
(``vpp cli "show interface"``), the NAT44-ED sessions VPP holds (``nat sessions``), and sets
the agent's log level (``log-level debug``).

The agent is reached on its unix socket (``--socket``; default $CONTIVPY_DEBUG_SOCKET, else
/run/contivpy/debug.sock) or over TCP with TLS (``--address HOST:PORT``, ``--tls-ca``, and
``--tls-cert``/``--tls-key`` when the agent asks for client certificates).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

import betterproto2
import uvloop
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.exceptions import ProtocolError, StreamTerminatedError

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api import DEFAULT_DEBUG_SOCKET
from contivpy.api import ctl_views as views
from contivpy.logs import LEVELS

EXIT_OK = 0
EXIT_AGENT_ERROR = 1
EXIT_UNREACHABLE = 2  # also usage errors, as argparse does
EXIT_INTERRUPTED = 130

SOCKET_ENV = "CONTIVPY_DEBUG_SOCKET"
_VIEWS = {"desired": pb.View.DESIRED, "applied": pb.View.APPLIED, "southbound": pb.View.SOUTHBOUND}


class _UsageError(Exception):
    """Arguments that parse but cannot work (an unreadable certificate, a bad address)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the agent's debug API is."""

    socket_path: str | None = None
    host: str | None = None
    port: int = 0
    tls: ssl.SSLContext | None = None

    def __str__(self) -> str:
        if self.socket_path is not None:
            return f"unix socket {self.socket_path}"
        return f"address {self.host}:{self.port}"

    def channel(self) -> Channel:
        """A grpclib channel to it (connects on first call; close it when done)."""
        if self.socket_path is not None:
            return Channel(path=self.socket_path)
        return Channel(self.host, self.port, ssl=self.tls)


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text} is not a non-negative number")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``ctl`` argument parser (global options, then one sub-command)."""
    parser = argparse.ArgumentParser(
        prog="contivpy ctl", description="Inspect and resync a contivpy agent."
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help="the agent's debug API unix socket")
    where.add_argument("--address", metavar="HOST:PORT", help="the agent's TLS address")
    parser.add_argument(
        "--tls-ca", metavar="FILE", help="CA of the agent's cert (default: system CAs)"
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="client certificate (mTLS)")
    parser.add_argument("--tls-key", metavar="FILE", help="client certificate's key (mTLS)")
    parser.add_argument(
        "--timeout", type=_positive_float, default=60.0, metavar="SECONDS", help="per call (60)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--wide", action="store_true", help="long table cells whole, not cut")
    # --json and --wide are also accepted after the sub-command; SUPPRESS keeps the global
    # ones otherwise.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    common.add_argument("--wide", action="store_true", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common])

    add("status", "agent, VPP connection, last resync, queues, counters")
    dump = add("dump", "key-value state under a prefix")
    dump.add_argument("--view", choices=list(_VIEWS), default="desired")
    dump.add_argument("prefix", nargs="?", default="", metavar="PREFIX")
    for name, help_text in (
        ("plan", "what a resync would do (dry run, changes nothing)"),
        ("resync", "resync now and show what was done"),
    ):
        command = add(name, help_text)
        kind = command.add_mutually_exclusive_group()
        kind.add_argument("--full", dest="kind", action="store_const", const=pb.ResyncKind.FULL)
        kind.add_argument(
            "--downstream", dest="kind", action="store_const", const=pb.ResyncKind.DOWNSTREAM
        )
        command.set_defaults(kind=pb.ResyncKind.DOWNSTREAM)
    txns = add("txns", "scheduler transactions")
    which = txns.add_mutually_exclusive_group()
    which.add_argument("--seq", type=_non_negative_int, metavar="N", help="one, in full")
    which.add_argument(
        "--since", type=_non_negative_float, metavar="SECONDS_AGO", help="started since"
    )
    events = add("events", "events the agent processed")
    events.add_argument("--since-seq", type=_non_negative_int, metavar="N", help="after N")
    timeline = add("timeline", "every recorded revision of one key")
    timeline.add_argument("key", metavar="KEY")
    graph = add("graph", "the dependency graph as Graphviz DOT")
    graph.add_argument("prefix", nargs="?", default="", metavar="PREFIX")
    watch = add("watch", "status changes as they happen (Ctrl-C stops)")
    watch.add_argument("prefix", nargs="?", default="", metavar="PREFIX")
    add("pods", "pods wired on this node: IPs and VPP interfaces")
    add("nodes", "nodes with an ID: addresses and this node's VXLAN tunnels to them")
    add("ipam", "this node's address plan, VRFs and who holds which pod IP")
    vpp = add("vpp", "VPP itself").add_subparsers(dest="vpp_command", required=True)
    cli = vpp.add_parser("cli", help="run one VPP CLI command (cli_inband)", parents=[common])
    cli.add_argument("cli", nargs="+", metavar="COMMAND", help='e.g. "show interface"')
    nat = add("nat", "VPP's NAT44-ED (services)").add_subparsers(
        dest="nat_command", required=True, metavar="sessions"
    )
    nat.add_parser(
        "sessions",
        help="the NAT44-ED sessions VPP holds: inside, outside, peer, twice-NAT, idle time",
        parents=[common],
    )
    level = add("log-level", "change the agent's log level now")
    level.add_argument("level", choices=LEVELS, metavar="LEVEL", help=" | ".join(LEVELS))
    return parser


def _target(args: argparse.Namespace) -> Target:
    if args.address is None:
        path = args.socket or os.environ.get(SOCKET_ENV) or str(DEFAULT_DEBUG_SOCKET)
        return Target(socket_path=path)
    host, colon, port_text = args.address.rpartition(":")
    host = host.strip("[]")  # [::1]:50051
    if not colon or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _UsageError(f"--address {args.address!r}: expected HOST:PORT")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise _UsageError("--tls-cert and --tls-key go together")
    try:
        context = ssl.create_default_context(cafile=args.tls_ca)
        if args.tls_cert is not None:
            context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as error:
        files = ", ".join(f for f in (args.tls_ca, args.tls_cert, args.tls_key) if f)
        raise _UsageError(f"cannot load TLS files ({files}): {error}") from error
    context.set_alpn_protocols(["h2"])  # gRPC is HTTP/2
    return Target(host=host, port=int(port_text), tls=context)


# --- commands -----------------------------------------------------------------------------

Printer = Callable[[str], None]
Command = Callable[[pb.AgentDebugStub, argparse.Namespace, Printer], Awaitable[None]]


async def _status(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    status = await stub.status(pb.StatusRequest(), timeout=args.timeout)
    text = views.status_text(status, width=_width(args))
    emit(views.json_line(views.as_json(status)) if args.json else text)


async def _dump(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.DumpRequest(view=_VIEWS[args.view], key_prefix=args.prefix)
    dump = await stub.dump(request, timeout=args.timeout)
    if not args.json:
        emit(views.dump_text(dump, width=_width(args)))
        return
    for entry in dump.entries:
        emit(views.json_line({"view": args.view, **views.as_json(entry)}))


async def _plan(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    response = await stub.plan(pb.PlanRequest(kind=args.kind), timeout=args.timeout)
    plan = response.plan or pb.TxnRecord()
    text = views.plan_text(plan, width=_width(args))
    emit(views.json_line(views.as_json(plan)) if args.json else text)


async def _resync(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    response = await stub.resync(pb.ResyncRequest(kind=args.kind), timeout=args.timeout)
    record = response.record or pb.TxnRecord()
    text = views.resync_text(record, width=_width(args))
    emit(views.json_line(views.as_json(record)) if args.json else text)


class _NotFound(Exception):
    """What a command was asked for is not there (exit code 1, the message on stderr)."""


async def _txns(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.TxnHistoryRequest(seq=args.seq)
    if args.since is not None:
        request.since_unix = time.time() - args.since
    records = (await stub.txn_history(request, timeout=args.timeout)).records
    if args.seq is not None and not records:
        raise _NotFound(f"no transaction {args.seq} is kept (see `contivpy ctl txns`)")
    if args.json:
        for record in records:
            emit(views.json_line(views.as_json(record)))
    elif args.seq is not None:
        emit(views.txn_detail_text(records[0], width=_width(args)))
    else:
        emit(views.txns_text(records, width=_width(args)))


async def _events(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.EventHistoryRequest(since_seq=args.since_seq)
    records = (await stub.event_history(request, timeout=args.timeout)).records
    _rows(records, views.events_text, args, emit)


async def _timeline(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.KeyTimelineRequest(key=args.key)
    timeline = await stub.key_timeline(request, timeout=args.timeout)
    if not timeline.revisions:
        raise _NotFound(f"no history of key {args.key!r} (see `contivpy ctl dump` for keys)")
    if not args.json:
        emit(views.timeline_text(timeline, width=_width(args)))
        return
    for revision in timeline.revisions:
        emit(views.json_line({"key": timeline.key, **views.as_json(revision)}))


async def _graph(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    graph = await stub.graph(pb.GraphRequest(key_prefix=args.prefix), timeout=args.timeout)
    emit(views.json_line(views.as_json(graph)) if args.json else graph.dot.rstrip("\n"))


async def _watch(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.WatchStatusRequest(key_prefix=args.prefix, include_current=True)
    async for status in stub.watch_status(request):  # no timeout: runs until interrupted
        emit(views.json_line(views.as_json(status)) if args.json else views.watch_line(status))


async def _pods(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    pods = (await stub.pods(pb.PodsRequest(), timeout=args.timeout)).pods
    _rows(pods, views.pods_text, args, emit)


async def _nodes(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    nodes = (await stub.nodes(pb.NodesRequest(), timeout=args.timeout)).nodes
    _rows(nodes, views.nodes_text, args, emit)


async def _ipam(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    ipam = await stub.ipam(pb.IpamRequest(), timeout=args.timeout)
    emit(views.json_line(views.as_json(ipam)) if args.json else views.ipam_text(ipam))


class _VppRefused(Exception):
    """VPP refused a CLI command; the message is VPP's own text (exit code 1)."""


async def _vpp(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    command = " ".join(args.cli)  # `vpp cli "show int"` and `vpp cli show int` alike
    reply = await stub.vpp_cli(pb.VppCliRequest(command=command), timeout=args.timeout)
    if args.json:
        emit(views.json_line({"command": command, **views.as_json(reply)}))
    elif reply.ok and reply.output.strip():
        emit(reply.output.rstrip("\n"))
    if not reply.ok:
        raise _VppRefused(reply.output.strip() or f"VPP refused {command!r}")


async def _nat(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    # one sub-command so far (`nat sessions`); argparse has checked it
    reply = await stub.nat_sessions(pb.NatSessionsRequest(), timeout=args.timeout)
    text = views.nat_sessions_text(reply, width=_width(args))
    emit(views.json_line(views.as_json(reply)) if args.json else text)


async def _log_level(stub: pb.AgentDebugStub, args: argparse.Namespace, emit: Printer) -> None:
    request = pb.SetLogLevelRequest(level=args.level)
    reply = await stub.set_log_level(request, timeout=args.timeout)
    text = f"log level {reply.level} (was {reply.previous})"
    emit(views.json_line(views.as_json(reply)) if args.json else text)


def _rows(
    rows: Sequence[betterproto2.Message],
    table: Callable[..., str],
    args: argparse.Namespace,
    emit: Printer,
) -> None:
    """``rows`` as one table (``table(rows, width=...)``), or one JSON line each."""
    if not args.json:
        emit(table(rows, width=_width(args)))
        return
    for row in rows:
        emit(views.json_line(views.as_json(row)))


def _width(args: argparse.Namespace) -> int:
    """How wide a table cell may be: whole with --wide."""
    return 0 if args.wide else views.CELL_WIDTH


COMMANDS: dict[str, Command] = {
    "status": _status,
    "dump": _dump,
    "plan": _plan,
    "resync": _resync,
    "txns": _txns,
    "events": _events,
    "timeline": _timeline,
    "graph": _graph,
    "watch": _watch,
    "pods": _pods,
    "nodes": _nodes,
    "ipam": _ipam,
    "vpp": _vpp,
    "nat": _nat,
    "log-level": _log_level,
}


# --- entry points -------------------------------------------------------------------------


async def ctl_main(
    argv: Sequence[str], *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one ctl command in the running event loop; returns the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exit_:  # argparse printed usage or help
        return exit_.code if isinstance(exit_.code, int) else EXIT_UNREACHABLE
    try:
        target = _target(args)
    except _UsageError as error:
        print(f"contivpy ctl: {error}", file=err)
        return EXIT_UNREACHABLE

    def emit(text: str) -> None:
        print(text, file=out, flush=True)

    channel = target.channel()
    try:
        await COMMANDS[args.command](pb.AgentDebugStub(channel), args, emit)
    except _NotFound as error:
        print(f"contivpy ctl: {error}", file=err)
        return EXIT_AGENT_ERROR
    except _VppRefused as error:
        print(f"contivpy ctl: VPP: {error}", file=err)
        return EXIT_AGENT_ERROR
    except GRPCError as error:
        message = f": {error.message}" if error.message else ""
        print(f"contivpy ctl: {target}: {error.status.name}{message}", file=err)
        return EXIT_AGENT_ERROR
    except BrokenPipeError:
        # the reader went away (`ctl graph | head`): what it wanted it has; end quietly
        _silence_stdout(out)
        return EXIT_OK
    except (OSError, StreamTerminatedError, ProtocolError, TimeoutError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        print(f"contivpy ctl: cannot reach the agent at {target}: {reason}", file=err)
        return EXIT_UNREACHABLE
    finally:
        channel.close()
    return EXIT_OK


def _silence_stdout(out: TextIO) -> None:
    """After a closed pipe: point stdout at /dev/null, so the interpreter's last flush at exit
    does not fail (and print a traceback) again."""
    if out is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def run_ctl(argv: Sequence[str]) -> int:
    """Entry point of ``contivpy ctl``: argv is what follows ``ctl``; returns the exit code.

    Runs its own event loop (uvloop), so call it from synchronous code only.
    """
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(ctl_main(argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
