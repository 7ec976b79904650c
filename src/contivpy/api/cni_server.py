"""The agent's RemoteCNI server on a unix socket (next to the CNI types it serves).

In: RemoteCNI calls from `contivpy cni` (Contiv's CNIRequest fields) or any gRPC client.
Out: calls to a PodNetworkHandler with typed requests, and CNIReply messages: OK with
interfaces, IPs and routes, or ERROR with a CNI error code and a message naming what was
wrong (a missing K8S_POD_NAME, a bad network config...). Nothing a client sends can crash
the server.

HTTP/2 and gRPC are :mod:`contivpy.cni.grpc_serve` (no I/O) on an asyncio transport here,
and the messages :mod:`contivpy.cni.wire`, not grpclib and the generated classes: those
cost about 0.9 ms of the agent's CPU per call, a third of a pod ADD's work in the agent
(``contivpy bench pods``). Each call runs as a task of its own, cancelled when its client
resets it or goes away, and given up at the client's deadline (``grpc-timeout``:
DEADLINE_EXCEEDED) as grpclib's server does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, cast

import structlog

from contivpy.api.unix_socket import bind_unix, remove_own_socket, socket_inode
from contivpy.async_service import AsyncService
from contivpy.cni.grpc_serve import Call, ServerConnection
from contivpy.cni.handler import PodNetworkHandler
from contivpy.cni.http2_frames import DEADLINE_EXCEEDED
from contivpy.cni.types import CniCode, CniError, CniRequest, pod_from_args
from contivpy.cni.wire import decode_request, encode_error, encode_reply

if TYPE_CHECKING:
    from contivpy.cni.wire import Request

log = structlog.get_logger(__name__)

DEFAULT_CNI_SOCKET = Path("/run/contivpy/cni.sock")
_SERVICE = "/contivpy.cni.v1.RemoteCNI/"
METHODS = {_SERVICE + "Add": "add", _SERVICE + "Delete": "delete", _SERVICE + "Check": "check"}


def typed_request(document: Request) -> CniRequest:
    """The typed request of a decoded CNIRequest; CniError (invalid environment) on bad
    fields."""
    if not document["container_id"]:
        raise CniError(CniCode.INVALID_ENVIRONMENT, "container_id (CNI_CONTAINERID) is empty")
    return CniRequest(
        container_id=document["container_id"],
        netns=document["netns"],
        ifname=document["ifname"] or "eth0",
        pod=pod_from_args(document["args"]),
        cni_version=document["cni_version"] or "1.0.0",
        config=document["config"],
        args=document["args"],
    )


async def answer(handler: PodNetworkHandler, method: str, message: bytes) -> bytes:
    """The CNIReply message (OK or ERROR) of one call to ``method`` (add, delete, check)."""
    try:
        request = typed_request(decode_request(message))
        if method == "add":
            return encode_reply((await handler.add(request)).document())
        if method == "check":
            return encode_reply((await handler.check(request)).document())
        await handler.delete(request)
        return b""  # result OK, nothing else: proto3's defaults are not sent
    except CniError as error:
        log.warning("CNI request failed", method=method, code=error.code, error=error.message)
        return encode_error(error)
    except Exception as error:  # the handler's bug must not reach the kubelet as a crash
        log.exception("CNI request failed unexpectedly", method=method)
        return encode_error(CniError(CniCode.WIRING_FAILED, f"internal error: {error!r}"))


class _Connection(asyncio.Protocol):
    """One client connection: HTTP/2 frames in, a task per call, answers out."""

    def __init__(self, handler: PodNetworkHandler, connections: set[_Connection]) -> None:
        self._handler = handler
        self._connections = connections
        self._h2 = ServerConnection(frozenset(METHODS))
        self._calls: dict[int, asyncio.Task[None]] = {}
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's is no asyncio.Transport subclass)
        self._transport = cast("asyncio.Transport", transport)
        self._connections.add(self)
        # Our SETTINGS go out with the answer to the client's preface, which a client sends
        # without waiting for ours: one write (a system call) less per connection.

    def data_received(self, data: bytes) -> None:
        for event in self._h2.receive(data):
            if isinstance(event, Call):
                task = asyncio.get_running_loop().create_task(self._serve(event))
                self._calls[event.stream] = task
            else:  # reset by the client: nobody waits for the answer
                cancelled = self._calls.pop(event.stream, None)
                if cancelled is not None:
                    cancelled.cancel()
        self._flush()

    def eof_received(self) -> bool | None:
        return None  # close the transport: a client that stops sending is done

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._transport = None
        for task in self._calls.values():
            task.cancel()
        self._calls.clear()

    def close(self) -> None:
        """End the connection (the server stops)."""
        if self._transport is not None:
            self._transport.close()

    async def _serve(self, call: Call) -> None:
        try:
            async with asyncio.timeout(call.timeout):
                reply = await answer(self._handler, METHODS[call.path], call.message)
        except TimeoutError:
            self._h2.fail(call.stream, DEADLINE_EXCEEDED, "the deadline passed")
        else:
            self._h2.respond(call.stream, reply)
        finally:
            self._calls.pop(call.stream, None)
        self._flush()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        out = self._h2.data_to_send()
        if out:
            transport.write(out)
        if self._h2.failed or (self._h2.goaway and self._h2.idle):
            transport.close()


class CniServer(AsyncService):
    """RemoteCNI on a unix socket (mode 0600). ``async with CniServer(handler, path):``"""

    def __init__(self, handler: PodNetworkHandler, socket_path: Path = DEFAULT_CNI_SOCKET) -> None:
        self.socket_path = socket_path
        self._handler = handler
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()
        self._inode: int | None = None

    async def start(self) -> None:
        """Bind and listen."""
        sock = bind_unix(self.socket_path, "CNI")
        self._inode = socket_inode(self.socket_path)
        try:
            self._server = await asyncio.get_running_loop().create_unix_server(
                lambda: _Connection(self._handler, self._connections), sock=sock
            )
        except BaseException:
            sock.close()
            remove_own_socket(self.socket_path, self._inode)
            raise
        log.info("CNI server listening", socket=str(self.socket_path))

    async def stop(self) -> None:
        """Stop listening, end the connections (their calls are cancelled) and remove the
        socket."""
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections):
                connection.close()
            await self._server.wait_closed()
            self._server = None
        if self._inode is not None:
            remove_own_socket(self.socket_path, self._inode)
            self._inode = None
