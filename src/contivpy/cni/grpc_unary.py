"""One unary gRPC call over HTTP/2 cleartext on a unix socket, without asyncio or grpclib.

In: the socket path, the method's path (``/package.Service/Method``), the request message
already encoded, a timeout in seconds. Out: the reply message's bytes, or a CallError:

- Unreachable: the socket is missing or refuses the connection (nothing was sent);
- DeadlineExceeded: no complete answer within the timeout (connecting included);
- ConnectionLost: the peer closed the connection, reset our stream, or said GOAWAY before
  it answered (it died or is shutting down; the request may or may not have been handled);
- StatusError: the peer answered with a gRPC status other than OK (code and message);
- ProtocolError: the peer answered with something that is not a valid gRPC reply.

``UnaryCall`` is the protocol without I/O: bytes in, bytes to send out, and the outcome.
``call_unary`` drives it on a blocking socket (the CNI plugin, one call per process: no event
loop, no thread); ``call_unary_async`` drives it on asyncio streams (in-process callers).

HTTP/2 with prior knowledge (RFC 9113 section 3.3), one stream (ID 1): the client preface,
SETTINGS (push off, a 16 MiB receive window so that no reply waits for a WINDOW_UPDATE from
us), a connection WINDOW_UPDATE to match, HEADERS ``POST path`` with ``content-type:
application/grpc`` and ``te: trailers`` (what grpclib's server requires), ``grpc-timeout``
(so the server gives up when we do), then the length-prefixed message in DATA with
END_STREAM, sent as the peer's flow-control windows allow. We read until our stream ends,
answering SETTINGS and PING, following WINDOW_UPDATE, and decoding header blocks with our
own HPACK decoder (:mod:`contivpy.cni.hpack_codec`).
"""

from __future__ import annotations

import _socket  # socket.py's enums and selectors cost ~3 ms of a plugin's start; unused here
import time

from contivpy.cni.hpack_codec import Decoder, HpackError, encode_headers
from contivpy.cni.http2_frames import (
    ACK,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME_SIZE,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    MAX_MESSAGE,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PUSH_PROMISE,
    RECEIVE_WINDOW,
    RST_STREAM,
    SETTINGS,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_FRAME_SIZE,
    STATUS_NAMES,
    WINDOW_UPDATE,
    data_frames,
    error_name,
    frame,
    grpc_timeout,
    percent_decode,
    unpad,
)

__all__ = [
    "CallError",
    "ConnectionLost",
    "DeadlineExceeded",
    "ProtocolError",
    "StatusError",
    "UnaryCall",
    "Unreachable",
    "call_unary",
    "call_unary_async",
]

_STREAM = 1


class CallError(Exception):
    """A unary call that returned no reply message."""


class Unreachable(CallError):
    """The socket could not be connected to; ``error`` is the OSError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class DeadlineExceeded(CallError):
    """No complete answer within the timeout."""


class ConnectionLost(CallError):
    """The connection or our stream ended before the answer; the message says how."""


class StatusError(CallError):
    """The peer's gRPC status was not OK."""

    def __init__(self, status: int, message: str) -> None:
        name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else "?"
        super().__init__(f"gRPC status {status} {name}: {message}")
        self.status = status
        self.message = message


class ProtocolError(CallError):
    """The peer's answer is not valid HTTP/2 or gRPC."""


def _u32(data: bytes, offset: int = 0) -> int:
    if len(data) < offset + 4:
        raise ProtocolError("a frame too short for its type")
    return int.from_bytes(data[offset : offset + 4])


