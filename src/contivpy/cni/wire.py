"""RemoteCNI's two messages as protobuf bytes, for both ends of the socket.

In: a request document (:class:`Request`: the CNI call's fields as plain values); the bytes
of a CNIReply. Out: the bytes of a CNIRequest; the :class:`Reply` document of an OK reply
(interfaces, IPs and routes as plain dicts, in the CNI result's terms), or CniError (the
agent's code and message) for an ERROR one. The agent's server goes the other way
(``decode_request``, ``encode_reply``, ``encode_error``).

The kubelet execs the plugin once per pod, and importing the generated classes (betterproto2)
costs more than everything else an ADD does in the plugin; in the agent, building and
serializing them cost more than the rest of a RemoteCNI call. The two messages are small and
flat, so both ends encode and decode them here, with plain dicts and no dataclasses
(``dataclasses`` and ``typing`` are most of a start otherwise; ``cni.types`` converts for
typed callers). Field numbers are those of proto/contivpy/cni/v1/cni.proto;
tests/cni/test_wire.py checks them against the generated classes the agent's server uses.
Unknown fields are skipped, as protobuf requires.
"""

from __future__ import annotations

from contivpy.cni import json_text
from contivpy.cni.errors import CniCode, CniError

TYPE_CHECKING = False  # not typing's: importing typing costs the plugin ~8 ms

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, TypedDict

    class Request(TypedDict):
        """One CNI call as the plugin sends it."""

        cni_version: str
        container_id: str
        netns: str
        ifname: str
        config: dict[str, Any]  # the network configuration, as given on stdin
        args: str  # CNI_ARGS as given

    class ReplyInterface(TypedDict):
        name: str
        mac: str
        sandbox: str  # netns path, empty for host-side interfaces

    class ReplyIP(TypedDict):
        address: str  # CIDR
        gateway: str
        interface: int  # index into Reply["interfaces"]

    class ReplyRoute(TypedDict):
        dst: str
        gw: str

    class Reply(TypedDict):
        """What an OK reply carries."""

        interfaces: list[ReplyInterface]
        ips: list[ReplyIP]
        routes: list[ReplyRoute]


_VARINT = 0
_FIXED64 = 1
_BYTES = 2
_FIXED32 = 5
_REPLY_OK = 0


def encode_request(request: Request) -> bytes:
    """The CNIRequest message (Contiv's RemoteCNI fields) of a request."""
    fields = (
        (1, request["cni_version"]),
        (2, request["container_id"]),
        (3, request["netns"]),
        (4, request["ifname"]),
        (5, json_text.dumps(request["config"])),
        (6, request["args"]),
    )
    # proto3: an empty string is the default and is not sent
    return b"".join(_field(number, text.encode()) for number, text in fields if text)


def decode_reply(data: bytes) -> Reply:
    """The reply's document; raises CniError when the agent answered ERROR."""
    result = _REPLY_OK
    error = ""
    error_code = 0
    interfaces: list[ReplyInterface] = []
    ips: list[ReplyIP] = []
    routes: list[ReplyRoute] = []
    for number, value in _fields(data):
        if number == 1 and isinstance(value, int):
            result = value
        elif number == 2 and isinstance(value, bytes):
            error = _text(value)
        elif number == 3 and isinstance(value, bytes):
            interface, addresses = _interface(value, len(interfaces))
            interfaces.append(interface)
            ips.extend(addresses)
        elif number == 4 and isinstance(value, bytes):
            text = _strings(value)
            routes.append({"dst": text.get(1, ""), "gw": text.get(2, "")})
        elif number == 6 and isinstance(value, int):
            error_code = value
    if result != _REPLY_OK:
        raise CniError(error_code or CniCode.WIRING_FAILED, error or "agent error")
    return {"interfaces": interfaces, "ips": ips, "routes": routes}


def decode_request(data: bytes) -> Request:
    """The request document of a CNIRequest; CniError (decode failure, invalid config) when
    it is no protobuf message or its network configuration is no JSON object."""
    text = _strings(data)
    config: dict[str, Any] = {}
    if text.get(5):
        try:
            parsed = json_text.loads(text[5])
        except ValueError as error:
            raise CniError(CniCode.DECODE_FAILURE, f"extra_nw_config: not JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise CniError(CniCode.INVALID_CONFIG, "extra_nw_config: not a JSON object")
        config = parsed
    return {
        "cni_version": text.get(1, ""),
        "container_id": text.get(2, ""),
        "netns": text.get(3, ""),
        "ifname": text.get(4, ""),
        "config": config,
        "args": text.get(6, ""),
    }


def encode_reply(reply: Reply) -> bytes:
    """An OK CNIReply carrying the reply document (each IP under its interface)."""
    out = bytearray()  # result OK is proto3's default: not sent
    for index, interface in enumerate(reply["interfaces"]):
        body = _text_fields((interface["name"], interface["mac"], interface["sandbox"]))
        for ip in reply["ips"]:
            if ip["interface"] == index:
                version = _varint(1 << 3 | _VARINT) + b"\x01" if ":" in ip["address"] else b""
                body += _field(4, version + _text_fields(("", ip["address"], ip["gateway"])))
        out += _field(3, body)
    for route in reply["routes"]:
        out += _field(4, _text_fields((route["dst"], route["gw"])))
    return bytes(out)


def encode_error(error: CniError) -> bytes:
    """An ERROR CNIReply: the CNI code and the message."""
    out = _varint(1 << 3 | _VARINT) + b"\x01"  # result ERROR
    out += _text_fields(("", error.message))
    if error.code:
        out += _varint(6 << 3 | _VARINT) + _varint(error.code)
    return out


def _text_fields(values: tuple[str, ...]) -> bytes:
    """String fields 1, 2, … of a message (empty ones are proto3's default: not sent)."""
    return b"".join(_field(n, v.encode()) for n, v in enumerate(values, 1) if v)


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | _BYTES) + _varint(len(data)) + data


def _interface(data: bytes, index: int) -> tuple[ReplyInterface, list[ReplyIP]]:
    text: dict[int, str] = {}
    ips: list[ReplyIP] = []
    for number, value in _fields(data):
        if not isinstance(value, bytes):
            continue
        if number == 4:
            ip = _strings(value)
            ips.append({"address": ip.get(2, ""), "gateway": ip.get(3, ""), "interface": index})
        else:
            text[number] = _text(value)
    interface: ReplyInterface = {
        "name": text.get(1, ""),
        "mac": text.get(2, ""),
        "sandbox": text.get(3, ""),
    }
    return interface, ips


def _strings(data: bytes) -> dict[int, str]:
    """The length-delimited fields of a flat message, as text by field number."""
    return {n: _text(v) for n, v in _fields(data) if isinstance(v, bytes)}


def _text(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as error:  # proto3 strings are UTF-8
        raise CniError(CniCode.DECODE_FAILURE, f"a string field is not UTF-8: {error}") from None


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field: an int for a varint, bytes for the rest."""
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
            yield number, value
        elif wire_type == _BYTES:
            size, position = _read_varint(data, position)
            if position + size > len(data):
                raise CniError(CniCode.DECODE_FAILURE, "a truncated RemoteCNI message")
            yield number, data[position : position + size]
            position += size
        elif wire_type in (_FIXED64, _FIXED32):
            position += 8 if wire_type == _FIXED64 else 4
        else:
            raise CniError(CniCode.DECODE_FAILURE, f"wire type {wire_type} in a RemoteCNI message")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise CniError(CniCode.DECODE_FAILURE, "a truncated varint in a RemoteCNI message")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
