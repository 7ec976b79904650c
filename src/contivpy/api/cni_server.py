"""The agent's RemoteCNI server on a unix socket (next to the CNI types it serves).

In: RemoteCNI calls from `contivpy cni` (Contiv's CNIRequest fields). Out: calls to a
PodNetworkHandler with typed requests, and CNIReply messages: OK with interfaces, IPs and
routes, or ERROR with a CNI error code and a message naming what was wrong (a missing
K8S_POD_NAME, a bad network config...). Nothing a client sends can crash the server.
"""

from __future__ import annotations

import json
from pathlib import Path

import structlog
from grpclib.server import Server

from contivpy._gen.contivpy.cni.v1 import (
    CniReply,
    CniReplyInterface,
    CniReplyInterfaceIp,
    CniReplyInterfaceIpVersion,
    CniReplyResult,
    CniReplyRoute,
    RemoteCniBase,
)
from contivpy._gen.contivpy.cni.v1 import (
    CniRequest as CniRequestMessage,
)
from contivpy.api.unix_socket import bind_unix, remove_own_socket, socket_inode
from contivpy.async_service import AsyncService
from contivpy.cni.handler import PodNetworkHandler
from contivpy.cni.types import CniCode, CniError, CniRequest, CniResult, pod_from_args

log = structlog.get_logger(__name__)

DEFAULT_CNI_SOCKET = Path("/run/contivpy/cni.sock")


def from_message(message: CniRequestMessage) -> CniRequest:
    """The typed request; raises CniError (invalid environment/config) on bad fields."""
    if not message.container_id:
        raise CniError(CniCode.INVALID_ENVIRONMENT, "container_id (CNI_CONTAINERID) is empty")
    config: dict[str, object] = {}
    if message.extra_nw_config:
        try:
            parsed = json.loads(message.extra_nw_config)
        except json.JSONDecodeError as error:
            raise CniError(CniCode.DECODE_FAILURE, f"extra_nw_config: not JSON: {error}") from error
        if not isinstance(parsed, dict):
            raise CniError(CniCode.INVALID_CONFIG, "extra_nw_config: not a JSON object")
        config = parsed
    return CniRequest(
        container_id=message.container_id,
        netns=message.network_namespace,
        ifname=message.interface_name or "eth0",
        pod=pod_from_args(message.extra_arguments),
        cni_version=message.version or "1.0.0",
        config=config,
        args=message.extra_arguments,
    )


def to_reply(result: CniResult) -> CniReply:
    """An OK reply carrying the result."""
    interfaces = []
    for index, interface in enumerate(result.interfaces):
        ips = [
            CniReplyInterfaceIp(
                version=(
                    CniReplyInterfaceIpVersion.IPV6
                    if ":" in ip.address
                    else CniReplyInterfaceIpVersion.IPV4
                ),
                address=ip.address,
                gateway=ip.gateway,
            )
            for ip in result.ips
            if ip.interface == index
        ]
        interfaces.append(
            CniReplyInterface(
                name=interface.name, mac=interface.mac, sandbox=interface.sandbox, ip_addresses=ips
            )
        )
    routes = [CniReplyRoute(dst=r.dst, gw=r.gw) for r in result.routes]
    return CniReply(result=CniReplyResult.OK, interfaces=interfaces, routes=routes)


def error_reply(error: CniError) -> CniReply:
    """An ERROR reply with the CNI code."""
    return CniReply(result=CniReplyResult.ERROR, error=error.message, error_code=error.code)


class CniService(RemoteCniBase):
    """RemoteCNI over a PodNetworkHandler."""

    def __init__(self, handler: PodNetworkHandler) -> None:
        self._handler = handler

    async def add(self, message: CniRequestMessage) -> CniReply:
        return await self._call("add", message)

    async def delete(self, message: CniRequestMessage) -> CniReply:
        return await self._call("delete", message)

    async def check(self, message: CniRequestMessage) -> CniReply:
        return await self._call("check", message)

    async def _call(self, method: str, message: CniRequestMessage) -> CniReply:
        try:
            request = from_message(message)
            if method == "add":
                return to_reply(await self._handler.add(request))
            if method == "check":
                return to_reply(await self._handler.check(request))
            await self._handler.delete(request)
            return CniReply(result=CniReplyResult.OK)
        except CniError as error:
            log.warning("CNI request failed", method=method, code=error.code, error=error.message)
            return error_reply(error)
        except Exception as error:  # the handler's bug must not reach the kubelet as a crash
            log.exception("CNI request failed unexpectedly", method=method)
            return error_reply(CniError(CniCode.WIRING_FAILED, f"internal error: {error!r}"))


class CniServer(AsyncService):
    """RemoteCNI on a unix socket (mode 0600). ``async with CniServer(handler, path):``"""

    def __init__(self, handler: PodNetworkHandler, socket_path: Path = DEFAULT_CNI_SOCKET) -> None:
        self.socket_path = socket_path
        self._server = Server([CniService(handler)])
        self._inode: int | None = None

    async def start(self) -> None:
        """Bind and listen."""
        sock = bind_unix(self.socket_path, "CNI")
        self._inode = socket_inode(self.socket_path)
        try:
            await self._server.start(sock=sock)
        except BaseException:
            sock.close()
            remove_own_socket(self.socket_path, self._inode)
            raise
        log.info("CNI server listening", socket=str(self.socket_path))

    async def stop(self) -> None:
        """Stop listening and remove the socket."""
        self._server.close()
        await self._server.wait_closed()
        if self._inode is not None:
            remove_own_socket(self.socket_path, self._inode)
            self._inode = None
