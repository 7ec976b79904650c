"""`contivpy agent`: run one node agent until SIGINT/SIGTERM.

In: the config file path and overrides. Out: the agent running on uvloop against etcd (or an
embedded etcd when none is configured), with its debug API up from the first moment: Status
says which phase the agent is in and what it waits for (``contivpy ctl status``). Exit code 0
after a stop asked for with SIGINT or SIGTERM, in whatever phase; 2 for a bad configuration
(one line naming the setting); 1 when it could not start, or did not stop in time.

Phases: waiting for etcd (the store opening; the embedded etcd starting) -> waiting for VPP ->
first resync -> running -> stopping. A signal cancels whatever is under way, and each part
cleans up when cancelled (the VPP connection closed, the embedded etcd stopped); the log
says in which phase the signal came. Should the stop hang nonetheless, the process exits
anyway ``STOP_DEADLINE`` seconds after the signal, with code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import faulthandler
import os
import signal
import sys
import threading
import time
from pathlib import Path

import structlog
import uvloop

from contivpy.agent.config_file import AgentFile, load_agent_file
from contivpy.agent.health import AgentHealth
from contivpy.agent.http_server import AgentHttpServer
from contivpy.agent.lifecycle import AgentLifecycle
from contivpy.agent.node_agent import AgentConfig, NodeAgent
from contivpy.agent.systemd_notify import NotifySocket, SystemdReporter
from contivpy.api.server import DebugServer, DebugServerSettings
from contivpy.errors import ConfigError, ContivpyError
from contivpy.store.factory import open_store
from contivpy.store.settings import StoreSettings

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

STOP_DEADLINE = 2.0  # seconds from the first SIGINT/SIGTERM to the process's exit, at most
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_agent_command(
    config: Path | None, *, node_name: str = "", endpoints: tuple[str, ...] = ()
) -> int:
    """The command's body."""
    # Until the event loop takes the signals over, SIGTERM stops the process as SIGINT does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # systemd's watchdog ends a stuck agent with SIGABRT: the journal then shows where it hung.
    faulthandler.enable()
    watchdog = _Watchdog()
    try:
        try:
            loaded = load_agent_file(config, node_name=node_name, endpoints=endpoints)
        except ConfigError as error:
            log.error("bad configuration", error=str(error))
            return EXIT_CONFIG
        return uvloop.run(_main(loaded, watchdog))
    except KeyboardInterrupt:  # a signal before the event loop ran, or after it ended
        log.info("agent stopped", phase="starting")
        return EXIT_OK
    finally:
        watchdog.cancel()


async def _main(loaded: AgentFile, watchdog: _Watchdog) -> int:
    config, store_settings = loaded.agent, loaded.store
    lifecycle = AgentLifecycle(config.settings.node_name)
    health = AgentHealth(lifecycle, loaded.health)
    # Taken out of the environment at once: children (the embedded etcd) must not notify.
    notify = NotifySocket.from_environment(os.environ)
    stop_requested = asyncio.Event()
    stopped_in: list[str] = []  # the phase the first signal came in

    def on_signal(sig: signal.Signals) -> None:
        if stop_requested.is_set():
            log.info("stop already under way", signal=sig.name, phase=lifecycle.describe())
            return
        stopped_in.append(lifecycle.describe())
        log.info("stop requested", signal=sig.name, phase=stopped_in[0])
        watchdog.start(STOP_DEADLINE, stopped_in[0])
        stop_requested.set()

    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:  # uvloop removes them when the loop closes
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if config.paths.debug_socket is not None:  # first: Status answers in every phase
                settings = DebugServerSettings(socket_path=config.paths.debug_socket)
                await stack.enter_async_context(DebugServer(lifecycle, settings))
            await stack.enter_async_context(health)
            if loaded.http.address is not None:  # /healthz, /readyz answer in every phase too
                await _serve_http(stack, loaded.http.address, lifecycle, health)
            await stack.enter_async_context(SystemdReporter(notify, health))
            return await _run_until_stopped(config, store_settings, lifecycle, stop_requested)
    except ConfigError as error:
        log.error("bad configuration", error=str(error))
        return EXIT_CONFIG
    except ContivpyError as error:
        log.error("agent failed", error=str(error), phase=lifecycle.describe())
        return EXIT_FAILED
    finally:
        if stopped_in:
            log.info("agent stopped", phase=stopped_in[0], took=watchdog.elapsed())


