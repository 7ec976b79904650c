"""`contivpy agent` as a process, for tests of what an operator sees: its HTTP endpoint, what it
tells systemd, `contivpy ctl status`, how it stops, its log. Its sockets and state live under
one (short) directory; the VPP simulator is started as a process when the test wants VPP to
appear."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
STOP_TIMEOUT = 10.0  # generous: the agent promises 2 s
WAIT = 60.0  # generous bound on anything the agent is expected to do


class AgentProcess:
    """`contivpy agent --config FILE` (simulated pods) against ``store``'s etcd."""

    def __init__(
        self,
        work: Path,
        store: dict[str, object],
        *,
        env: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        self.work = work
        self.vpp_socket = work / "api.sock"
        self.debug_socket = work / "debug.sock"
        self.log = work / "agent.log"
        self.sim: subprocess.Popen[bytes] | None = None
        self._port = 0
        config: dict[str, object] = {
            "nodeName": "ops-node",
            "configureLinux": False,
            "store": store,
            "paths": {
                "stateDir": str(work / "state"),
                "vppSocket": str(self.vpp_socket),
                "cniSocket": str(work / "cni.sock"),
                "debugSocket": str(self.debug_socket),
            },
            "http": {"address": "127.0.0.1:0"},
            **(extra or {}),
        }
        self.config = work / "agent.yaml"
        self.config.write_text(yaml.safe_dump(config))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "contivpy"), "--log-json", "agent", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )

    # --- VPP -----------------------------------------------------------------------------

    def start_vpp(self) -> None:
        """Start the VPP simulator at the agent's VPP socket."""
        self.sim = subprocess.Popen(
            [str(BIN / "contivpy"), "vppsim", "--socket", str(self.vpp_socket)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # --- HTTP ----------------------------------------------------------------------------

    def http_port(self) -> int:
        """The port the agent's HTTP endpoint bound (it logs it), once it has."""
        deadline = time.monotonic() + WAIT
        while not self._port and time.monotonic() < deadline:
            assert self.process.poll() is None, f"agent exited early: {self.log_text()}"
            for event in self.log_events():
                if event.get("event") == "http endpoint serving":
                    self._port = int(str(event["port"]))
                    return self._port
            time.sleep(0.05)
        if not self._port:
            raise AssertionError(f"the agent never served HTTP: {self.log_text()}")
        return self._port

    def get(self, path: str) -> tuple[int, str, str]:
        """GET ``path`` from the agent: status, content type and body."""
        url = f"http://127.0.0.1:{self.http_port()}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.headers["Content-Type"], answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read().decode()

    def wait_for(self, path: str, status: int, text: str = "") -> str:
        """Poll ``path`` until it answers ``status`` with ``text`` in the body; the body."""
        deadline = time.monotonic() + WAIT
        last: tuple[int, str, str] | None = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"agent exited early: {self.log_text()}"
            last = self.get(path)
            if last[0] == status and text in last[2]:
                return last[2]
            time.sleep(0.1)
        raise AssertionError(f"{path} never answered {status} {text!r}; last: {last}")

    # --- the debug API -------------------------------------------------------------------

    def ctl_status(self) -> subprocess.CompletedProcess[str]:
        """`contivpy ctl status` against the agent's debug socket."""
        env = {**os.environ, "CONTIVPY_DEBUG_SOCKET": str(self.debug_socket)}
        return subprocess.run(
            [str(BIN / "contivpy"), "ctl", "status"],
            capture_output=True,
            text=True,
            env=env,
            timeout=WAIT,
            check=False,
        )

    def wait_for_status(self, wanted: str) -> str:
        """Poll `ctl status` until its output contains ``wanted``; the output."""
        deadline = time.monotonic() + WAIT
        last = ""
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"agent exited early: {self.log_text()}"
            if self.debug_socket.exists():
                done = self.ctl_status()
                last = done.stdout + done.stderr
                if done.returncode == 0 and wanted in done.stdout:
                    return done.stdout
            time.sleep(0.1)
        raise AssertionError(f"ctl status never showed {wanted!r}; last: {last}")

    # --- the process ---------------------------------------------------------------------

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig``; the exit code (the wait times out if the agent ignores it)."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def log_events(self) -> list[dict[str, object]]:
        events = []
        for line in self.log_text().splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return events

    def kill(self) -> None:
        """End the agent and the simulator, whatever state they are in."""
        for process in (self.process, self.sim):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
