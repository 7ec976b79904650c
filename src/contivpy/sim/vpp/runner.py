"""Running the simulator as a process (``contivpy vppsim``).

In: the API socket path and, optionally, a control socket path. Out: a simulated VPP serving
until cancelled (``serve_vppsim``) or until SIGINT/SIGTERM (``run_vppsim``, exit code 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog
import uvloop

from contivpy.sim.vpp.control import ControlServer
from contivpy.sim.vpp.server import VppSimulator

log = structlog.get_logger(__name__)


async def serve_vppsim(
    socket_path: str,
    control_path: str | None = None,
    *,
    vhost_net: bool = True,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve a simulated VPP on ``socket_path`` (and its control socket) until cancelled;
    ``ready`` is set once both sockets accept connections."""
    sim = VppSimulator(socket_path, vhost_net=vhost_net)
    control = ControlServer(sim, control_path) if control_path else None
    await sim.start()
    if control is not None:
        await control.start()
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        if control is not None:
            await control.stop()
        await sim.stop()


def run_vppsim(socket_path: str, control_path: str | None = None, *, vhost_net: bool = True) -> int:
    """Run the simulator on uvloop until SIGINT or SIGTERM; the CLI's exit code."""

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve_vppsim(socket_path, control_path, vhost_net=vhost_net)
        log.info("vppsim stopped")

    uvloop.run(main())
    return 0
