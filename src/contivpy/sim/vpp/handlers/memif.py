"""memif sockets and memif interfaces.

In: memif_socket_filename_add_del_v2, memif_create_v2, memif_delete, memif_dump,
memif_socket_filename_dump. Out: socket ids, sw_if_indexes, details.

Socket 0 (/run/vpp/memif.sock) exists from the start and cannot be changed. Adding a socket
without an id picks a random one (as VPP 26.06 does); re-adding an id with the same file is
accepted, with another file refused; a socket in use by an interface cannot be deleted.
Relative file names land in VPP's runtime directory. Interfaces are ``memif<socket>/<id>``;
their link stays down until a peer connects: a memif of another simulated VPP of the process
on the same socket file (``memif_links``: created and deleted memifs and admin changes are
reported there), or the control API playing one. memif_dump reports the sizes the connection
runs with: ring size 1 and buffer size 0 before any connection, and always on a master (VPP
never fills them in there); a slave's negotiated sizes from its first connection on.
memif_socket_filename_dump walks a hash: the sockets come in no particular order (not by id).
"""

from __future__ import annotations

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.handlers.interface_kinds import require_kind
from contivpy.sim.vpp.model import Kind, MemifInfo, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import NO_INDEX

ROLE_SLAVE = 1
MODE_IP = 1
_RUNTIME_DIR = "/run/vpp/"
#: sizeof(sun_path): a unix socket path (with its NUL) fits in 108 bytes
_MAX_SOCKET_PATH = 108


def _socket_users(state: VppState, socket_id: int) -> int:
    return sum(1 for i in state.of_kind(Kind.MEMIF) if i.memif and i.memif.socket_id == socket_id)


def memif_socket_filename_add_del_v2(state: VppState, msg: Message) -> Fields:
    socket_id = msg.get_int("socket_id")
    if not msg.get_bool("is_add"):
        if socket_id in (0, NO_INDEX):
            raise SimError(Retval.INVALID_ARGUMENT, "cannot delete the default socket")
        if socket_id not in state.memif_sockets:
            raise SimError(Retval.INVALID_ARGUMENT, f"no memif socket {socket_id}")
        if _socket_users(state, socket_id):
            raise SimError(Retval.UNEXPECTED_INTF_STATE, f"memif socket {socket_id} in use")
        del state.memif_sockets[socket_id]
        return {"socket_id": socket_id}
    filename = msg.get_str("socket_filename")
    if not filename:
        raise SimError(Retval.INVALID_ARGUMENT, "empty socket file name")
    if not filename.startswith(("/", "@")):
        filename = _RUNTIME_DIR + filename
    if len(filename) >= _MAX_SOCKET_PATH:
        raise SimError(Retval.INVALID_ARGUMENT, f"socket path longer than {_MAX_SOCKET_PATH - 1}")
    if socket_id == 0:
        raise SimError(Retval.INVALID_ARGUMENT, "cannot modify the default socket")
    if socket_id == NO_INDEX:
        socket_id = state.random.randrange(1, NO_INDEX)
        while socket_id in state.memif_sockets:
            socket_id = state.random.randrange(1, NO_INDEX)
    existing = state.memif_sockets.get(socket_id)
    if existing is not None and existing != filename:
        raise SimError(Retval.ENTRY_ALREADY_EXISTS, f"socket {socket_id} is {existing}")
    state.memif_sockets[socket_id] = filename
    return {"socket_id": socket_id}


def memif_create_v2(state: VppState, msg: Message) -> Fields:
    socket_id = msg.get_int("socket_id")
    if socket_id not in state.memif_sockets:
        raise SimError(Retval.INVALID_ARGUMENT, f"no memif socket {socket_id}")
    memif_id = msg.get_int("id")
    role = msg.get_int("role")
    for other in state.of_kind(Kind.MEMIF):
        if other.memif is None or other.memif.socket_id != socket_id:
            continue
        if other.memif.id == memif_id:
            raise SimError(Retval.SUBIF_ALREADY_EXISTS, f"{other.name} exists")
        if other.memif.role != role:
            # One socket file is either listened on (master) or connected to (slave).
            raise SimError(Retval.INVALID_ARGUMENT, "socket used with the other role")
    ring_size = msg.get_int("ring_size") or 1024
    if ring_size & (ring_size - 1):
        raise SimError(Retval.INVALID_ARGUMENT, f"ring size {ring_size} is not a power of 2")
    mode = msg.get_int("mode")
    mac = msg.get_bytes("hw_addr")
    if mode == MODE_IP:
        mac = bytes(6)
    elif mac == bytes(6):
        mac = state.random_mac()
    iface = state.add_interface(f"memif{socket_id}/{memif_id}", Kind.MEMIF, mac=mac, link_mtu=9000)
    iface.memif = MemifInfo(
        socket_id=socket_id,
        id=memif_id,
        role=role,
        mode=mode,
        ring_size=ring_size,
        buffer_size=msg.get_int("buffer_size") or 2048,
        zero_copy=role == ROLE_SLAVE and not msg.get_bool("no_zero_copy"),
        secret=msg.get_str("secret"),
        rx_queues=msg.get_int("rx_queues") or 1,
        tx_queues=msg.get_int("tx_queues") or 1,
    )
    state.memif_changed()  # a master listens from now on
    return {"sw_if_index": iface.sw_if_index}


def memif_delete(state: VppState, msg: Message) -> Fields:
    iface = require_kind(state, msg.get_int("sw_if_index"), Kind.MEMIF)
    state.delete_interface(iface.sw_if_index)
    return {}


def memif_dump(state: VppState, msg: Message) -> list[Fields]:
    out: list[Fields] = []
    for iface in state.of_kind(Kind.MEMIF):
        info = iface.memif
        if info is None:
            continue
        out.append(
            {
                "sw_if_index": iface.sw_if_index,
                "hw_addr": iface.mac,
                "id": info.id,
                "role": info.role,
                "mode": info.mode,
                "zero_copy": info.zero_copy,
                "socket_id": info.socket_id,
                # VPP reports the sizes the connection runs with, not what was asked for.
                "ring_size": info.run.ring_size if info.run else 1,
                "buffer_size": info.run.buffer_size if info.run else 0,
                "flags": state.flags(iface),
                "if_name": iface.name,
            }
        )
    return out


def _hash_order(socket_id: int) -> int:
    """Where a socket id falls in a walk over VPP's hash (by id: no order to rely on)."""
    return (socket_id * 2654435761) % (1 << 32)


def memif_socket_filename_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"socket_id": socket_id, "socket_filename": filename}
        for socket_id, filename in sorted(
            state.memif_sockets.items(), key=lambda item: _hash_order(item[0])
        )
    ]


HANDLERS: dict[str, Handler] = {
    "memif_socket_filename_add_del_v2": memif_socket_filename_add_del_v2,
    "memif_create_v2": memif_create_v2,
    "memif_delete": memif_delete,
    "memif_dump": memif_dump,
    "memif_socket_filename_dump": memif_socket_filename_dump,
}
