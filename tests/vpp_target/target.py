"""The VPP a test talks to (:class:`VppTarget`): a fresh simulator, or a real VPP made clean.

In: the environment. ``CONTIVPY_VPP_SOCKET`` names a running real VPP's API socket;
``CONTIVPY_VPP_RESTART`` (optional) a shell command that restarts that VPP, run before each
test instead of deleting what earlier tests made. Out: a target with the socket path, whether
it is real, the simulator (``None`` on a real VPP: a test that needs the simulator's state or
fault injection asks for it with :func:`require_simulator`, which skips with that reason), and
:meth:`VppTarget.restart` (VPP loses its state and comes back with a new pid).

On a real VPP the state is made clean before each test: the restart command when given, else
:func:`vpp_target.cleanup.clean` deletes everything that a fresh VPP does not have.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contivpy.backoff import Backoff
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import af_packet, interfaces
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.connection import VppConnection
from contivpy.vppcalls.errors import VppError
from contivpy.vppcalls.interfaces import InterfaceDetails
from vpp_target.cleanup import clean

SOCKET_VARIABLE = "CONTIVPY_VPP_SOCKET"
RESTART_VARIABLE = "CONTIVPY_VPP_RESTART"
#: how long a restarted real VPP may take to answer again
RESTART_TIMEOUT = 30.0


def real_socket() -> str | None:
    """The real VPP's API socket, when the suites are to run against one."""
    return os.environ.get(SOCKET_VARIABLE) or None


def running_on_real_vpp() -> bool:
    """The suites run against a real VPP."""
    return real_socket() is not None


def require_simulator(what: str) -> None:
    """Skip the test on a real VPP: it needs ``what`` of the simulator."""
    if running_on_real_vpp():
        pytest.skip(f"needs the simulator's {what}; not available on a real VPP")


@dataclass
class VppTarget:
    """One test's VPP."""

    socket_path: str
    #: the simulator, or None on a real VPP
    sim: VppSimulator | None
    restart_command: str | None = None
    #: Linux links made for this test (removed at its end)
    links: list[str] = field(default_factory=list)

    def host_link(self, name: str) -> str:
        """A Linux link ``name`` VPP can attach to with af_packet (a veth made here on a real
        VPP, which must run in this network namespace; any name on the simulator)."""
        if self.sim is not None:
            return name
        peer = f"{name[:11]}-p"
        made = subprocess.run(
            ["ip", "link", "add", name, "type", "veth", "peer", "name", peer],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            pytest.skip(f"cannot make a veth for af_packet on the real VPP: {made.stderr.strip()}")
        self.links.append(name)
        for link in (name, peer):
            subprocess.run(["ip", "link", "set", link, "up"], check=False)
        return name

    async def nic(self, vpp: ApiChannel) -> InterfaceDetails:
        """An Ethernet interface to hang sub-interfaces on: the simulator's NIC, or on a real
        VPP without NICs an af_packet on a veth made for the test."""
        if self.sim is not None:
            (nic,) = await interfaces.dump_interfaces(vpp, name_contains="GigabitEthernet")
            return nic
        index = await af_packet.create_af_packet(
            vpp, af_packet.AfPacketSpec(self.host_link("cvt-nic0"))
        )
        (nic,) = await interfaces.dump_interfaces(vpp, sw_if_index=index)
        return nic

    def remove_links(self) -> None:
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        self.links.clear()

    @property
    def real(self) -> bool:
        """A real VPP, not the simulator."""
        return self.sim is None

    @property
    def simulator(self) -> VppSimulator:
        """The simulator (the test is skipped on a real VPP)."""
        if self.sim is None:
            pytest.skip("needs the simulator; not available on a real VPP")
        return self.sim

    async def pid(self) -> int:
        """VPP's process id, as control_ping reports it."""
        connection = await VppConnection.open(self.socket_path, required=())
        try:
            return (await connection.call("control_ping")).get_int("vpe_pid")
        finally:
            await connection.close()

    async def restart(self) -> None:
        """Restart VPP: every state is lost, the pid changes, the socket comes back."""
        if self.sim is not None:
            await self.sim.restart()
            return
        if not self.restart_command:
            pytest.skip(f"restarting a real VPP needs {RESTART_VARIABLE}")
        before = await self.pid()
        await restart_real_vpp(self.socket_path, self.restart_command)
        if await self.pid() == before:
            raise AssertionError(f"{RESTART_VARIABLE} did not restart VPP (same pid {before})")


async def restart_real_vpp(socket_path: str, command: str) -> None:
    """Run ``command`` and wait until the VPP at ``socket_path`` answers again."""
    done = await asyncio.to_thread(
        subprocess.run, shlex.split(command), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"{RESTART_VARIABLE} failed ({done.returncode}): {done.stderr}")
    await wait_answering(socket_path, RESTART_TIMEOUT)


async def wait_answering(socket_path: str, seconds: float) -> None:
    """Wait until a VPP answers on ``socket_path`` (RuntimeError after ``seconds``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: Exception | None = None
    while loop.time() < deadline:
        try:
            connection = await VppConnection.open(socket_path, required=(), call_timeout=2.0)
        except (VppError, OSError) as err:
            last = err
            await asyncio.sleep(0.05)
            continue
        await connection.close()
        return
    raise RuntimeError(f"no VPP answers at {socket_path} after {seconds} s: {last}")


@asynccontextmanager
async def vpp_target(tmp_path: Path, **simulator_options: object) -> AsyncIterator[VppTarget]:
    """A clean VPP for one test: a new simulator, or the real VPP restarted or cleaned."""
    socket = real_socket()
    if socket is None:
        simulator = VppSimulator(str(tmp_path / "api.sock"), **simulator_options)  # type: ignore[arg-type]
        async with simulator:
            yield VppTarget(simulator.socket_path, simulator)
        return
    if simulator_options:
        pytest.skip(f"needs a simulator with {sorted(simulator_options)}")
    restart = os.environ.get(RESTART_VARIABLE) or None
    if restart:
        await restart_real_vpp(socket, restart)
    else:
        await clean(socket)
    target = VppTarget(socket, None, restart)
    try:
        yield target
    finally:
        if not restart:
            await clean(socket)  # before the links go: af_packets on them first
        target.remove_links()


def make_client(socket_path: str) -> VppClient:
    """A client tuned for tests: short timeouts, quick health checks and reconnects."""
    return VppClient(
        socket_path,
        call_timeout=5.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )
