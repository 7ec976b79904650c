"""The server side of unary gRPC calls over HTTP/2 cleartext, without I/O.

In: the bytes a client sends on one connection; the answers to its calls (a reply message,
or a gRPC status). Out: :class:`Call` events (a complete request: stream, method path,
message, timeout), :class:`Cancelled` events (the client reset a stream), and the bytes to
send back (``data_to_send``). The agent's RemoteCNI server (:mod:`contivpy.api.cni_server`)
drives it on an asyncio transport.

What it serves, as any gRPC client expects of a server (RFC 9113; the gRPC HTTP/2 protocol
spec), on any number of streams at once: our SETTINGS first (at most 100 streams at once,
and windows larger than any message we accept, so a client never waits for a WINDOW_UPDATE;
the connection window is topped up as data arrives), SETTINGS acknowledged and applied,
PING answered, WINDOW_UPDATE followed, RST_STREAM ending a call, GOAWAY honoured (calls in
flight are answered, then the connection ends), padding and priorities skipped, header blocks
split over CONTINUATION joined and decoded with our HPACK decoder
(:mod:`contivpy.cni.hpack_codec`). A reply is HEADERS (``:status 200``, ``content-type:
application/grpc``), the length-prefixed message in DATA as the client's windows allow, and
trailers with ``grpc-status``; a failure is one trailers-only HEADERS. A request that is no
gRPC call gets its answer without reaching the caller: HTTP 405 (not POST), 415 (not gRPC),
UNIMPLEMENTED (unknown method or compression), RESOURCE_EXHAUSTED (a message over 4 MiB),
INTERNAL (not exactly one message). A client that breaks the protocol gets GOAWAY with the
error and ``failed`` is set: the connection is to be closed.

Why not grpclib (which serves the debug API): its server (h2, hpack, hyperframe, and
betterproto2 for the messages) cost about 0.9 ms of the agent's CPU per RemoteCNI call,
a third of a pod ADD's agent-side work; this costs a fraction of it.
"""

from __future__ import annotations

from contivpy.cni.hpack_codec import Decoder, HpackError, encode_headers
from contivpy.cni.http2_frames import (
    ACK,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME_SIZE,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADERS,
    INTERNAL,
    MAX_MESSAGE,
    MAX_WINDOW,
    NO_ERROR,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    RECEIVE_WINDOW,
    REFUSED_STREAM,
    RESOURCE_EXHAUSTED,
    RST_STREAM,
    SETTINGS,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    SETTINGS_MAX_FRAME_SIZE,
    STREAM_CLOSED,
    UNIMPLEMENTED,
    WINDOW_UPDATE,
    data_frames,
    frame,
    percent_encode,
    timeout_seconds,
    unpad,
)

MAX_STREAMS = 100  # calls in flight on one connection
_TOP_UP = RECEIVE_WINDOW // 2  # connection window given back once this much has arrived


class Call:
    """A complete unary request on ``stream``: ``path`` (``/package.Service/Method``), the
    request ``message``, and the client's deadline in seconds (None: none given)."""

    __slots__ = ("message", "path", "stream", "timeout")

    def __init__(self, stream: int, path: str, message: bytes, timeout: float | None) -> None:
        self.stream = stream
        self.path = path
        self.message = message
        self.timeout = timeout


class Cancelled:
    """The client reset ``stream``: its call is no longer awaited."""

    __slots__ = ("stream",)

    def __init__(self, stream: int) -> None:
        self.stream = stream


class _ConnectionError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class _Stream:
    """One call: its request as it arrives, then its answer as the windows let it out."""

    __slots__ = (
        "body",
        "failure",
        "headers",
        "path",
        "received",
        "request_done",
        "sent",
        "timeout",
        "trailers",
        "window",
    )

    def __init__(self, window: int) -> None:
        self.headers: dict[str, str] = {}
        self.path = ""
        self.timeout: float | None = None
        self.received = bytearray()
        self.request_done = False
        self.failure: tuple[int, str] | None = None  # (gRPC status, message) found early
        self.window = window  # the client's window for what we send on this stream
        self.body = b""  # the reply's DATA, length-prefixed
        self.sent = 0
        self.trailers: bytes | None = None  # the header block after the body


