"""The VPP simulator in a process of its own, as the benchmarks run it.

In: nothing but a wish for a fresh simulator. Out: :func:`sim_process`, an async context
manager yielding a :class:`SimProcess`: ``contivpy vppsim`` (vhost-net on, so taps work)
running as a child of this process on an API socket and a control socket in a new temporary
directory, ready (both sockets accept connections) when the ``with`` body starts, and
stopped (SIGTERM, then SIGKILL) when it ends. ``request`` speaks the control protocol
(:mod:`contivpy.sim.vpp.control`): request counts, state summaries, restarts.

Why a process: in the agent's process the simulator shares the agent's event loop and core,
so a benchmark would measure the two taking turns on one CPU. As a child it has its own
interpreter, loop and (on a machine with two or more) core, as a real VPP would. The child is
a plain ``subprocess.Popen`` (no asyncio child watcher needed), its log is kept in the
temporary directory and quoted when it does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from contivpy.sim.vpp.control import ControlClient

_POLL_SECONDS = 0.01
_START_TIMEOUT = 20.0
_STOP_GRACE = 5.0


class SimProcessError(RuntimeError):
    """The simulator process did not start, or died."""


class SimProcess:
    """A running ``contivpy vppsim`` child process (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket_path = str(directory / "api.sock")
        self.control_path = str(directory / "control.sock")
        self.log_path = directory / "vppsim.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._control: ControlClient | None = None

    @property
    def os_pid(self) -> int:
        """The child's operating-system pid (not the simulated VPP's pid)."""
        assert self._process is not None, "not started"
        return self._process.pid

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Popen returns once the child exec'd (milliseconds), so it may run on the loop.
        command = [
            sys.executable,
            "-m",
            "contivpy.cli",
            "--log-level",
            "warning",
            "vppsim",
            "--socket",
            self.socket_path,
            "--control",
            self.control_path,
        ]
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    async def start(self) -> None:
        """Spawn the simulator and wait until its control socket answers."""
        self._process = self._spawn()
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise SimProcessError(
                    f"vppsim exited with {self._process.returncode}: {self._log()}"
                )
            # The control socket is opened after the API socket: when it answers, both do.
            with contextlib.suppress(OSError):
                self._control = await ControlClient.connect(self.control_path)
                return
            if time.monotonic() > deadline:
                await self.stop()
                raise SimProcessError(f"vppsim not ready after {_START_TIMEOUT} s: {self._log()}")
            await asyncio.sleep(_POLL_SECONDS)

    async def request(self, op: str, **arguments: object) -> dict[str, Any]:
        """One control operation (RuntimeError when the simulator refuses it)."""
        if self._control is None:
            raise SimProcessError("vppsim is not running")
        return await self._control.request(op, **arguments)

    async def writes(self) -> int:
        """Configuration requests the simulator has served since it started."""
        return int((await self.request("requests"))["writes"])

    async def summary(self) -> dict[str, Any]:
        """The simulator's interfaces and bridge domains (control op ``summary``)."""
        return await self.request("summary")

    async def stop(self) -> None:
        """Close the control connection, then SIGTERM (SIGKILL after a grace period)."""
        if self._control is not None:
            await self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        if not await _exited(process, _STOP_GRACE):
            process.kill()
            await _exited(process, _STOP_GRACE)

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:] or "(no output)"
        except OSError:
            return "(no log)"


async def _exited(process: subprocess.Popen[bytes], within: float) -> bool:
    deadline = time.monotonic() + within
    while process.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


@contextlib.asynccontextmanager
async def sim_process() -> AsyncIterator[SimProcess]:
    """A fresh simulator process in a new temporary directory, stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="contivpy-bench-sim-") as directory:
        sim = SimProcess(Path(directory))
        await sim.start()
        try:
            yield sim
        finally:
            await sim.stop()