async def _serve_http(
    stack: contextlib.AsyncExitStack, address: str, lifecycle: AgentLifecycle, health: AgentHealth
) -> None:
    """Serve /metrics, /healthz and /readyz. A taken port is an error in the log, not the
    end of the agent: pods must not lose their network over the metrics port (a probe on
    /healthz then fails and says it)."""
    try:
        await stack.enter_async_context(AgentHttpServer(address, lifecycle, health))
    except OSError as error:
        log.error("http endpoint not started", address=address, error=str(error))


async def _run_until_stopped(
    config: AgentConfig,
    store_settings: StoreSettings,
    lifecycle: AgentLifecycle,
    stop_requested: asyncio.Event,
) -> int:
    """Run the agent until it fails (its error is raised) or a stop is requested."""
    agent = asyncio.create_task(_run_agent(config, store_settings, lifecycle), name="agent")
    stop = asyncio.create_task(stop_requested.wait(), name="stop-requested")
    try:
        await asyncio.wait({agent, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if agent.done():
        agent.result()  # it ended by itself: only an error does
        return EXIT_FAILED
    lifecycle.stopping()
    agent.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await agent
    return EXIT_OK


async def _run_agent(
    config: AgentConfig, store_settings: StoreSettings, lifecycle: AgentLifecycle
) -> None:
    """Open the store, start the agent and run it until cancelled; stop both on the way out."""
    workdir = config.paths.state_dir / "etcd"
    if store_settings.endpoints:
        lifecycle.waiting_for_store(f"etcd at {', '.join(store_settings.endpoints)}")
    else:
        lifecycle.waiting_for_store(f"the embedded etcd in {workdir}")
    async with open_store(store_settings, embedded_workdir=workdir) as store:
        lifecycle.checkpoint()
        # The debug API is served over the lifecycle since the process started; the agent
        # must not bind the same socket again.
        paths = dataclasses.replace(config.paths, debug_socket=None)
        agent = NodeAgent(
            dataclasses.replace(config, paths=paths), store, metrics=lifecycle.metrics
        )
        lifecycle.attach(agent)
        try:
            await agent.start()
            lifecycle.checkpoint()
            await agent.wait_ready()
            log.info("agent running: first resync done", node=config.settings.node_name)
            await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            lifecycle.stopping()
            await agent.stop()


class _Watchdog:
    """Ends the process if a stop takes longer than its deadline: a thread, so it fires even
    when the event loop is blocked or a part ignores cancellation."""

    def __init__(self) -> None:
        self._timer: threading.Timer | None = None
        self._started = 0.0

    def start(self, deadline: float, phase: str) -> None:
        self._started = time.monotonic()
        self._timer = threading.Timer(deadline, self._expire, args=(deadline, phase))
        self._timer.daemon = True
        self._timer.start()

    def elapsed(self) -> float:
        return round(time.monotonic() - self._started, 3)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @staticmethod
    def _expire(deadline: float, phase: str) -> None:
        children = _child_pids()
        log.error(
            "agent did not stop in time; exiting",
            deadline=deadline,
            phase=phase,
            terminating=children,
        )
        for pid in children:  # the embedded etcd: it must not outlive us, holding its data
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_FAILED)


def _child_pids() -> list[int]:
    """This process's child processes (from /proc; none where there is no /proc)."""
    me, children = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # Fields after the command name (which may hold spaces): state, ppid, ...
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                children.append(int(entry.name))
    return children
