"""Pack and unpack VPP binary-API messages; the one module of contivpy that imports vpp_papi.

In: message definitions in vpp-papi's ``.api.json`` format (vpp_papi's bundled memclnt file
plus contivpy's own files in ``definitions/``, or the JSON array a VPP answers to
``get_api_json``), the message table of one VPP (name_crc → id), and frames off the socket.
Out:

- :class:`ApiDefinitions`: each message's CRC, fields and service (reply, dump, events),
  packing and unpacking by name, and the original JSON text (to serve ``get_api_json``).
- :class:`MessageTable`: one VPP's ids for the messages we know, so frames encode and decode
  by name; :meth:`MessageTable.assign` numbers messages the way a VPP would (the simulator).
- :class:`~contivpy.vppcalls.message.Message` values (a decoded message with typed getters),
  so code outside this module never handles vpp_papi's untyped namedtuples.
- The 16-byte frame header: :func:`frame`, :func:`read_frame`.

vpp_papi's serializer keeps a process-wide registry of types and rewrites the dicts it parses
(names become ``vl_api_…_t``), so every module's JSON is kept as text and parsed afresh for
each purpose. Unpacking runs without vpp_papi's type conversion (no ``ipaddress`` objects or
``MACAddress``): addresses stay bytes and the typed layers convert them.

vpp_papi's generic serializer costs tens of microseconds per message, so each message is
also compiled (on first use) into plain ``struct`` code (:mod:`~contivpy.vppcalls.fast_codec`)
that must give vpp_papi's bytes and values: it is checked against vpp_papi when compiled, and
any input it does not handle exactly as vpp_papi (odd types, bad values, short payloads) goes
to vpp_papi, which gives the result or the error as before.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import struct
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vpp_papi import VPPApiJSONFiles

from contivpy.vppcalls.errors import VppEncodeError, VppProtocolError
from contivpy.vppcalls.fast_codec import CompiledMessage, compile_message
from contivpy.vppcalls.fast_layout import Layouts
from contivpy.vppcalls.message import Message, WireValue, plain_value

_FRAME_HEADER = struct.Struct(">QII")
#: Size of the header in front of every message on VPP's API socket.
FRAME_HEADER_SIZE = _FRAME_HEADER.size
#: A frame longer than this is garbage, not a message (get_api_json of a full VPP is ~2 MB).
MAX_FRAME_SIZE = 64 * 1024 * 1024
_MSG_ID = struct.Struct(">H")

#: The memclnt messages every VPP has at fixed ids: vpp_papi sends sockclnt_create as 15 and
#: requires the reply as 16, before any message table exists.
SOCKCLNT_CREATE_ID = 15
SOCKCLNT_CREATE_REPLY_ID = 16


def _from_papi(value: Any) -> WireValue:
    """vpp_papi's unpacked value (namedtuples, IntFlag enums) as a :data:`WireValue`."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return Message(
            type(value).__name__,
            {k: _from_papi(v) for k, v in zip(value._fields, value, strict=True)},
        )
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return int(value.value)
    if isinstance(value, int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [_from_papi(v) for v in value]
    raise TypeError(f"unexpected value from vpp_papi: {value!r}")


@dataclass(frozen=True)
class Service:
    """How a request is answered: one reply, a stream of details, and events it enables."""

    request: str
    reply: str
    #: the details message of a dump, else None
    details: str | None
    #: an old-style dump: the details come as replies and a control_ping ends the stream
    ends_with_ping: bool
    events: tuple[str, ...]


@dataclass(frozen=True)
class MessageDef:
    """A message's identity and field names."""

    name: str
    crc: str
    fields: tuple[str, ...]
    module: str

    @property
    def name_crc(self) -> str:
        """The key VPP's message table uses: ``<name>_<crc without 0x>``."""
        return f"{self.name}_{self.crc[2:]}"

    @property
    def has_context(self) -> bool:
        """Replies and details carry the request's context; events do not."""
        return "context" in self.fields


@dataclass(frozen=True)
class ApiModule:
    """One API module's JSON text as it came (a file, or one element of get_api_json)."""

    name: str
    text: str


class ApiDefinitions:
    """A set of message definitions that can pack and unpack by message name."""

    def __init__(self, modules: Sequence[ApiModule], *, fast_path: bool = True) -> None:
        """``fast_path=False`` packs and unpacks everything with vpp_papi (the reference)."""
        self.modules = tuple(modules)
        self._defs: dict[str, MessageDef] = {}
        self._field_names: dict[str, frozenset[str]] = {}
        self._services: dict[str, Service] = {}
        self._papi: dict[str, Any] = {}
        self._layouts = Layouts()
        self._fast_path = fast_path
        #: message name → its compiled codec, or None (not compiled); filled on first use
        self._compiled: dict[str, CompiledMessage | None] = {}
        #: (message, "encode" | "decode") → inputs the compiled codec passed to vpp_papi
        self.fallbacks: Counter[tuple[str, str]] = Counter()
        for module in self.modules:
            self._add(module)

    def _add(self, module: ApiModule) -> None:
        parsed = json.loads(module.text)
        self._layouts.add_module(parsed)
        for entry in parsed.get("messages", []):
            name = entry[0]
            meta = next((e for e in entry[1:] if isinstance(e, dict)), {})
            fields = tuple(f[1] for f in entry[1:] if isinstance(f, list))
            self._defs[name] = MessageDef(name, str(meta.get("crc", "")), fields, module.name)
            self._field_names[name] = frozenset(fields)
        for request, service in parsed.get("services", {}).items():
            reply = service["reply"]
            stream_msg = service.get("stream_msg")
            streams = bool(service.get("stream"))
            self._services[request] = Service(
                request=request,
                reply=reply,
                details=(stream_msg or reply) if streams else None,
                ends_with_ping=streams and stream_msg is None,
                events=tuple(service.get("events", ())),
            )
        # vpp_papi parses its own copy: it rewrites names inside the structures it is given.
        messages, _services = VPPApiJSONFiles.process_json_str(module.text)
        self._papi.update(messages)

    @classmethod
    @functools.cache
    def bundled(cls) -> ApiDefinitions:
        """memclnt (as vpp_papi ships it) plus contivpy's own VPP 26.06 definitions."""
        return cls([_memclnt_module(), *_own_modules()])

    @classmethod
    @functools.cache
    def memclnt(cls) -> ApiDefinitions:
        """Only memclnt: enough for the handshake, control_ping and get_api_json."""
        return cls([_memclnt_module()])

    @classmethod
    def from_api_json(cls, text: str, keep: Collection[str] | None = None) -> ApiDefinitions:
        """The definitions a VPP sent in its get_api_json reply (a JSON array of modules),
        plus vpp_papi's memclnt where the reply lacks it.

        ``keep`` limits the messages parsed (types are always kept): a full VPP defines
        thousands, and building a serializer for each costs time on every connect.

        A real VPP's reply leaves memclnt out (its messages are known from the handshake's
        table, whose CRCs the caller checks against vpp_papi's file); a reply that has it
        (older VPPs) is used as it is.
        """
        try:
            array = json.loads(text)
        except ValueError as err:
            raise VppProtocolError(f"get_api_json returned invalid JSON: {err}") from err
        if not isinstance(array, list):
            raise VppProtocolError("get_api_json did not return a JSON array")
        modules = []
        for index, module in enumerate(array):
            if keep is not None:
                module = dict(module)
                module["messages"] = [m for m in module.get("messages", []) if m[0] in keep]
                module["services"] = {
                    k: v for k, v in module.get("services", {}).items() if k in keep
                }
            modules.append(ApiModule(f"module{index}", json.dumps(module)))
        defined = {m[0] for module in array for m in module.get("messages", [])}
        if "control_ping" not in defined:
            modules.insert(0, _memclnt_module())
        return cls(modules)

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def names(self) -> list[str]:
        """Every message name, in definition order."""
        return list(self._defs)

    def message(self, name: str) -> MessageDef:
        """The definition of ``name`` (KeyError if unknown)."""
        return self._defs[name]

    def service(self, request: str) -> Service | None:
        """How ``request`` is answered, or None for a message that is not a request."""
        return self._services.get(request)

    def api_json(self, *, without: Collection[str] = ()) -> str:
        """The modules as one JSON array, as a VPP answers get_api_json.

        ``without`` names modules to leave out: a real VPP's answer has no ``memclnt``, whose
        messages a client knows from the handshake's message table.
        """
        kept = (m.text.strip() for m in self.modules if m.name not in without)
        return "[" + ",".join(kept) + "]"

    def encode(self, name: str, msg_id: int, fields: Mapping[str, object]) -> bytes:
        """Pack ``name`` with id ``msg_id``; missing fields take their defaults (or zero)."""
        if not self._field_names[name].issuperset(fields):
            unknown = set(fields) - self._field_names[name]
            raise VppEncodeError(f"{name} has no field(s) {sorted(unknown)}")
        compiled = self.compiled(name)
        if compiled is not None:
            try:
                return compiled.encode(msg_id, fields)
            except Exception:
                # Whatever the compiled code declines, vpp_papi packs or refuses as before.
                self.fallbacks[name, "encode"] += 1
        return self._papi_encode(name, msg_id, fields)

    def decode(self, name: str, payload: bytes) -> Message:
        """Unpack a payload known to be ``name``."""
        compiled = self.compiled(name)
        if compiled is not None:
            try:
                return compiled.decode(payload)
            except Exception:
                # A short or odd payload: vpp_papi unpacks it or gives its error.
                self.fallbacks[name, "decode"] += 1
        return self._papi_decode(name, payload)

    def _papi_encode(self, name: str, msg_id: int, fields: Mapping[str, object]) -> bytes:
        data: dict[str, object] = {k: plain_value(v) for k, v in fields.items()}
        data["_vl_msg_id"] = msg_id
        try:
            packed: bytes = self._papi[name].pack(data)
        except (ValueError, TypeError, KeyError, struct.error) as err:
            raise VppEncodeError(f"cannot pack {name}: {err}") from err
        return packed

    def _papi_decode(self, name: str, payload: bytes) -> Message:
        try:
            raw, _size = self._papi[name].unpack(payload, ntc=True)
        except (ValueError, TypeError, IndexError, struct.error) as err:
            raise VppProtocolError(f"cannot unpack {name}: {err}") from err
        # The top level is named from the definition: vpp_papi's namedtuple renames
        # ``_vl_msg_id`` (a leading underscore) to ``_0``, and the id is the table's business.
        fields = self._defs[name].fields
        return Message(
            name, {k: _from_papi(v) for k, v in zip(fields, raw, strict=True) if k != "_vl_msg_id"}
        )

    def compiled(self, name: str) -> CompiledMessage | None:
        """The compiled codec of ``name`` (compiled now if needed), None if vpp_papi packs it."""
        try:
            return self._compiled[name]
        except KeyError:
            pass
        if name not in self._papi:
            return None  # unknown: the caller's lookup in vpp_papi's messages raises KeyError
        compiled = None
        layout = self._layouts.message(name) if self._fast_path else None
        if layout is not None:
            compiled = compile_message(
                layout,
                self._defs[name].crc,
                lambda fields: self._papi_encode(name, 0, fields),
                lambda payload: self._papi_decode(name, payload),
            )
        self._compiled[name] = compiled
        return compiled

    def fast_path_names(self) -> frozenset[str]:
        """The messages packed and unpacked by compiled code (compiling every message)."""
        return frozenset(n for n in self._defs if self.compiled(n) is not None)


def _memclnt_module() -> ApiModule:
    text = resources.files("vpp_papi.data").joinpath("memclnt.api.json").read_text("utf-8")
    return ApiModule("memclnt", text)


def _own_modules() -> list[ApiModule]:
    folder = resources.files("contivpy.vppcalls").joinpath("definitions")
    modules = []
    # Imported type modules first, then the API modules, each alphabetically: the order only
    # decides message ids in the simulator, but it must not change between runs by accident.
    entries = sorted(
        (p for p in folder.iterdir() if p.name.endswith(".api.json")),
        key=lambda p: (not p.name.endswith("_types.api.json"), p.name),
    )
    for path in entries:
        modules.append(ApiModule(path.name.removesuffix(".api.json"), path.read_text("utf-8")))
    return modules


class MessageTable:
    """One VPP's message ids for the messages that both sides define with the same CRC."""

    def __init__(self, definitions: ApiDefinitions, ids: Mapping[str, int]) -> None:
        """``ids`` is VPP's table: ``name_crc`` → id (from sockclnt_create_reply)."""
        self.definitions = definitions
        self._id_by_name: dict[str, int] = {}
        self._name_by_id: dict[int, str] = {}
        for name in definitions.names():
            msg_id = ids.get(definitions.message(name).name_crc)
            if msg_id is not None and msg_id > 0:
                self._id_by_name[name] = msg_id
                self._name_by_id[msg_id] = name

    @classmethod
    def assign(cls, definitions: ApiDefinitions, plugin_base: int = 0) -> MessageTable:
        """Number messages as a VPP does: memclnt from 1 in file order, the rest after it.

        ``plugin_base`` shifts every non-memclnt id, as loading other plugins does on a real
        VPP; clients must resolve ids by name and CRC, never remember them.
        """
        ids: dict[str, int] = {}
        next_id = 1
        for name in definitions.names():
            definition = definitions.message(name)
            if definition.module == "memclnt":
                ids[definition.name_crc] = next_id
                next_id += 1
        next_id += plugin_base
        for name in definitions.names():
            definition = definitions.message(name)
            if definition.module != "memclnt":
                ids[definition.name_crc] = next_id
                next_id += 1
        return cls(definitions, ids)

    def entries(self) -> list[tuple[int, str]]:
        """(id, name_crc) for every message, as sockclnt_create_reply lists them."""
        return [
            (msg_id, self.definitions.message(name).name_crc)
            for msg_id, name in sorted(self._name_by_id.items())
        ]

    def has(self, name: str) -> bool:
        """Whether this VPP offers ``name`` with the CRC we know."""
        return name in self._id_by_name

    def id_of(self, name: str) -> int:
        """This VPP's id for ``name`` (KeyError if it does not offer it)."""
        return self._id_by_name[name]

    def name_of(self, msg_id: int) -> str | None:
        """The message name for an id, or None for one we do not know."""
        return self._name_by_id.get(msg_id)

    def encode(self, name: str, fields: Mapping[str, object]) -> bytes:
        """Pack ``name`` with this VPP's id for it."""
        return self.definitions.encode(name, self.id_of(name), fields)

    def decode(self, payload: bytes) -> Message:
        """Unpack a payload by the id at its start."""
        msg_id = message_id(payload)
        name = self._name_by_id.get(msg_id)
        if name is None:
            raise VppProtocolError(f"message id {msg_id} is not in the message table")
        return self.definitions.decode(name, payload)


def message_id(payload: bytes) -> int:
    """The u16 message id every payload starts with."""
    if len(payload) < _MSG_ID.size:
        raise VppProtocolError(f"a {len(payload)}-byte message has no id")
    msg_id: int = _MSG_ID.unpack_from(payload)[0]
    return msg_id


def frame(payload: bytes) -> bytes:
    """The payload behind its 16-byte header, ready to write to the socket."""
    return _FRAME_HEADER.pack(0, len(payload), 0) + payload


def frames(payloads: Iterable[bytes]) -> bytes:
    """Several framed payloads as one buffer (one write for a dump and its ping)."""
    return b"".join(frame(p) for p in payloads)


def payload_length(header: bytes) -> int:
    """The payload length a 16-byte header announces."""
    _unused, length, _timestamp = _FRAME_HEADER.unpack(header)
    if length > MAX_FRAME_SIZE:
        raise VppProtocolError(f"frame of {length} bytes exceeds {MAX_FRAME_SIZE}")
    return int(length)


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The next payload from the stream (IncompleteReadError at end of stream)."""
    header = await reader.readexactly(FRAME_HEADER_SIZE)
    return await reader.readexactly(payload_length(header))
