"""Request decoding that names what is wrong.

In: the bytes of a request and its generated message type. Out: the decoded message, or
GRPCError(INVALID_ARGUMENT) whose message names the field: a wire type that does not match
the field's declared type, text that is not UTF-8, or "request" for truncated bytes.

Why: betterproto2 decodes leniently. A length-delimited value where an enum is declared
becomes a list, a fixed32 where a string is declared raises KeyError; either would reach a
handler as nonsense or end as an anonymous internal error. Clients in other languages (or
buggy ones) get a clear answer instead. Only the top level is checked (request messages are
flat); unknown field numbers are skipped, as proto3 requires for forward compatibility.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from grpclib import GRPCError, Status
from grpclib.encoding.proto import ProtoCodec

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {_VARINT: "varint", _FIXED64: "64-bit", _LEN: "length-delimited", _FIXED32: "32-bit"}
_FIXED32_TYPES = {"float", "fixed32", "sfixed32"}
_FIXED64_TYPES = {"double", "fixed64", "sfixed64"}
_LEN_TYPES = {"string", "bytes", "message", "map"}


class _Truncated(Exception):
    pass


def _expected_wire(proto_type: str) -> int:
    if proto_type in _LEN_TYPES:
        return _LEN
    if proto_type in _FIXED32_TYPES:
        return _FIXED32
    if proto_type in _FIXED64_TYPES:
        return _FIXED64
    return _VARINT  # enums, bools and the variable-length integers


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise _Truncated
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def wire_problem(data: bytes, message_type: type[Any]) -> str | None:
    """What is wrong with data as a message_type ("field: problem"), or None."""
    declared = {
        meta.number: (f.name, meta)
        for f in dataclasses.fields(message_type)
        if (meta := f.metadata.get("betterproto")) is not None
    }
    i = 0
    try:
        while i < len(data):
            tag, i = _varint(data, i)
            number, wire = tag >> 3, tag & 0x7
            payload = b""
            if wire == _VARINT:
                _, i = _varint(data, i)
            elif wire == _LEN:
                length, i = _varint(data, i)
                payload, i = data[i : i + length], i + length
            elif wire in (_FIXED64, _FIXED32):
                i += 8 if wire == _FIXED64 else 4
            else:
                return f"request: unsupported wire type {wire} (field number {number})"
            if i > len(data):
                raise _Truncated
            if number not in declared:
                continue
            name, meta = declared[number]
            expected = _expected_wire(meta.proto_type)
            packed = meta.repeated and wire == _LEN  # repeated scalars may come packed
            if wire != expected and not packed:
                return (
                    f"{name}: got a {_WIRE_NAMES[wire]} value, but the field is "
                    f"{meta.proto_type} ({_WIRE_NAMES[expected]})"
                )
            if meta.proto_type == "string":
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    return f"{name}: not valid UTF-8"
    except _Truncated:
        return "request: truncated or malformed message"
    return None


class RequestCodec(ProtoCodec):
    """grpclib's protobuf codec, with requests checked before betterproto2 decodes them."""

    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        problem = wire_problem(data, message_type)
        if problem is not None:
            raise GRPCError(Status.INVALID_ARGUMENT, problem)
        try:
            return super().decode(data, message_type)
        except Exception as error:  # lenient decoder, unforeseen input: still the client's
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"request: cannot decode {message_type.__name__}: {error}",
            ) from error