class ServerConnection:
    """One HTTP/2 connection of a gRPC server for unary calls to ``methods`` (paths)."""

    def __init__(self, methods: frozenset[str] | set[str]) -> None:
        self._methods = frozenset(methods)
        self._decoder = Decoder()
        self._buffer = bytearray()
        self._out = bytearray()
        self._preface = False
        self._streams: dict[int, _Stream] = {}
        self._last_stream = 0
        self._continuing: tuple[int, int, bytearray] | None = None  # stream, flags, block
        self._peer_frame_size = DEFAULT_FRAME_SIZE
        self._peer_initial_window = DEFAULT_WINDOW
        self._connection_window = DEFAULT_WINDOW  # the client's, for what we send
        self._unacknowledged = 0  # bytes received since our last connection WINDOW_UPDATE
        self.goaway = False  # the client said GOAWAY: close once the calls are answered
        self.failed = False  # a protocol error: GOAWAY is queued, close after sending it
        settings = b"".join(
            key.to_bytes(2) + value.to_bytes(4)
            for key, value in (
                (SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS),
                (SETTINGS_INITIAL_WINDOW_SIZE, RECEIVE_WINDOW),
            )
        )
        self._out += frame(SETTINGS, 0, 0, settings)
        self._out += frame(WINDOW_UPDATE, 0, 0, (RECEIVE_WINDOW - DEFAULT_WINDOW).to_bytes(4))

    @property
    def idle(self) -> bool:
        """No call open (a closing connection may close now)."""
        return not self._streams

    def data_to_send(self) -> bytes:
        """What to write to the client now (and forget)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def receive(self, data: bytes) -> list[Call | Cancelled]:
        """Take bytes from the client; the calls complete and cancelled with them."""
        if self.failed:
            return []
        events: list[Call | Cancelled] = []
        self._buffer += data
        try:
            if not self._preface:
                if len(self._buffer) < len(PREFACE):
                    if not PREFACE.startswith(self._buffer):
                        raise _ConnectionError(PROTOCOL_ERROR, "not the HTTP/2 client preface")
                    return events
                if not self._buffer.startswith(PREFACE):
                    raise _ConnectionError(PROTOCOL_ERROR, "not the HTTP/2 client preface")
                del self._buffer[: len(PREFACE)]
                self._preface = True
            while len(self._buffer) >= 9:
                length = int.from_bytes(self._buffer[:3])
                if length > DEFAULT_FRAME_SIZE:
                    raise _ConnectionError(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                if len(self._buffer) < 9 + length:
                    break
                kind, flags = self._buffer[3], self._buffer[4]
                stream = int.from_bytes(self._buffer[5:9]) & 0x7FFFFFFF
                payload = bytes(self._buffer[9 : 9 + length])
                del self._buffer[: 9 + length]
                self._on_frame(kind, flags, stream, payload, events)
        except _ConnectionError as error:
            self._fail(error.code, str(error))
        return events

    def respond(self, stream: int, message: bytes) -> None:
        """Answer the call on ``stream`` with its reply message (status OK)."""
        state = self._streams.get(stream)
        if state is None or state.trailers is not None:
            return  # reset by the client meanwhile, or answered
        self._out += frame(HEADERS, END_HEADERS, stream, _RESPONSE_HEADERS)
        state.body = b"\0" + len(message).to_bytes(4) + message
        state.trailers = encode_headers([("grpc-status", "0")])
        self._send(stream, state)

    def fail(self, stream: int, status: int, message: str) -> None:
        """Answer the call on ``stream`` with a gRPC status other than OK."""
        if stream in self._streams and self._streams[stream].trailers is None:
            self._trailers_only(stream, "200", status, message)

    def _fail(self, code: int, detail: str) -> None:
        self.failed = True
        payload = self._last_stream.to_bytes(4) + code.to_bytes(4) + detail.encode()[:200]
        self._out += frame(GOAWAY, 0, 0, payload)

    def _on_frame(
        self, kind: int, flags: int, stream: int, payload: bytes, events: list[Call | Cancelled]
    ) -> None:
        if self._continuing is not None and (kind != CONTINUATION or stream != self._continuing[0]):
            raise _ConnectionError(PROTOCOL_ERROR, "a header block interrupted")
        if kind == DATA:
            self._on_data(flags, stream, payload, events)
        elif kind == HEADERS:
            if stream == 0 or stream % 2 == 0:
                raise _ConnectionError(PROTOCOL_ERROR, f"HEADERS on stream {stream}")
            block = _unpadded(flags, payload)
            if flags & PRIORITY_FLAG:
                block = block[5:]
            self._continuing = (stream, flags, bytearray(block))
            if flags & END_HEADERS:
                self._end_headers(events)
        elif kind == CONTINUATION:
            if self._continuing is None:
                raise _ConnectionError(PROTOCOL_ERROR, "CONTINUATION without HEADERS")
            self._continuing[2].extend(payload)
            if flags & END_HEADERS:
                self._end_headers(events)
        elif kind == SETTINGS:
            self._on_settings(flags, stream, payload)
        elif kind == PING:
            if stream != 0 or len(payload) != 8:
                raise _ConnectionError(PROTOCOL_ERROR, "a bad PING")
            if not flags & ACK:
                self._out += frame(PING, ACK, 0, payload)
        elif kind == WINDOW_UPDATE:
            self._on_window_update(stream, payload)
        elif kind == RST_STREAM:
            if stream == 0 or len(payload) != 4:
                raise _ConnectionError(PROTOCOL_ERROR, "a bad RST_STREAM")
            if self._streams.pop(stream, None) is not None:
                events.append(Cancelled(stream))
        elif kind == GOAWAY:
            self.goaway = True
        elif kind == PUSH_PROMISE:
            raise _ConnectionError(PROTOCOL_ERROR, "PUSH_PROMISE from a client")
        elif kind == PRIORITY and stream == 0:
            raise _ConnectionError(PROTOCOL_ERROR, "PRIORITY on stream 0")
        # PRIORITY and unknown frame types: ignored (section 5.5).

    def _on_data(
        self, flags: int, stream: int, payload: bytes, events: list[Call | Cancelled]
    ) -> None:
        # Flow control counts the whole frame, padding included, whatever becomes of it.
        self._unacknowledged += len(payload)
        if self._unacknowledged >= _TOP_UP:
            self._out += frame(WINDOW_UPDATE, 0, 0, self._unacknowledged.to_bytes(4))
            self._unacknowledged = 0
        state = self._streams.get(stream)
        if state is None or state.request_done:
            if stream == 0 or stream > self._last_stream:
                raise _ConnectionError(PROTOCOL_ERROR, f"DATA on stream {stream}, never opened")
            self._out += frame(RST_STREAM, 0, stream, STREAM_CLOSED.to_bytes(4))
            return
        data = _unpadded(flags, payload)
        if state.failure is None:
            state.received += data
            if len(state.received) > MAX_MESSAGE + 5:
                limit = f"a request message larger than {MAX_MESSAGE} bytes"
                state.failure = (RESOURCE_EXHAUSTED, limit)
                state.received.clear()
        if flags & END_STREAM:
            self._request_done(stream, state, events)

    def _end_headers(self, events: list[Call | Cancelled]) -> None:
        assert self._continuing is not None
        stream, flags, block = self._continuing
        self._continuing = None
        try:  # every block updates the decoder's table, whichever stream it is on
            headers = self._decoder.decode(bytes(block))
        except HpackError as error:
            raise _ConnectionError(COMPRESSION_ERROR, f"a bad header block: {error}") from error
        state = self._streams.get(stream)
        if state is not None:  # the client's trailers: they must end its request
            if not flags & END_STREAM or state.request_done:
                raise _ConnectionError(PROTOCOL_ERROR, f"a second header block on {stream}")
            self._request_done(stream, state, events)
            return
        if stream <= self._last_stream:
            return  # a stream we ended already (5.1: frames in flight are ignored)
        self._last_stream = stream
        if len(self._streams) >= MAX_STREAMS or self.goaway:
            self._out += frame(RST_STREAM, 0, stream, REFUSED_STREAM.to_bytes(4))
            return
        state = _Stream(self._peer_initial_window)
        self._streams[stream] = state
        state.headers = dict(headers)
        state.path = state.headers.get(":path", "")
        timeout = state.headers.get("grpc-timeout")
        state.timeout = timeout_seconds(timeout) if timeout is not None else None
        if flags & END_STREAM:
            self._request_done(stream, state, events)

    def _request_done(self, stream: int, state: _Stream, events: list[Call | Cancelled]) -> None:
        state.request_done = True
        headers = state.headers
        if headers.get(":method") != "POST":
            self._trailers_only(stream, "405", UNIMPLEMENTED, "only POST is served")
            return
        if not headers.get("content-type", "").startswith("application/grpc"):
            self._trailers_only(stream, "415", UNIMPLEMENTED, "content-type is not gRPC")
            return
        if state.path not in self._methods:
            self._trailers_only(stream, "200", UNIMPLEMENTED, f"no method {state.path}")
            return
        if state.failure is not None:
            self._trailers_only(stream, "200", *state.failure)
            return
        data = state.received
        if len(data) < 5 or len(data) != 5 + int.from_bytes(data[1:5]):
            self._trailers_only(stream, "200", INTERNAL, "the request is not one message")
            return
        if data[0] != 0:
            self._trailers_only(stream, "200", UNIMPLEMENTED, "compressed messages are not served")
            return
        events.append(Call(stream, state.path, bytes(data[5:]), state.timeout))
        state.received = bytearray()

    def _trailers_only(self, stream: int, http_status: str, status: int, message: str) -> None:
        block = encode_headers(
            [
                (":status", http_status),
                ("content-type", "application/grpc"),
                ("grpc-status", str(status)),
                ("grpc-message", percent_encode(message)),
            ]
        )
        self._out += frame(HEADERS, END_HEADERS | END_STREAM, stream, block)
        self._close(stream)

    def _close(self, stream: int) -> None:
        state = self._streams.pop(stream, None)
        if state is not None and not state.request_done:
            # Our answer came before the request's end: the rest is not wanted (8.1).
            self._out += frame(RST_STREAM, 0, stream, NO_ERROR.to_bytes(4))

    def _send(self, stream: int, state: _Stream) -> None:
        """The reply's DATA the windows allow now, then its trailers."""
        room = min(state.window, self._connection_window)
        out, sent = data_frames(
            stream, state.body, state.sent, room, self._peer_frame_size, end_stream=False
        )
        self._out += out
        state.window -= sent - state.sent
        self._connection_window -= sent - state.sent
        state.sent = sent
        if sent < len(state.body):
            return  # the rest when the client's WINDOW_UPDATE comes
        if state.trailers is not None:
            self._out += frame(HEADERS, END_HEADERS | END_STREAM, stream, state.trailers)
            self._close(stream)

    def _on_settings(self, flags: int, stream: int, payload: bytes) -> None:
        if stream != 0 or len(payload) % 6:
            raise _ConnectionError(PROTOCOL_ERROR, "a bad SETTINGS frame")
        if flags & ACK:
            return
        for offset in range(0, len(payload), 6):
            key = int.from_bytes(payload[offset : offset + 2])
            value = int.from_bytes(payload[offset + 2 : offset + 6])
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _ConnectionError(FLOW_CONTROL_ERROR, "an initial window over 2^31-1")
                # 6.9.2: a new initial window shifts every open stream's window by the change.
                for state in self._streams.values():
                    state.window += value - self._peer_initial_window
                self._peer_initial_window = value
            elif key == SETTINGS_MAX_FRAME_SIZE:
                if not DEFAULT_FRAME_SIZE <= value <= 2**24 - 1:
                    raise _ConnectionError(PROTOCOL_ERROR, f"a max frame size of {value}")
                self._peer_frame_size = value
            # HEADER_TABLE_SIZE bounds the client's decoder table, which our encoder never
            # uses; the others do not concern a server.
        self._out += frame(SETTINGS, ACK, 0)
        self._send_waiting()

    def _on_window_update(self, stream: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR, "a WINDOW_UPDATE of a bad size")
        increment = int.from_bytes(payload) & 0x7FFFFFFF
        if stream == 0:
            if increment == 0:
                raise _ConnectionError(PROTOCOL_ERROR, "a WINDOW_UPDATE of 0")
            self._connection_window += increment
            if self._connection_window > MAX_WINDOW:
                raise _ConnectionError(FLOW_CONTROL_ERROR, "the connection window overflowed")
        elif (state := self._streams.get(stream)) is not None:
            state.window += increment
        self._send_waiting()

    def _send_waiting(self) -> None:
        for stream, state in list(self._streams.items()):
            if state.trailers is not None:
                self._send(stream, state)


# What every OK reply starts with (``:status`` 200 is in HPACK's static table).
_RESPONSE_HEADERS = encode_headers([(":status", "200"), ("content-type", "application/grpc")])


def _unpadded(flags: int, payload: bytes) -> bytes:
    data = unpad(flags, payload)
    if data is None:
        raise _ConnectionError(PROTOCOL_ERROR, "bad padding")
    return data
