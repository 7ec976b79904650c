"""A real node around a real VPP: what the real-VPP demo, the real-node tests and ``contivpy
bench pods --vpp-socket`` each set up, in one place.

In: names of network namespaces and links, a node's directory, its VPP's API socket and its
etcd endpoints. Out:

- :func:`check_can_make_namespaces`: :class:`RealNodeError` naming what is missing (root,
  iproute2's ``ip netns``);
- :func:`ip` (iproute2; a failure is a :class:`RealNodeError` with its message),
  :func:`add_netns` (a namespace with its loopback up, as a container runtime makes a pod
  sandbox's), :func:`delete_netns`, :func:`netns_names`, :func:`link_names`;
- :func:`write_agent_config`: the agent's configuration file for a real node in veth mode —
  kernels here have no ``/dev/vhost-net``, so VPP cannot make taps: each pod's ``eth0`` is a
  veth whose host end VPP takes with af_packet, and the host interconnect is the veth pair
  ``vpp1``/``vpp2`` (``useTapInterfaces: false``); the node's main interface is an af_packet
  on ``main_host_interface`` (a Linux link, e.g. a veth into an underlay), or VPP's loopback
  fallback when none is given;
- :func:`ctl`: ``contivpy ctl ... --json`` against an agent's debug socket;
  :func:`agent_ready`: whether its ``status`` shows an agent connected to VPP that has
  applied its first full desired state;
- :class:`AgentProcess`: ``contivpy agent --config FILE`` as a child process (optionally
  inside a namespace), its ``ctl`` and its readiness.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: how this interpreter runs contivpy's command line
CONTIVPY = (sys.executable, "-m", "contivpy.cli")
_STOP_SECONDS = 20.0


class RealNodeError(Exception):
    """A real node cannot be set up here, or a step of its set-up failed."""


def check_can_make_namespaces() -> None:
    """Raise RealNodeError naming what is missing to make namespaces and links."""
    if os.geteuid() != 0:
        raise RealNodeError("needs root: it makes network namespaces and links")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise RealNodeError(f"`ip netns` is unavailable: {probe.stderr.strip()}")


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip ARGS``; its output (RealNodeError with its message when it fails and
    ``check``)."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RealNodeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def add_netns(name: str) -> None:
    """A new network namespace ``name`` (under /var/run/netns) with its loopback up."""
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def delete_netns(name: str) -> None:
    """Remove the namespace ``name`` if it exists (the links in it go with it)."""
    ip("netns", "del", name, check=False)


def netns_names() -> set[str]:
    """The named network namespaces (``ip netns list``)."""
    return {line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()}


def link_names(netns: str | None = None) -> set[str]:
    """The links of ``netns`` (None: this namespace), without their ``@peer`` suffix."""
    where = ("-n", netns) if netns else ()
    names = set()
    for line in ip(*where, "-o", "link", "show").splitlines():
        parts = line.split(": ", 2)
        if len(parts) >= 2:
            names.add(parts[1].split("@")[0])
    return names


def write_agent_config(
    path: Path,
    *,
    node_name: str,
    directory: Path,
    vpp_socket: str,
    etcd_endpoints: Sequence[str],
    main_host_interface: str = "",
) -> Path:
    """Write a real node's agent configuration (veth mode, see the module docstring) to
    ``path``; its state, CNI socket (``cni.sock``) and debug socket (``debug.sock``) go in
    ``directory``. JSON is YAML: the agent reads it as its configuration file."""
    interfaces: dict[str, Any] = {"useTapInterfaces": False}
    if main_host_interface:
        interfaces["mainHostInterface"] = main_host_interface
    document = {
        "nodeName": node_name,
        "interfaces": interfaces,
        "store": {"endpoints": list(etcd_endpoints)},
        "paths": {
            "stateDir": str(directory / "state"),
            "vppSocket": vpp_socket,
            "cniSocket": str(directory / "cni.sock"),
            "debugSocket": str(directory / "debug.sock"),
        },
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def ctl(debug_socket: Path, *args: str) -> list[dict[str, Any]]:
    """``contivpy ctl ARGS --json`` against the agent serving ``debug_socket``: one object
    per line (RealNodeError when it cannot answer)."""
    env = {**os.environ, "CONTIVPY_DEBUG_SOCKET": str(debug_socket)}
    command = [*CONTIVPY, "ctl", *args, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RealNodeError(f"ctl {' '.join(args)}: exit {done.returncode}: {done.stderr}")
    try:
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    except json.JSONDecodeError as error:
        raise RealNodeError(f"ctl {' '.join(args)}: not JSON: {error}") from error


def agent_ready(status: dict[str, Any]) -> bool:
    """Whether ``contivpy ctl status --json`` shows an agent connected to VPP that has
    applied a full desired state (its first resync is done)."""
    vpp = status.get("vpp") or {}
    resync = status.get("last_resync") or {}
    return bool(vpp.get("connected")) and resync.get("kind") in ("full-resync", "downstream-resync")


class AgentProcess:
    """``contivpy agent --config CONFIG`` as a child process, its output in
    ``directory/agent.log``, its debug socket ``directory/debug.sock`` (as
    :func:`write_agent_config` puts it); inside ``netns`` when given."""

    def __init__(self, config: Path, directory: Path, *, netns: str | None = None) -> None:
        self.config = config
        self.directory = directory
        self.netns = netns
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def debug_socket(self) -> Path:
        return self.directory / "debug.sock"

    @property
    def exited(self) -> bool:
        """Started and no longer running."""
        return self.process is not None and self.process.poll() is not None

    def start(self) -> None:
        """Start the agent (in a session of its own: a terminal's signals are not its)."""
        inside = ("ip", "netns", "exec", self.netns) if self.netns else ()
        with (self.directory / "agent.log").open("ab") as log_file:
            self.process = subprocess.Popen(
                [*inside, *CONTIVPY, "--log-json", "agent", "--config", str(self.config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL, as a crash: the agent leaves everything as it is."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s; nothing when not running."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def ctl(self, *args: str) -> list[dict[str, Any]]:
        """:func:`ctl` against this agent."""
        return ctl(self.debug_socket, *args)

    def ready(self) -> bool:
        """Whether the agent answers and is ready (:func:`agent_ready`)."""
        try:
            status = self.ctl("status")
        except RealNodeError:
            return False
        return bool(status) and agent_ready(status[0])

    async def wait_ready(self, seconds: float = 60.0, *, poll: float = 0.2) -> float:
        """Wait until :meth:`ready`, asking every ``poll`` seconds; the seconds it took
        (RealNodeError when the agent exits or is not ready in time, naming its log)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < seconds:
            if self.exited:
                raise RealNodeError(f"the agent exited; see {self.directory / 'agent.log'}")
            if await asyncio.to_thread(self.ready):
                return loop.time() - started
            await asyncio.sleep(poll)
        raise RealNodeError(
            f"the agent was not ready within {seconds:g} s; see {self.directory / 'agent.log'}"
        )
