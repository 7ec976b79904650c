"""The plugin's side of RemoteCNI: one gRPC call to the agent over its unix socket.

In: the socket path, the method (add, delete, check), a CniRequest, a deadline. Out: the
CniResult, or CniError with a CNI code: the agent unreachable (AGENT_UNAVAILABLE, with the
socket path), a timeout (TRY_AGAIN_LATER), or the agent's own failure (its code and message).
"""

from __future__ import annotations

import json

from grpclib import GRPCError
from grpclib.client import Channel

from contivpy._gen.contivpy.cni.v1 import (
    CniReply,
    CniReplyResult,
    RemoteCniStub,
)
from contivpy._gen.contivpy.cni.v1 import (
    CniRequest as CniRequestMessage,
)
from contivpy.cni.types import (
    CniCode,
    CniError,
    CniInterface,
    CniIP,
    CniRequest,
    CniResult,
    CniRoute,
)


def to_message(request: CniRequest) -> CniRequestMessage:
    """The protobuf form of a request (Contiv's RemoteCNI fields)."""
    return CniRequestMessage(
        version=request.cni_version,
        container_id=request.container_id,
        network_namespace=request.netns,
        interface_name=request.ifname,
        extra_nw_config=json.dumps(request.config, sort_keys=True),
        extra_arguments=request.args,
    )


def from_reply(reply: CniReply) -> CniResult:
    """The typed result of a successful reply; raises CniError for a failed one."""
    if reply.result != CniReplyResult.OK:
        raise CniError(reply.error_code or CniCode.WIRING_FAILED, reply.error or "agent error")
    interfaces: list[CniInterface] = []
    ips: list[CniIP] = []
    for index, interface in enumerate(reply.interfaces):
        interfaces.append(CniInterface(interface.name, interface.mac, interface.sandbox))
        ips.extend(CniIP(ip.address, ip.gateway, index) for ip in interface.ip_addresses)
    routes = tuple(CniRoute(r.dst, r.gw) for r in reply.routes)
    return CniResult(tuple(interfaces), tuple(ips), routes)


async def call_agent(
    socket: str, method: str, request: CniRequest, deadline_seconds: float
) -> CniResult:
    """Make one RemoteCNI call."""
    channel = Channel(path=socket)
    try:
        stub = RemoteCniStub(channel)
        rpc = {"add": stub.add, "delete": stub.delete, "check": stub.check}[method]
        reply = await rpc(to_message(request), timeout=deadline_seconds)
    except (ConnectionError, FileNotFoundError, OSError) as error:
        raise CniError(
            CniCode.AGENT_UNAVAILABLE,
            f"cannot reach the contivpy agent at {socket}: {error.strerror or error}",
        ) from error
    except TimeoutError as error:
        raise CniError(
            CniCode.TRY_AGAIN_LATER,
            f"the contivpy agent at {socket} did not answer in {deadline_seconds}s",
        ) from error
    except GRPCError as error:
        raise CniError(
            CniCode.WIRING_FAILED, f"agent refused the request: {error.message}"
        ) from error
    finally:
        channel.close()
    return from_reply(reply)
