"""The RemoteCNI server's HTTP/2 side (no I/O) driven by another implementation's client:
h2's, in memory, frame by frame (windows, resets, many streams, requests that are no gRPC
call, protocol errors)."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.settings

from contivpy.cni.grpc_serve import Call, Cancelled, ServerConnection

ADD = "/contivpy.cni.v1.RemoteCNI/Add"


class Client:
    """h2's client connection, wired to a ServerConnection in memory."""

    def __init__(self, settings: dict[int, int] | None = None) -> None:
        self.server = ServerConnection({ADD})
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.local_settings = h2.settings.Settings(client=True, initial_values=settings or {})
        self.h2.initiate_connection()
        self.calls: list[Call] = []
        self.cancelled: list[int] = []
        self.events: list[h2.events.Event] = []

    def exchange(self) -> None:
        """Both ways until neither has anything to send."""
        while True:
            out = self.h2.data_to_send()
            if out:
                for event in self.server.receive(out):
                    if isinstance(event, Call):
                        self.calls.append(event)
                    else:
                        assert isinstance(event, Cancelled)
                        self.cancelled.append(event.stream)
            back = self.server.data_to_send()
            if back:
                self.events += self.h2.receive_data(back)
            if not out and not back:
                return

    def request(self, body: bytes, *, path: str = ADD, timeout: str = "") -> int:
        """Start a call and send ``body`` (as the windows let it: exchanging as it goes)."""
        stream = self.h2.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]
        if timeout:
            headers.append(("grpc-timeout", timeout))
        self.h2.send_headers(stream, headers)
        while len(body) > 16384:
            self.h2.send_data(stream, body[:16384])
            body = body[16384:]
            self.exchange()
        self.h2.send_data(stream, body, end_stream=True)
        return stream

    def answer(self, stream: int) -> tuple[dict[str, str], bytes, dict[str, str]]:
        """(response headers, data, trailers) received on ``stream``."""
        headers: dict[str, str] = {}
        data = b""
        trailers: dict[str, str] = {}
        for event in self.events:
            if getattr(event, "stream_id", None) != stream:
                continue
            if isinstance(event, h2.events.ResponseReceived):
                headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.DataReceived):
                data += event.data
            elif isinstance(event, h2.events.TrailersReceived):
                trailers = {k.decode(): v.decode() for k, v in event.headers}
        return headers, data, trailers


def grpc(message: bytes, flag: int = 0) -> bytes:
    return bytes((flag,)) + len(message).to_bytes(4) + message


def test_a_call_and_its_reply() -> None:
    client = Client()
    stream = client.request(grpc(b"request"), timeout="250m")
    client.exchange()
    [call] = client.calls
    assert (call.stream, call.path, call.message, call.timeout) == (stream, ADD, b"request", 0.25)
    client.server.respond(stream, b"reply")
    client.exchange()
    headers, data, trailers = client.answer(stream)
    assert headers[":status"] == "200"
    assert headers["content-type"] == "application/grpc"
    assert data == grpc(b"reply")
    assert trailers == {"grpc-status": "0"}
    assert client.server.idle
    assert any(isinstance(e, h2.events.StreamEnded) for e in client.events)


def test_many_streams_answered_in_any_order() -> None:
    client = Client()
    streams = [client.request(grpc(f"r{n}".encode())) for n in range(10)]
    client.exchange()
    assert [c.message for c in client.calls] == [f"r{n}".encode() for n in range(10)]
    for n, stream in reversed(list(enumerate(streams))):
        client.server.respond(stream, f"a{n}".encode())
    client.exchange()
    assert [client.answer(s)[1] for s in streams] == [grpc(f"a{n}".encode()) for n in range(10)]