class UnaryCall:
    """The HTTP/2 side of one unary call, without I/O.

    ``start()`` gives the bytes to send first; ``receive(data)`` takes what arrived and gives
    what to send back (maybe nothing); once ``done``, ``reply()`` gives the message or raises
    the call's CallError; ``closed()`` says the peer closed the connection (raises unless
    done); ``goodbye()`` gives a GOAWAY to send before closing.
    """

    def __init__(
        self, path: str, message: bytes, timeout: float | None, authority: str = "localhost"
    ) -> None:
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
        ]
        if timeout is not None:
            headers.append(("grpc-timeout", grpc_timeout(timeout)))
        headers += [
            ("te", "trailers"),
            ("content-type", "application/grpc"),
            ("user-agent", "contivpy-grpc-unary"),
        ]
        self._header_block = encode_headers(headers)
        self._body = bytes((0,)) + len(message).to_bytes(4) + message  # not compressed
        self._sent = 0
        self._send_window = DEFAULT_WINDOW  # the peer's stream window for us
        self._connection_window = DEFAULT_WINDOW
        self._peer_frame_size = DEFAULT_FRAME_SIZE
        self._peer_initial_window = DEFAULT_WINDOW
        self._decoder = Decoder()
        self._buffer = bytearray()
        self._continuing: tuple[int, bool, bytearray] | None = None  # stream, end, block
        self._headers: dict[str, str] | None = None
        self._trailers: dict[str, str] | None = None
        self._data = bytearray()
        self.done = False

    def start(self) -> bytes:
        """Preface, SETTINGS, WINDOW_UPDATE, HEADERS and as much DATA as the windows allow."""
        settings = b"".join(
            key.to_bytes(2) + value.to_bytes(4)
            for key, value in (
                (SETTINGS_ENABLE_PUSH, 0),
                (SETTINGS_INITIAL_WINDOW_SIZE, RECEIVE_WINDOW),
            )
        )
        increment = (RECEIVE_WINDOW - DEFAULT_WINDOW).to_bytes(4)
        return b"".join(
            (
                PREFACE,
                frame(SETTINGS, 0, 0, settings),
                frame(WINDOW_UPDATE, 0, 0, increment),
                frame(HEADERS, END_HEADERS, _STREAM, self._header_block),
                self._send_data(),
            )
        )

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the peer; returns the bytes to send in answer."""
        self._buffer += data
        out = bytearray()
        while not self.done and len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3])
            if length > DEFAULT_FRAME_SIZE:
                raise ProtocolError(f"a frame of {length} bytes (FRAME_SIZE_ERROR)")
            if len(self._buffer) < 9 + length:
                break
            kind, flags = self._buffer[3], self._buffer[4]
            stream = int.from_bytes(self._buffer[5:9]) & 0x7FFFFFFF
            payload = bytes(self._buffer[9 : 9 + length])
            del self._buffer[: 9 + length]
            out += self._on_frame(kind, flags, stream, payload)
        if not self.done:
            out += self._send_data()
        return bytes(out)

    def closed(self) -> None:
        """The peer closed the connection; fine only once our stream has ended."""
        if not self.done:
            raise ConnectionLost("the server closed the connection before it answered")

    def goodbye(self) -> bytes:
        """GOAWAY (no error): we are done with the connection."""
        return frame(GOAWAY, 0, 0, bytes(8))  # last stream 0, NO_ERROR

    def reply(self) -> bytes:
        """The reply message of an ended stream, or its CallError."""
        headers = self._headers or {}
        trailers = self._trailers if self._trailers is not None else headers
        status_text = trailers.get("grpc-status")
        http_status = headers.get(":status", "")
        if status_text is None:
            if http_status != "200":
                raise StatusError(2, f"HTTP status {http_status or 'missing'}")
            raise ProtocolError("the reply has no grpc-status")
        try:
            status = int(status_text)
        except ValueError:
            raise ProtocolError(f"grpc-status {status_text!r}") from None
        if status != 0:
            raise StatusError(status, percent_decode(trailers.get("grpc-message", "")))
        content_type = headers.get("content-type", "")
        if not content_type.startswith("application/grpc"):
            raise ProtocolError(f"content-type {content_type!r}")
        return self._message()

    def _message(self) -> bytes:
        data = self._data
        if len(data) < 5:
            raise ProtocolError("an OK reply without a message")
        if data[0] != 0:
            raise ProtocolError("a compressed reply (none was asked for)")
        length = int.from_bytes(data[1:5])
        if len(data) != 5 + length:
            raise ProtocolError("the reply is not exactly one message")
        return bytes(data[5:])

    def _send_data(self) -> bytes:
        """DATA frames for what the windows allow now; the last one ends our stream."""
        room = min(self._send_window, self._connection_window)
        out, sent = data_frames(
            _STREAM, self._body, self._sent, room, self._peer_frame_size, end_stream=True
        )
        self._send_window -= sent - self._sent
        self._connection_window -= sent - self._sent
        self._sent = sent
        return out

    def _on_frame(self, kind: int, flags: int, stream: int, payload: bytes) -> bytes:
        if self._continuing is not None and (kind != CONTINUATION or stream != self._continuing[0]):
            raise ProtocolError("a header block interrupted (no CONTINUATION)")
        if stream not in (0, _STREAM) and kind not in (PRIORITY, WINDOW_UPDATE, RST_STREAM):
            raise ProtocolError(f"a frame of type {kind} on stream {stream}, never opened")
        if kind == DATA:
            self._on_data(flags, _unpadded(flags, payload))
        elif kind == HEADERS:
            block = _unpadded(flags, payload)
            if flags & PRIORITY_FLAG:
                block = block[5:]
            self._continuing = (stream, bool(flags & END_STREAM), bytearray(block))
            if flags & END_HEADERS:
                self._end_headers()
        elif kind == CONTINUATION:
            if self._continuing is None:
                raise ProtocolError("CONTINUATION without HEADERS")
            self._continuing[2].extend(payload)
            if flags & END_HEADERS:
                self._end_headers()
        elif kind == RST_STREAM and stream == _STREAM:
            code = _u32(payload)
            raise ConnectionLost(f"the server reset the request (HTTP/2 {error_name(code)})")
        elif kind == SETTINGS:
            return self._on_settings(flags, payload)
        elif kind == PUSH_PROMISE:
            raise ProtocolError("PUSH_PROMISE, though push is off")
        elif kind == PING and not flags & ACK:
            return frame(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            self._on_goaway(payload)
        elif kind == WINDOW_UPDATE:
            increment = _u32(payload) & 0x7FFFFFFF
            if stream == 0:
                self._connection_window += increment
            elif stream == _STREAM:
                self._send_window += increment
        # PRIORITY, unknown frame types and frames of other streams: ignored (section 5.5).
        return b""

    def _on_data(self, flags: int, data: bytes) -> None:
        if self._headers is None:
            raise ProtocolError("DATA before the response headers")
        self._data += data
        if len(self._data) > MAX_MESSAGE + 5:
            raise ProtocolError(f"a reply larger than {MAX_MESSAGE} bytes")
        if flags & END_STREAM:
            self.done = True  # no trailers: reply() says what is missing

    def _end_headers(self) -> None:
        assert self._continuing is not None
        stream, end, block = self._continuing
        self._continuing = None
        try:  # every block updates the decoder's table, whichever stream it is on
            headers = dict(self._decoder.decode(bytes(block)))
        except HpackError as error:
            raise ProtocolError(f"a bad header block: {error}") from error
        if stream != _STREAM:
            return
        if self._headers is None:
            self._headers = headers
        elif end:
            self._trailers = headers
        else:
            raise ProtocolError("a second header block that does not end the stream")
        if end:
            self.done = True

    def _on_settings(self, flags: int, payload: bytes) -> bytes:
        if flags & ACK:
            return b""
        if len(payload) % 6:
            raise ProtocolError("a SETTINGS frame of a bad size")
        for offset in range(0, len(payload), 6):
            key, value = int.from_bytes(payload[offset : offset + 2]), _u32(payload, offset + 2)
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                # 6.9.2: a new initial window shifts every open stream's window by the change.
                self._send_window += value - self._peer_initial_window
                self._peer_initial_window = value
            elif key == SETTINGS_MAX_FRAME_SIZE:
                self._peer_frame_size = value
            # HEADER_TABLE_SIZE bounds the peer's decoder table, which our encoder never uses.
        return frame(SETTINGS, ACK, 0)

    def _on_goaway(self, payload: bytes) -> None:
        last_stream, code = _u32(payload) & 0x7FFFFFFF, _u32(payload, 4)
        debug = payload[8:].decode("utf-8", "replace")
        detail = f"HTTP/2 {error_name(code)}" + (f": {debug}" if debug else "")
        if code != 0:
            raise ProtocolError(f"the server ended the connection ({detail})")
        if last_stream < _STREAM:
            raise ConnectionLost(f"the server shut the connection down unanswered ({detail})")
        # Our stream was taken: the server finishes it before it closes.


def _unpadded(flags: int, payload: bytes) -> bytes:
    data = unpad(flags, payload)
    if data is None:
        raise ProtocolError("bad padding")
    return data


def call_unary(socket_path: str, path: str, message: bytes, timeout: float) -> bytes:
    """One unary call on a blocking unix socket; the reply message or a CallError."""
    deadline = time.monotonic() + timeout
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.settimeout(timeout)
        try:
            connection.connect(socket_path)
        except TimeoutError as error:  # before OSError: TimeoutError is one
            raise DeadlineExceeded(f"no connection within {timeout}s") from error
        except OSError as error:
            raise Unreachable(error) from error
        call = UnaryCall(path, message, timeout)
        try:
            connection.sendall(call.start())
            while not call.done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded(f"no answer within {timeout}s")
                connection.settimeout(remaining)
                data = connection.recv(65536)
                if not data:
                    call.closed()
                answer = call.receive(data)
                if answer and not call.done:
                    connection.sendall(answer)
        except TimeoutError as error:
            raise DeadlineExceeded(f"no answer within {timeout}s") from error
        except OSError as error:  # reset, broken pipe: the server went away
            raise ConnectionLost(f"the connection failed: {error.strerror or error}") from error
        try:  # noqa: SIM105 (importing contextlib costs the plugin ~2 ms)
            connection.sendall(call.goodbye())
        except OSError:  # the answer is in; the server may close first
            pass
        return call.reply()
    finally:
        connection.close()


async def call_unary_async(socket_path: str, path: str, message: bytes, seconds: float) -> bytes:
    """``call_unary`` on asyncio streams, for callers that have an event loop."""
    import asyncio  # not at the top: the plugin imports this module and must not load asyncio

    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(seconds):
            try:
                reader, writer = await asyncio.open_unix_connection(socket_path)
            except OSError as error:
                raise Unreachable(error) from error
            call = UnaryCall(path, message, seconds)
            try:
                writer.write(call.start())
                while not call.done:
                    data = await reader.read(65536)
                    if not data:
                        call.closed()
                    answer = call.receive(data)
                    if answer and not call.done:
                        writer.write(answer)
                writer.write(call.goodbye())
            except OSError as error:
                raise ConnectionLost(f"the connection failed: {error.strerror or error}") from error
        return call.reply()
    except TimeoutError as error:
        raise DeadlineExceeded(f"no answer within {seconds}s") from error
    finally:
        if writer is not None:
            writer.close()
