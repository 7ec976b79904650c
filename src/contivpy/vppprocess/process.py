"""A real VPP process: start it with a :class:`~contivpy.vppprocess.startup.StartupConfig`,
wait until its API answers, stop, kill or restart it.

In: the path of a ``vpp`` binary, a start-up configuration, optionally a network namespace
(VPP then runs inside it: its af_packet and tap interfaces see that namespace's links). Out:
:class:`VppProcess` with ``start`` / ``stop`` / ``kill`` / ``restart`` and the API socket;
the process id is kept in ``<workdir>/vpp.pid`` so another command (``contivpy vpp stop``)
can end a VPP it did not start, and the binary in ``<workdir>/vpp.binary`` so ``contivpy vpp
restart`` can start the same one again. VPP's own output goes to ``<workdir>/vpp.out``.

A start fails with :class:`VppProcessError` naming the binary and the end of VPP's output when
VPP exits or its API does not answer in time; it is never left half-started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import structlog

from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import VppError
from contivpy.vppprocess.startup import StartupConfig

log = structlog.get_logger(__name__)

_POLL_SECONDS = 0.05


class VppProcessError(Exception):
    """VPP could not be started or stopped."""


class VppProcess:
    """One VPP process (see the module docstring)."""

    def __init__(self, binary: Path, config: StartupConfig, *, netns: str | None = None) -> None:
        self.binary = binary
        self.config = config
        self.netns = netns
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def api_socket(self) -> str:
        return str(self.config.api_socket)

    @property
    def pid_file(self) -> Path:
        return self.config.workdir / "vpp.pid"

    @property
    def output_file(self) -> Path:
        return self.config.workdir / "vpp.out"

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def command(self) -> list[str]:
        """The command line that starts this VPP."""
        vpp = [str(self.binary), "-c", str(self.config.config_file)]
        return ["ip", "netns", "exec", self.netns, *vpp] if self.netns else vpp

    async def start(self, answer_seconds: float = 30.0) -> None:
        """Start VPP and wait until its binary API answers."""
        if not os.access(self.binary, os.X_OK):
            raise VppProcessError(f"{self.binary} is not an executable VPP binary")
        workdir = self.config.workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config.config_file.write_text(self.config.render())
        for stale in (self.config.api_socket, self.config.cli_socket):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        self._process = self._spawn()
        self.pid_file.write_text(f"{self._process.pid}\n")
        (workdir / "vpp.binary").write_text(f"{self.binary}\n")
        try:
            await self._wait_answering(answer_seconds)
        except BaseException:
            await self.kill()
            raise
        log.info("vpp started", binary=str(self.binary), socket=self.api_socket, pid=self.pid)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # A plain child, as the embedded etcd: it outlives no event loop and needs no watcher.
        with self.output_file.open("ab") as out:
            return subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C at the terminal is ours to forward
            )

    async def _wait_answering(self, seconds: float) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + seconds
        last = "no socket yet"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise VppProcessError(
                    f"{self.binary} exited with {process.returncode}: {self._output_tail()}"
                )
            if self.config.api_socket.exists():
                try:
                    connection = await VppConnection.open(
                        self.api_socket, required=(), call_timeout=2.0
                    )
                except VppError as err:
                    last = str(err)
                else:
                    await connection.close()
                    return
            await asyncio.sleep(_POLL_SECONDS)
        raise VppProcessError(
            f"VPP's API at {self.api_socket} did not answer within {seconds} s ({last}): "
            f"{self._output_tail()}"
        )

    def _output_tail(self, lines: int = 12) -> str:
        try:
            text = self.output_file.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Ask VPP to exit (SIGTERM), then kill it after ``grace_seconds``."""
        await self._end(signal.SIGTERM, grace_seconds)

    async def kill(self) -> None:
        """End VPP at once (SIGKILL): a crash, as far as its clients can tell."""
        await self._end(signal.SIGKILL, 5.0)

    async def restart(self, answer_seconds: float = 30.0) -> None:
        """Stop and start again: VPP's state is lost, its pid changes."""
        await self.stop()
        await self.start(answer_seconds)

    async def _end(self, how: signal.Signals, grace_seconds: float) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(how)
            try:
                await asyncio.to_thread(process.wait, grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()


def stop_recorded(workdir: Path, grace_seconds: float = 10.0) -> bool:
    """End the VPP whose pid ``<workdir>/vpp.pid`` records (started by another command).

    False when no such VPP runs.
    """
    pid_file = workdir / "vpp.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(_POLL_SECONDS)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True
