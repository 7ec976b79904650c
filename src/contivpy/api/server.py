"""Serving the debug API: a unix socket for operators on the node, optionally TCP with TLS.

In: an AgentIntrospection and DebugServerSettings. Out: grpclib servers running AgentDebug
until stopped (``async with DebugServer(agent, settings) as server: ...``).

Unix socket: mode 0600, since the API can resync the dataplane. It is bound under a
temporary name, made 0600 and renamed into place before listen(), so nobody else can ever
connect. A stale socket file (nobody listening: a crashed agent's) is removed first; a live
one (another agent) or a path that is not a socket is a ConfigError, never overwritten.
The file is removed on stop.

TCP needs TLS (server certificate and key); with a client CA, clients must present a
certificate it signed (mTLS). There is no plain TCP: the API can change the dataplane.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import structlog
from grpclib.server import Server

from contivpy.api import DEFAULT_DEBUG_SOCKET
from contivpy.api.debug_service import DebugService
from contivpy.api.introspection import AgentIntrospection
from contivpy.api.request_codec import RequestCodec
from contivpy.api.unix_socket import bind_unix, remove_own_socket, socket_inode
from contivpy.async_service import AsyncService
from contivpy.errors import ConfigError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ServerTls:
    """Files of the TCP listener's TLS."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None  # set: clients must present a certificate it signed


@dataclass(frozen=True, slots=True)
class DebugServerSettings:
    """Where the debug API listens. ``socket_path=None``: no unix socket; ``tcp_host=None``:
    no TCP listener (the default). ``tcp_port=0`` picks a free port (see ``tcp_port``)."""

    socket_path: Path | None = DEFAULT_DEBUG_SOCKET
    tcp_host: str | None = None
    tcp_port: int = 0
    tls: ServerTls | None = None

    def check(self) -> None:
        """Raise ConfigError naming the setting when these cannot work."""
        if self.socket_path is None and self.tcp_host is None:
            raise ConfigError("debug API: give socket_path, tcp_host or both")
        if self.tcp_host is not None and self.tls is None:
            raise ConfigError("debug API tls: TCP needs TLS (server certificate and key)")
        if not 0 <= self.tcp_port <= 65535:
            raise ConfigError(f"debug API tcp_port: {self.tcp_port} is not a port number")


class DebugServer(AsyncService):
    """The debug API's listeners over one agent. Start once, stop once."""

    def __init__(
        self,
        agent: AgentIntrospection,
        settings: DebugServerSettings | None = None,
        *,
        service: DebugService | None = None,
    ) -> None:
        self.settings = settings or DebugServerSettings()
        self.settings.check()
        self.service = service or DebugService(agent)
        self._servers: list[Server] = []
        self._socket_inode: int | None = None
        self._tcp_port: int | None = None

    @property
    def socket_path(self) -> Path | None:
        """The unix socket's path (None: no unix listener)."""
        return self.settings.socket_path

    @property
    def tcp_port(self) -> int | None:
        """The TCP port listened on, once started (None: no TCP listener)."""
        return self._tcp_port

    async def start(self) -> None:
        """Bind and listen; on any failure nothing is left listening."""
        settings = self.settings
        try:
            if settings.socket_path is not None:
                sock = bind_unix(settings.socket_path, "debug API")
                self._socket_inode = socket_inode(settings.socket_path)
                await self._serve(sock, None)
            if settings.tcp_host is not None and settings.tls is not None:
                context = server_ssl_context(settings.tls)
                sock = _bind_tcp(settings.tcp_host, settings.tcp_port)
                self._tcp_port = sock.getsockname()[1]
                await self._serve(sock, context)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "debug API listening",
            socket=str(settings.socket_path) if settings.socket_path else None,
            tcp=f"{settings.tcp_host}:{self._tcp_port}" if self._tcp_port is not None else None,
            mtls=bool(settings.tls and settings.tls.client_ca_file),
        )

    async def _serve(self, sock: socket.socket, context: ssl.SSLContext | None) -> None:
        # One grpclib Server per listener: a Server starts exactly once, on one socket.
        server = Server([self.service], codec=RequestCodec())
        try:
            await server.start(sock=sock, ssl=context)
        except BaseException:
            sock.close()
            raise
        self._servers.append(server)

    async def stop(self) -> None:
        """Stop listening, end running calls (watch streams included), remove the socket."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()
        path = self.settings.socket_path
        if path is not None and self._socket_inode is not None:
            remove_own_socket(path, self._socket_inode)
            self._socket_inode = None


def server_ssl_context(tls: ServerTls) -> ssl.SSLContext:
    """TLS 1.2+ with HTTP/2 negotiated (gRPC needs it); client certificates with a CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(
            f"debug API tls: cannot load {tls.cert_file} / {tls.key_file}: {error}"
        ) from error
    if tls.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=tls.client_ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(
                f"debug API tls: cannot load client CA {tls.client_ca_file}: {error}"
            ) from error
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    return context


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise ConfigError(f"debug API tcp {host}:{port}: cannot bind: {error}") from error
