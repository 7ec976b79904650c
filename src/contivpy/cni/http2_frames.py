"""HTTP/2 and gRPC wire constants and small codecs, shared by the plugin's client
(:mod:`contivpy.cni.grpc_unary`) and the agent's RemoteCNI server
(:mod:`contivpy.cni.grpc_serve`).

In: frame fields; padded payloads; grpc-message text; grpc-timeout values. Out: frame bytes;
payloads without padding (None when the padding is bad); decoded or encoded text; seconds.
Standard library only, imported by the exec'd plugin.
"""

from __future__ import annotations

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_MESSAGE = 4 * 1024 * 1024  # gRPC's default limit on a received message

# Frame types and flags (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
# Settings (section 6.5.2).
SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS = 1, 2, 3
SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE = 4, 5
# Error codes (section 7).
NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED = 0x0, 0x1, 0x3, 0x5
FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = 0x6, 0x7, 0x8, 0x9

DEFAULT_WINDOW = 65535
DEFAULT_FRAME_SIZE = 16384  # we never raise ours, so no frame of the peer may exceed it
# Our receive windows, stream and connection: > MAX_MESSAGE, so a peer never waits for us.
RECEIVE_WINDOW = 16 * 1024 * 1024
MAX_WINDOW = 2**31 - 1

ERROR_NAMES = (
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
)
STATUS_NAMES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
# gRPC status codes used by name
OK, CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 1, 4, 8, 12, 13

_HEX = b"0123456789abcdefABCDEF"
# grpc-message may carry these bytes as they are (the gRPC HTTP/2 protocol spec).
_PLAIN = frozenset(range(0x20, 0x7F)) - {ord("%")}
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One frame: its 9-byte header and payload."""
    return len(payload).to_bytes(3) + bytes((kind, flags)) + stream.to_bytes(4) + payload


def data_frames(
    stream: int, body: bytes, sent: int, room: int, frame_size: int, *, end_stream: bool
) -> tuple[bytes, int]:
    """DATA frames for ``body`` from offset ``sent``, at most ``room`` bytes (the smaller of
    the peer's stream and connection windows) in frames of at most ``frame_size``; and the
    new offset. With ``end_stream`` the frame that ends the body ends the stream."""
    out = bytearray()
    end = min(len(body), sent + max(room, 0))
    while sent < end:
        upto = min(end, sent + frame_size)
        flags = END_STREAM if end_stream and upto == len(body) else 0
        out += frame(DATA, flags, stream, body[sent:upto])
        sent = upto
    return bytes(out), sent


def unpad(flags: int, payload: bytes) -> bytes | None:
    """The payload of a DATA or HEADERS frame without its padding; None when the padding
    is longer than the payload (a PROTOCOL_ERROR)."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        return None
    return payload[1 : len(payload) - payload[0]]


def error_name(code: int) -> str:
    """An HTTP/2 error code's name."""
    return ERROR_NAMES[code] if 0 <= code < len(ERROR_NAMES) else f"0x{code:x}"


def grpc_timeout(seconds: float) -> str:
    """The ``grpc-timeout`` header value: at most 8 digits and a unit, rounded up."""
    milliseconds = -int(-seconds * 1000 // 1)
    if milliseconds < 10**8:
        return f"{max(milliseconds, 1)}m"
    return f"{min(-int(-seconds // 1), 10**8 - 1)}S"


def timeout_seconds(value: str) -> float | None:
    """The seconds of a ``grpc-timeout`` header value; None when it is not one."""
    digits, unit = value[:-1], value[-1:]
    if not digits.isdigit() or len(digits) > 8 or unit not in _TIMEOUT_UNITS:
        return None
    return int(digits) * _TIMEOUT_UNITS[unit]


def percent_decode(text: str) -> str:
    """grpc-message is percent-encoded UTF-8 (the gRPC HTTP/2 protocol spec)."""
    if "%" not in text:
        return text
    raw = text.encode("latin-1")
    out = bytearray()
    position = 0
    while position < len(raw):
        pair = raw[position + 1 : position + 3]
        if raw[position] == 0x25 and len(pair) == 2 and all(c in _HEX for c in pair):
            out.append(int(pair, 16))
            position += 3
        else:
            out.append(raw[position])
            position += 1
    return out.decode("utf-8", "replace")


def percent_encode(text: str) -> str:
    """grpc-message's form of a message: UTF-8, any byte but printable ASCII as %XX."""
    return "".join(chr(b) if b in _PLAIN else f"%{b:02X}" for b in text.encode())
