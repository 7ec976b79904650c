"""The plugin's side of RemoteCNI: one gRPC call to the agent over its unix socket.

In: the socket path, the method (add, delete, check), a request, a deadline. Out: the
result, or CniError with a CNI code:

- the agent unreachable (AGENT_UNAVAILABLE, with the socket path);
- no answer within the deadline (TRY_AGAIN_LATER);
- the connection lost after it was made — the agent died or restarted mid-request
  (TRY_AGAIN_LATER, "agent connection lost during ADD": the spec's code for a transient
  condition; the restarted agent answers the kubelet's retry, and an ADD is idempotent);
- a gRPC status other than OK, or a reply that is not gRPC (WIRING_FAILED, naming it);
- the agent's own failure (its code and message).

``call_sync`` is the exec'd plugin's: plain documents (:mod:`contivpy.cni.wire`) in and out,
a blocking socket, no asyncio, no grpclib, no dataclasses (their imports were most of an
ADD's CPU). ``call_agent_sync`` and ``call_agent`` (the latter for a caller with an event
loop: the pods benchmark's load, tests) take a typed CniRequest and give a CniResult. All
speak HTTP/2 through :mod:`contivpy.cni.grpc_unary` and send the messages as protobuf bytes
(:mod:`contivpy.cni.wire`), not through the generated classes.
"""

from __future__ import annotations

from contivpy.cni import grpc_unary
from contivpy.cni.errors import CniCode, CniError
from contivpy.cni.http2_frames import DEADLINE_EXCEEDED
from contivpy.cni.wire import decode_reply, encode_request

TYPE_CHECKING = False  # not typing's: importing typing costs the plugin ~8 ms

if TYPE_CHECKING:
    from contivpy.cni.types import CniRequest, CniResult
    from contivpy.cni.wire import Reply, Request

_ROUTES = {
    "add": "/contivpy.cni.v1.RemoteCNI/Add",
    "delete": "/contivpy.cni.v1.RemoteCNI/Delete",
    "check": "/contivpy.cni.v1.RemoteCNI/Check",
}
_COMMANDS = {"add": "ADD", "delete": "DEL", "check": "CHECK"}


def call_sync(socket: str, method: str, request: Request, deadline_seconds: float) -> Reply:
    """Make one RemoteCNI call, blocking: the reply document."""
    try:
        reply = grpc_unary.call_unary(
            socket, _ROUTES[method], encode_request(request), deadline_seconds
        )
    except grpc_unary.CallError as error:
        raise cni_error(error, socket, method, deadline_seconds) from error
    return decode_reply(reply)


def call_agent_sync(
    socket: str, method: str, request: CniRequest, deadline_seconds: float
) -> CniResult:
    """Make one RemoteCNI call, blocking, typed."""
    from contivpy.cni.types import CniResult  # here: the plugin imports this module

    return CniResult.from_reply(call_sync(socket, method, request.document(), deadline_seconds))


async def call_agent(
    socket: str, method: str, request: CniRequest, deadline_seconds: float
) -> CniResult:
    """Make one RemoteCNI call from a coroutine, typed."""
    from contivpy.cni.types import CniResult

    try:
        reply = await grpc_unary.call_unary_async(
            socket, _ROUTES[method], encode_request(request.document()), deadline_seconds
        )
    except grpc_unary.CallError as error:
        raise cni_error(error, socket, method, deadline_seconds) from error
    return CniResult.from_reply(decode_reply(reply))


def cni_error(
    error: grpc_unary.CallError, socket: str, method: str, deadline_seconds: float
) -> CniError:
    """The CNI error of a failed call."""
    if isinstance(error, grpc_unary.Unreachable):
        return CniError(
            CniCode.AGENT_UNAVAILABLE, f"cannot reach the contivpy agent at {socket}: {error}"
        )
    deadline = isinstance(error, grpc_unary.StatusError) and (error.status == DEADLINE_EXCEEDED)
    if deadline or isinstance(error, grpc_unary.DeadlineExceeded):
        # The agent's own deadline (the grpc-timeout we sent) is the same deadline as ours.
        return CniError(
            CniCode.TRY_AGAIN_LATER,
            f"the contivpy agent at {socket} did not answer in {deadline_seconds}s",
        )
    if isinstance(error, grpc_unary.ConnectionLost):
        return CniError(
            CniCode.TRY_AGAIN_LATER,
            f"agent connection lost during {_COMMANDS[method]}",
            f"the contivpy agent at {socket} closed the connection before it answered "
            f"(restarted or killed?): {error}; retry once it is back",
        )
    if isinstance(error, grpc_unary.StatusError):
        return CniError(CniCode.WIRING_FAILED, f"agent refused the request: {error}")
    return CniError(
        CniCode.WIRING_FAILED, f"the contivpy agent at {socket} gave a bad reply: {error}"
    )
