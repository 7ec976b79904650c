"""The plugin's blocking gRPC client: against the agent's real RemoteCNI server (grpclib),
and frame by frame against what an HTTP/2 server may send."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import hpack
import pytest

from contivpy.api.cni_server import CniServer
from contivpy.cni import grpc_unary, http2_frames
from contivpy.cni.client import call_agent, call_agent_sync
from contivpy.cni.grpc_unary import (
    ConnectionLost,
    ProtocolError,
    StatusError,
    UnaryCall,
    call_unary,
)
from contivpy.cni.types import (
    CniCode,
    CniError,
    CniIP,
    CniRequest,
    CniResult,
    PodRef,
)
from doubles.cni_handler import Handler

ADD_PATH = "/contivpy.cni.v1.RemoteCNI/Add"


def request(name: str = "web") -> CniRequest:
    args = f"K8S_POD_NAMESPACE=default;K8S_POD_NAME={name}"
    config = {"cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "contivpy"}
    pod = PodRef("default", name)
    return CniRequest("c1", "/var/run/netns/x", "eth0", pod, config=config, args=args)


async def blocking(socket: Path, method: str, cni: CniRequest, deadline: float) -> CniResult:
    """The plugin's call, off the event loop the server runs on."""
    return await asyncio.to_thread(call_agent_sync, str(socket), method, cni, deadline)


async def test_add_check_delete_and_the_agents_errors(tmp_path: Path) -> None:
    handler = Handler()
    path = tmp_path / "cni.sock"
    async with CniServer(handler, path):
        result = await blocking(path, "add", request(), 5)
        assert result.ips == (CniIP("10.1.1.2/32", "10.1.1.1", 0),)
        assert result.interfaces[0].sandbox == "/var/run/netns/x"
        assert handler.wired["c1"].pod == PodRef("default", "web")
        assert (await blocking(path, "check", request(), 5)).routes[0].gw == "10.1.1.1"
        await blocking(path, "delete", request(), 5)
        assert handler.wired == {}
        with pytest.raises(CniError) as unknown:
            await blocking(path, "check", request(), 5)
        assert unknown.value.code == CniCode.UNKNOWN_CONTAINER
        with pytest.raises(CniError) as exhausted:
            await blocking(path, "add", request("exhausted"), 5)
        assert (exhausted.value.code, exhausted.value.message) == (
            CniCode.IP_EXHAUSTED,
            "no free pod IP in 10.1.1.0/24",
        )
        # Many calls, one after another: each is a connection of its own.
        for _ in range(20):
            assert (await blocking(path, "add", request(), 5)).ips[0].address == "10.1.1.2/32"


async def test_a_grpc_status_other_than_ok_names_status_and_message(tmp_path: Path) -> None:
    path = tmp_path / "cni.sock"
    async with CniServer(Handler(), path):
        with pytest.raises(StatusError) as status:
            await asyncio.to_thread(
                call_unary, str(path), "/contivpy.cni.v1.RemoteCNI/Nope", b"", 5
            )
    nope = "no method /contivpy.cni.v1.RemoteCNI/Nope"
    assert (status.value.status, status.value.message) == (12, nope)
    error = grpc_unary_cni_error(status.value, str(path))
    assert error.code == CniCode.WIRING_FAILED
    assert error.message == f"agent refused the request: gRPC status 12 UNIMPLEMENTED: {nope}"


def grpc_unary_cni_error(error: grpc_unary.CallError, socket: str) -> CniError:
    from contivpy.cni.client import cni_error

    return cni_error(error, socket, "add", 5)


async def test_an_agent_that_never_answers_is_try_again_later(tmp_path: Path) -> None:
    path = tmp_path / "cni.sock"
    async with CniServer(Handler(hang=True), path):
        for call in (
            blocking(path, "add", request(), 0.3),
            call_agent(str(path), "add", request(), 0.3),
        ):
            with pytest.raises(CniError) as late:
                await call
            assert late.value.code == CniCode.TRY_AGAIN_LATER
            assert late.value.message == f"the contivpy agent at {path} did not answer in 0.3s"


DYING_AGENT = """
import asyncio, os, sys
from pathlib import Path
from contivpy.api.cni_server import CniServer

class Handler:  # the agent is killed while it handles the request
    async def add(self, request):
        os._exit(9)
    delete = check = add

async def main():
    async with CniServer(Handler(), Path(sys.argv[1])):
        await asyncio.sleep(60)

asyncio.run(main())
"""


