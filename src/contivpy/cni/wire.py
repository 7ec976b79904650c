"""RemoteCNI's two messages as protobuf bytes, for the plugin's side of the socket.

In: a request document (:class:`Request`: the CNI call's fields as plain values); the bytes
of a CNIReply. Out: the bytes of a CNIRequest; the :class:`Reply` document of an OK reply
(interfaces, IPs and routes as plain dicts, in the CNI result's terms), or CniError (the
agent's code and message) for an ERROR one.

The kubelet execs the plugin once per pod, and importing the generated classes (betterproto2)
costs more than everything else an ADD does in the plugin; the two messages are small and
flat, so the plugin encodes and decodes them itself, with plain dicts and no dataclasses
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
    out = bytearray()
    for number, text in fields:
        if text:  # proto3: an empty string is the default and is not sent
            data = text.encode()
            out += _varint(number << 3 | _BYTES)
            out += _varint(len(data))
            out += data
    return bytes(out)


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
            error = value.decode()
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
            text[number] = value.decode()
    interface: ReplyInterface = {
        "name": text.get(1, ""),
        "mac": text.get(2, ""),
        "sandbox": text.get(3, ""),
    }
    return interface, ips


def _strings(data: bytes) -> dict[int, str]:
    """The length-delimited fields of a flat message, as text by field number."""
    return {n: v.decode() for n, v in _fields(data) if isinstance(v, bytes)}


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
                raise CniError(CniCode.DECODE_FAILURE, "agent reply: truncated message")
            yield number, data[position : position + size]
            position += size
        elif wire_type in (_FIXED64, _FIXED32):
            position += 8 if wire_type == _FIXED64 else 4
        else:
            raise CniError(CniCode.DECODE_FAILURE, f"agent reply: wire type {wire_type}")


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
            raise CniError(CniCode.DECODE_FAILURE, "agent reply: truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
