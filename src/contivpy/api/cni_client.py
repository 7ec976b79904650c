"""The plugin's side of RemoteCNI: one gRPC call to the agent over its unix socket.

In: the socket path, the method (add, delete, check), a CniRequest, a deadline. Out: the
CniResult, or CniError with a CNI code:

- the agent unreachable (AGENT_UNAVAILABLE, with the socket path);
- no answer within the deadline (TRY_AGAIN_LATER);
- the connection lost after it was made — the agent died or restarted mid-request
  (TRY_AGAIN_LATER, "agent connection lost during ADD": the spec's code for a transient
  condition; the restarted agent answers the kubelet's retry, and an ADD is idempotent);
- the agent's own failure (its code and message).

The messages go as protobuf bytes (:mod:`contivpy.api.cni_wire`), not through the generated
classes: the plugin starts once per pod and their import would be most of its start-up.
"""

from __future__ import annotations

from typing import Any

from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Cardinality
from grpclib.encoding.base import CodecBase
from grpclib.exceptions import StreamTerminatedError

from contivpy.api.cni_wire import decode_reply, encode_request
from contivpy.cni.types import CniCode, CniError, CniRequest, CniResult

_ROUTES = {
    "add": "/contivpy.cni.v1.RemoteCNI/Add",
    "delete": "/contivpy.cni.v1.RemoteCNI/Delete",
    "check": "/contivpy.cni.v1.RemoteCNI/Check",
}
_COMMANDS = {"add": "ADD", "delete": "DEL", "check": "CHECK"}


class _EncodedProto(CodecBase):
    """gRPC's protobuf content type for messages that are already bytes."""

    __content_subtype__ = "proto"

    def encode(self, message: Any, message_type: Any) -> bytes:
        return bytes(message)

    def decode(self, data: bytes, message_type: Any) -> bytes:
        return data


async def call_agent(
    socket: str, method: str, request: CniRequest, deadline_seconds: float
) -> CniResult:
    """Make one RemoteCNI call."""
    channel = Channel(path=socket, codec=_EncodedProto())
    try:
        async with channel.request(
            _ROUTES[method], Cardinality.UNARY_UNARY, bytes, bytes, timeout=deadline_seconds
        ) as stream:
            await stream.send_message(encode_request(request), end=True)
            reply = await stream.recv_message()
    except TimeoutError as error:  # before OSError: TimeoutError is one
        raise CniError(
            CniCode.TRY_AGAIN_LATER,
            f"the contivpy agent at {socket} did not answer in {deadline_seconds}s",
        ) from error
    except StreamTerminatedError as error:
        raise _connection_lost(socket, method) from error
    except AttributeError as error:
        # grpclib 0.4 drops a closed connection's transport and then trips over it when the
        # peer went away between connecting and sending: that is a lost connection too.
        if not _was_connected(channel):
            raise
        raise _connection_lost(socket, method) from error
    except OSError as error:  # ConnectionError, FileNotFoundError, ...
        if _was_connected(channel):
            raise _connection_lost(socket, method) from error
        raise CniError(
            CniCode.AGENT_UNAVAILABLE,
            f"cannot reach the contivpy agent at {socket}: {error.strerror or error}",
        ) from error
    except GRPCError as error:
        raise CniError(
            CniCode.WIRING_FAILED, f"agent refused the request: {error.message}"
        ) from error
    finally:
        channel.close()
    if reply is None:  # the stream ended without a message: the agent went away mid-reply
        raise _connection_lost(socket, method)
    return decode_reply(reply)


def _was_connected(channel: Channel) -> bool:
    """Whether the channel got a connection to the agent (grpclib keeps it until close)."""
    return getattr(channel, "_protocol", None) is not None


def _connection_lost(socket: str, method: str) -> CniError:
    return CniError(
        CniCode.TRY_AGAIN_LATER,
        f"agent connection lost during {_COMMANDS[method]}",
        f"the contivpy agent at {socket} closed the connection before it answered "
        "(restarted or killed?); retry once it is back",
    )