def test_a_reply_waits_for_the_clients_window() -> None:
    """A client with a 10-byte stream window gets 10 bytes, then more as it gives room."""
    client = Client({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10})
    stream = client.request(grpc(b"request"))
    client.exchange()
    client.server.respond(stream, b"x" * 25)  # 30 bytes with the prefix
    client.exchange()
    assert client.answer(stream)[1] == grpc(b"x" * 25)[:10]
    assert client.answer(stream)[2] == {}  # no trailers before the body is out
    for _ in range(3):
        received = [e for e in client.events if isinstance(e, h2.events.DataReceived)]
        client.h2.acknowledge_received_data(received[-1].flow_controlled_length, stream)
        client.exchange()
    _, data, trailers = client.answer(stream)
    assert data == grpc(b"x" * 25)
    assert trailers == {"grpc-status": "0"}


def test_a_reset_stream_is_a_cancelled_call() -> None:
    client = Client()
    stream = client.request(grpc(b"request"))
    client.exchange()
    client.h2.reset_stream(stream)
    client.exchange()
    assert client.cancelled == [stream]
    client.server.respond(stream, b"late")  # nobody waits: nothing is sent
    assert client.server.data_to_send() == b""


def test_requests_that_are_no_grpc_call_are_answered_without_one() -> None:
    client = Client()
    unknown = client.request(grpc(b"x"), path="/contivpy.cni.v1.RemoteCNI/Nope")
    compressed = client.request(grpc(b"x", flag=1))
    two = client.request(grpc(b"x") + grpc(b"y"))
    short = client.request(b"\0\0")
    client.exchange()
    assert client.calls == []
    statuses = {s: client.answer(s)[0] for s in (unknown, compressed, two, short)}
    assert statuses[unknown]["grpc-status"] == "12"
    assert statuses[unknown]["grpc-message"] == "no method /contivpy.cni.v1.RemoteCNI/Nope"
    assert statuses[compressed]["grpc-status"] == "12"
    assert statuses[two]["grpc-status"] == "13"
    assert statuses[short]["grpc-message"] == "the request is not one message"
    assert client.server.idle


def test_a_message_over_the_limit_is_resource_exhausted() -> None:
    client = Client()
    client.exchange()  # the server's windows, larger than the message
    stream = client.request(grpc(b"x" * (4 * 1024 * 1024 + 1)))
    client.exchange()
    assert client.calls == []
    assert client.answer(stream)[0]["grpc-status"] == "8"


def test_a_get_and_a_non_grpc_content_type_are_http_errors() -> None:
    client = Client()
    get = client.h2.get_next_available_stream_id()
    client.h2.send_headers(
        get,
        [(":method", "GET"), (":scheme", "http"), (":path", ADD), (":authority", "x")],
        end_stream=True,
    )
    json_stream = client.h2.get_next_available_stream_id()
    client.h2.send_headers(
        json_stream,
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", ADD),
            (":authority", "x"),
            ("content-type", "application/json"),
        ],
    )
    client.h2.send_data(json_stream, b"{}", end_stream=True)
    client.exchange()
    assert client.answer(get)[0][":status"] == "405"
    assert client.answer(json_stream)[0][":status"] == "415"


def test_ping_and_settings_are_acknowledged_and_goaway_closes_when_idle() -> None:
    client = Client()
    client.exchange()
    client.h2.ping(b"12345678")
    stream = client.request(grpc(b"request"))
    client.exchange()
    assert any(isinstance(e, h2.events.PingAckReceived) for e in client.events)
    assert any(isinstance(e, h2.events.SettingsAcknowledged) for e in client.events)
    client.h2.close_connection()
    client.server.receive(client.h2.data_to_send())  # h2 reads nothing once it said GOAWAY
    assert client.server.goaway
    assert not client.server.idle  # the call in flight is still answered
    client.server.respond(stream, b"reply")
    assert grpc(b"reply") in client.server.data_to_send()
    assert client.server.idle


def test_a_protocol_error_is_goaway_and_the_end() -> None:
    server = ServerConnection({ADD})
    server.data_to_send()
    assert server.receive(b"PRI * HTTP/1.1\r\n\r\n") == []
    assert server.failed
    goaway = server.data_to_send()
    assert (goaway[3], int.from_bytes(goaway[13:17])) == (7, 1)  # GOAWAY PROTOCOL_ERROR
    assert server.receive(b"anything") == []  # nothing more is read
