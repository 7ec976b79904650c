"""memif: socket files and shared-memory interfaces.

In: :class:`MemifSocket` and :class:`MemifSpec`. Out: sw_if_indexes, and what
memif_socket_filename_dump / memif_dump report. Always pass a socket id: without one VPP
26.06 picks a random id, and the interface name (``memif<socket id>/<id>``) with it. Socket 0
is VPP's default (/run/vpp/memif.sock) and cannot be changed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.interfaces import ADMIN_UP, LINK_UP
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import mac_from_wire, mac_to_wire


class MemifRole(enum.IntEnum):
    """memif_role."""

    MASTER = 0
    SLAVE = 1


class MemifMode(enum.IntEnum):
    """memif_mode."""

    ETHERNET = 0
    IP = 1
    PUNT_INJECT = 2


@dataclass(frozen=True)
class MemifSocket:
    """A memif socket file and the id interfaces refer to it by."""

    socket_id: int
    filename: str


@dataclass(frozen=True)
class MemifSpec:
    """A memif interface to create."""

    socket_id: int
    id: int
    role: MemifRole = MemifRole.MASTER
    mode: MemifMode = MemifMode.ETHERNET
    mac: str | None = None
    secret: str = ""
    ring_size: int = 1024
    buffer_size: int = 2048
    rx_queues: int = 1
    tx_queues: int = 1
    #: a slave maps the master's buffers (zero copy) unless told not to
    zero_copy: bool = True
    use_dma: bool = False


@dataclass(frozen=True)
class MemifDetails:
    """A memif interface as VPP reports it."""

    sw_if_index: int
    name: str
    socket_id: int
    id: int
    role: MemifRole
    mode: MemifMode
    mac: str
    ring_size: int
    buffer_size: int
    zero_copy: bool
    admin_up: bool
    link_up: bool

    @classmethod
    def from_message(cls, msg: Message) -> MemifDetails:
        """From memif_details."""
        flags = msg.get_int("flags")
        return cls(
            sw_if_index=msg.get_int("sw_if_index"),
            name=msg.get_str("if_name"),
            socket_id=msg.get_int("socket_id"),
            id=msg.get_int("id"),
            role=MemifRole(msg.get_int("role")),
            mode=MemifMode(msg.get_int("mode")),
            mac=mac_from_wire(msg.get_bytes("hw_addr")),
            ring_size=msg.get_int("ring_size"),
            buffer_size=msg.get_int("buffer_size"),
            zero_copy=msg.get_bool("zero_copy"),
            admin_up=bool(flags & ADMIN_UP),
            link_up=bool(flags & LINK_UP),
        )


async def add_memif_socket(vpp: ApiChannel, socket: MemifSocket) -> None:
    """Register a socket file under its id (re-adding the same pair is accepted)."""
    if socket.socket_id == 0:
        raise ValueError("memif socket 0 is VPP's default and cannot be changed")
    await vpp.call(
        "memif_socket_filename_add_del_v2",
        {"is_add": True, "socket_id": socket.socket_id, "socket_filename": socket.filename},
    )


async def delete_memif_socket(vpp: ApiChannel, socket_id: int) -> None:
    """Forget a socket file (refused while an interface uses it)."""
    await vpp.call("memif_socket_filename_add_del_v2", {"is_add": False, "socket_id": socket_id})


async def dump_memif_sockets(vpp: ApiChannel) -> list[MemifSocket]:
    """Every registered socket file, socket 0 included."""
    details = await vpp.dump("memif_socket_filename_dump")
    return [MemifSocket(d.get_int("socket_id"), d.get_str("socket_filename")) for d in details]


async def create_memif(vpp: ApiChannel, spec: MemifSpec) -> int:
    """Create the memif interface; its sw_if_index."""
    reply = await vpp.call(
        "memif_create_v2",
        {
            "role": int(spec.role),
            "mode": int(spec.mode),
            "rx_queues": spec.rx_queues,
            "tx_queues": spec.tx_queues,
            "id": spec.id,
            "socket_id": spec.socket_id,
            "ring_size": spec.ring_size,
            "buffer_size": spec.buffer_size,
            "no_zero_copy": not spec.zero_copy,
            "use_dma": spec.use_dma,
            "hw_addr": mac_to_wire(spec.mac),
            "secret": spec.secret,
        },
    )
    return reply.get_int("sw_if_index")


async def delete_memif(vpp: ApiChannel, sw_if_index: int) -> None:
    """Delete a memif interface."""
    await vpp.call("memif_delete", {"sw_if_index": sw_if_index})


async def dump_memifs(vpp: ApiChannel) -> list[MemifDetails]:
    """Every memif interface."""
    return [MemifDetails.from_message(d) for d in await vpp.dump("memif_dump")]
