"""Simulated VPPs of one process joined by memifs: a vswitch and CNF pods' VPPs.

In: an exit stack that owns what is started, a directory for the sockets. Out:
:func:`start_vpp`, a running simulator with a contivpy client (a :class:`Vpp`), optionally
with mounts (a CNF pod sees its memif directory at ``/run/vpp``), and helpers that make the
memifs through the typed vppcalls, as an agent would: :func:`add_memif` (socket and
interface, optionally admin up), :func:`link_up`, :func:`memif_details`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from contivpy.backoff import Backoff
from contivpy.sim.vpp.memif_links import MemifLinks
from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import interfaces, memif
from contivpy.vppcalls.client import VppClient

#: where a CNF pod sees its memif directory (Contiv's device plugin mounts it there)
POD_RUN_DIR = "/run/vpp"
#: the socket a CNF's VPP uses: socket 0, VPP's default file, inside the mounted directory
POD_SOCKET = "/run/vpp/memif.sock"


@dataclass
class Vpp:
    """A running simulated VPP and a client of it."""

    name: str
    sim: VppSimulator
    client: VppClient


async def start_vpp(
    stack: contextlib.AsyncExitStack,
    directory: Path,
    name: str,
    *,
    mounts: Mapping[str, str] | None = None,
    links: MemifLinks | None = None,
) -> Vpp:
    """Start a simulator named ``name`` (stopped by ``stack``) and connect a client."""
    sim = VppSimulator(str(directory / f"{name}-api.sock"), mounts=mounts, memif_links=links)
    await stack.enter_async_context(sim)
    client = VppClient(
        sim.socket_path,
        call_timeout=2.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )
    await client.start(connect_timeout=5.0)
    stack.push_async_callback(client.close)
    return Vpp(name, sim, client)


#: the ``start_vpp`` fixture: start_vpp(name, mounts=..., links=...)
StartVpp = Callable[..., Awaitable[Vpp]]


def pod_dir(directory: Path, pod: str) -> Path:
    """The host directory of a pod's memif socket (the device plugin's per-allocation dir)."""
    path = directory / "memif" / pod
    path.mkdir(parents=True, exist_ok=True)
    return path


async def add_memif(
    vpp: Vpp,
    *,
    socket_id: int,
    filename: str,
    memif_id: int,
    role: memif.MemifRole,
    up: bool = True,
    **spec: object,
) -> int:
    """Register the socket (unless it is socket 0), create the memif, maybe admin up."""
    if socket_id != 0:
        await memif.add_memif_socket(vpp.client, memif.MemifSocket(socket_id, filename))
    index = await memif.create_memif(
        vpp.client,
        memif.MemifSpec(socket_id=socket_id, id=memif_id, role=role, **spec),  # type: ignore[arg-type]
    )
    if up:
        await interfaces.set_admin_state(vpp.client, index, True)
    return index


async def link_up(vpp: Vpp, sw_if_index: int) -> bool:
    """Whether sw_interface_dump reports the interface's link up."""
    (details,) = await interfaces.dump_interfaces(vpp.client, sw_if_index=sw_if_index)
    return details.link_up


async def memif_details(vpp: Vpp, sw_if_index: int) -> memif.MemifDetails:
    """memif_dump's entry for the interface."""
    found = [d for d in await memif.dump_memifs(vpp.client) if d.sw_if_index == sw_if_index]
    assert len(found) == 1, f"{vpp.name} reports no memif {sw_if_index}"
    return found[0]