def dying_agent(socket: Path) -> subprocess.Popen[bytes]:
    agent = subprocess.Popen([sys.executable, "-c", DYING_AGENT, str(socket)])
    for _ in range(600):
        if socket.exists() or agent.poll() is not None:
            break
        time.sleep(0.05)
    return agent


@pytest.mark.parametrize(("method", "command"), [("add", "ADD"), ("delete", "DEL")])
def test_an_agent_that_dies_mid_call_is_connection_lost(
    tmp_path: Path, method: str, command: str
) -> None:
    socket = tmp_path / "cni.sock"
    agent = dying_agent(socket)
    try:
        with pytest.raises(CniError) as lost:
            call_agent_sync(str(socket), method, request(), 30)
        assert agent.wait(timeout=30) == 9  # the agent did die mid-request
    finally:
        agent.kill()
        agent.wait()
    assert lost.value.code == CniCode.TRY_AGAIN_LATER
    assert lost.value.message == f"agent connection lost during {command}"
    assert str(socket) in lost.value.details


def test_a_missing_or_refusing_socket_is_agent_unavailable(tmp_path: Path) -> None:
    with pytest.raises(CniError) as missing:
        call_agent_sync(str(tmp_path / "none.sock"), "add", request(), 5)
    assert missing.value.code == CniCode.AGENT_UNAVAILABLE
    assert missing.value.message == (
        f"cannot reach the contivpy agent at {tmp_path / 'none.sock'}: No such file or directory"
    )
    stale = tmp_path / "stale.sock"  # a socket file nobody listens on (a crashed agent's)
    with socket.socket(socket.AF_UNIX) as unbound:
        unbound.bind(str(stale))
        with pytest.raises(CniError) as refused:
            call_agent_sync(str(stale), "add", request(), 5)
    assert refused.value.code == CniCode.AGENT_UNAVAILABLE
    assert refused.value.message == (
        f"cannot reach the contivpy agent at {stale}: Connection refused"
    )


# Frame by frame: what a server may send, fed to the protocol without a socket.


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3) + bytes((kind, flags)) + stream.to_bytes(4) + payload


def frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, stream, payload) of each frame the client sent (after the preface)."""
    out = []
    data = data.removeprefix(http2_frames.PREFACE)
    while data:
        length = int.from_bytes(data[:3])
        out.append((data[3], data[4], int.from_bytes(data[5:9]), data[9 : 9 + length]))
        data = data[9 + length :]
    return out


def test_ping_settings_padding_continuation_and_a_split_reply() -> None:
    call = UnaryCall(ADD_PATH, b"request", 5)
    sent = frames(call.start())
    assert [kind for kind, *_ in sent] == [4, 8, 1, 0]  # SETTINGS, WINDOW_UPDATE, HEADERS, DATA
    headers = dict(hpack.Decoder().decode(sent[2][3]))
    assert headers[":path"] == ADD_PATH
    assert (headers["content-type"], headers["te"]) == ("application/grpc", "trailers")
    assert sent[3] == (0, 1, 1, b"\x00\x00\x00\x00\x07request")  # END_STREAM
    encoder = hpack.Encoder()  # Huffman and the dynamic table, as h2 sends them
    response = encoder.encode([(":status", "200"), ("content-type", "application/grpc")])
    trailers = encoder.encode([("grpc-status", "0"), ("grpc-message", "")])
    message = b"\x00\x00\x00\x00\x0bhello world"
    stream = b"".join(
        (
            frame(4, 0, 0, (4).to_bytes(2) + (1 << 20).to_bytes(4)),  # SETTINGS
            frame(6, 0, 0, b"12345678"),  # PING
            frame(1, 0, 1, response[:3]),  # HEADERS without END_HEADERS
            frame(9, 4, 1, response[3:]),  # CONTINUATION with END_HEADERS
            frame(0, 0x8, 1, bytes((3,)) + message[:6] + b"\x00\x00\x00"),  # padded DATA
            frame(0, 0, 1, message[6:]),
            frame(8, 0, 0, (100).to_bytes(4)),  # WINDOW_UPDATE
            frame(1, 0x5, 1, trailers),  # trailers: END_HEADERS | END_STREAM
        )
    )
    answers = b""
    for i in range(len(stream)):  # a byte at a time: frames cut anywhere
        answers += call.receive(stream[i : i + 1])
    assert call.done
    assert call.reply() == b"hello world"
    assert frames(answers) == [(4, 1, 0, b""), (6, 1, 0, b"12345678")]  # SETTINGS ACK, PING ACK


def answer(headers: list[tuple[str, str]], *more: bytes, end: bool = False) -> bytes:
    """A HEADERS frame (END_STREAM if ``end``), then ``more``."""
    block = hpack.Encoder().encode(headers)
    return frame(1, 0x4 | (0x1 if end else 0), 1, block) + b"".join(more)


def test_trailers_only_status_is_percent_decoded() -> None:
    call = UnaryCall(ADD_PATH, b"", 5)
    call.start()
    call.receive(
        answer(
            [(":status", "200"), ("grpc-status", "13"), ("grpc-message", "caf%C3%A9 %25 down")],
            end=True,
        )
    )
    with pytest.raises(StatusError) as status:
        call.reply()
    assert (status.value.status, status.value.message) == (13, "café % down")


def test_reset_stream_and_goaway_before_the_answer_are_connection_lost() -> None:
    reset = UnaryCall(ADD_PATH, b"", 5)
    reset.start()
    with pytest.raises(ConnectionLost, match=r"reset the request \(HTTP/2 CANCEL\)"):
        reset.receive(frame(3, 0, 1, (8).to_bytes(4)))
    goaway = UnaryCall(ADD_PATH, b"", 5)
    goaway.start()
    with pytest.raises(ConnectionLost, match="shut the connection down"):
        goaway.receive(frame(7, 0, 0, bytes(8)))  # last stream 0: ours was not taken
    closed = UnaryCall(ADD_PATH, b"", 5)
    closed.start()
    closed.receive(answer([(":status", "200"), ("content-type", "application/grpc")]))
    with pytest.raises(ConnectionLost):
        closed.closed()  # headers came, then the connection ended


def test_a_goaway_that_took_our_stream_lets_it_finish() -> None:
    call = UnaryCall(ADD_PATH, b"", 5)
    call.start()
    data = frame(0, 0, 1, b"\x00\x00\x00\x00\x02ok")
    trailers = frame(1, 0x5, 1, hpack.Encoder().encode([("grpc-status", "0")]))
    call.receive(frame(7, 0, 0, (1).to_bytes(4) + bytes(4)))  # last stream 1, NO_ERROR
    call.receive(answer([(":status", "200"), ("content-type", "application/grpc")], data))
    call.receive(trailers)
    assert call.reply() == b"ok"


def receive_and_reply(data: bytes) -> bytes:
    call = UnaryCall(ADD_PATH, b"", 5)
    call.start()
    call.receive(data)
    return call.reply()


def test_bad_replies_are_protocol_errors() -> None:
    ok = [(":status", "200"), ("content-type", "application/grpc")]
    cases = [
        answer(ok, frame(0, 0, 1, b"\x00\x00\x00\x00\x09short"), frame(1, 5, 1, b"\x88")),
        answer([*ok, ("grpc-status", "0")], end=True),  # OK without a message
        frame(0, 1, 1, b"data before headers"),
        frame(5, 4, 1, bytes(4)),  # PUSH_PROMISE
        frame(7, 0, 0, bytes(4) + (1).to_bytes(4) + b"bad frame"),  # GOAWAY PROTOCOL_ERROR
    ]
    for case in cases:
        with pytest.raises(ProtocolError):
            receive_and_reply(case)


def test_a_request_larger_than_the_window_waits_for_window_updates() -> None:
    message = bytes(100_000)
    call = UnaryCall(ADD_PATH, message, 5)
    first = [f for f in frames(call.start()) if f[0] == 0]
    assert sum(len(f[3]) for f in first) == 65535  # the peer's default windows
    assert all(len(f[3]) <= 16384 for f in first)  # and its default frame size
    assert not any(flags & 1 for _, flags, _, _ in first)
    more = frames(call.receive(frame(8, 0, 0, (50_000).to_bytes(4))))
    assert more == []  # the stream's window is still closed
    rest = frames(call.receive(frame(8, 0, 1, (50_000).to_bytes(4))))
    body = b"".join(f[3] for f in first + rest)
    assert body == b"\x00" + len(message).to_bytes(4) + message
    assert rest[-1][1] & 1  # END_STREAM on the last
