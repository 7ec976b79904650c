"""Compile a message's fast encoder and decoder, checked against vpp_papi before first use.

In: a message's layout (:mod:`~contivpy.vppcalls.fast_layout`), its CRC, and the reference
the fast path must equal: functions that pack fields and unpack payloads with vpp_papi (the
codec's own slow path; this module does not import vpp_papi). Out: a
:class:`CompiledMessage` (encode, decode, their generated source), or None when the message
stays with vpp_papi.

Compiling a message:

1. the decoder, from the layout alone;
2. the defaults: vpp_papi packs the message with every field absent, and again with one absent
   element in each counted array; decoding those gives what each absent field packs as. They
   cannot be read from the JSON: a ``default`` option on one message's alias-typed field
   changes that alias for every message vpp_papi parses later in the process, so
   ``sw_interface_add_del_address`` packs an absent sw_if_index as ~0 although its definition
   has no default;
3. the encoder, with those defaults;
4. a check: for those two probes and one with a distinct value in every field, the encoder
   must give vpp_papi's bytes and the decoder vpp_papi's Message; any difference, or an
   error, leaves the message to vpp_papi.

Compiled messages are shared process-wide by (CRC, layout), as vpp_papi shares its parsed
messages by name and CRC: the defaults found once hold for every later ApiDefinitions.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contivpy.vppcalls.fast_decode import Decoder, compile_decoder
from contivpy.vppcalls.fast_encode import Encoder, compile_encoder
from contivpy.vppcalls.fast_layout import (
    F64,
    Bytes,
    FixedArray,
    FixedString,
    Node,
    Scalar,
    Struct,
    Union,
    VarArray,
    VarBytes,
    VarString,
    fixed_size,
)
from contivpy.vppcalls.fast_source import FastPathMiss
from contivpy.vppcalls.message import Message, WireValue

__all__ = ["CompiledMessage", "FastPathMiss", "compile_message", "same_value"]

#: vpp_papi's packing of a message's fields (without _vl_msg_id), the reference
PackReference = Callable[[Mapping[str, object]], bytes]
#: vpp_papi's unpacking of a payload into the codec's Message, the reference
UnpackReference = Callable[[bytes], Message]

_compiled: dict[tuple[str, Struct], CompiledMessage | None] = {}


@dataclass(frozen=True)
class CompiledMessage:
    """One message's compiled encoder and decoder (they raise where vpp_papi must decide)."""

    name: str
    #: ``encode(msg_id, fields) -> bytes``
    encode: Encoder
    #: ``decode(payload) -> Message``
    decode: Decoder
    #: the generated Python, helpers first
    sources: tuple[str, ...]


def compile_message(
    layout: Struct, crc: str, pack: PackReference, unpack: UnpackReference
) -> CompiledMessage | None:
    """The checked compiled codec of one message, or None if it must stay with vpp_papi."""
    key = (crc, layout)
    if key not in _compiled:
        try:
            _compiled[key] = _compile(layout, pack, unpack)
        except Exception:
            # vpp_papi cannot pack a probe, or the compiled code disagrees: not compiled.
            _compiled[key] = None
    return _compiled[key]


def _compile(
    layout: Struct, pack: PackReference, unpack: UnpackReference
) -> CompiledMessage | None:
    decode, decoder_sources = compile_decoder(layout)
    probes = [absent_fields(layout, one_element=False), absent_fields(layout, one_element=True)]
    absent, with_elements = (unpack(pack(fields)) for fields in probes)
    defaults = _merge_defaults(layout, absent, with_elements)
    assert isinstance(defaults, Message)
    encode, encoder_sources = compile_encoder(layout, defaults)
    for fields in [*probes, sample_fields(layout)]:
        expected = pack(fields)
        if encode(0, fields) != expected or not same_value(decode(expected), unpack(expected)):
            return None
    return CompiledMessage(layout.name, encode, decode, (*decoder_sources, *encoder_sources))


def absent_fields(layout: Struct, *, one_element: bool) -> dict[str, object]:
    """The fields of a message with every value absent, as far as vpp_papi packs that.

    vpp_papi refuses an absent fixed array of anything but u8, so those get absent elements
    (None) instead. With ``one_element`` each counted array has one absent element.
    """
    fields: dict[str, object] = {}
    for field in layout.fields:
        if isinstance(field.node, VarArray) and one_element:
            fields[field.node.count] = 1
            fields[field.name] = [_absent(field.node.element, one_element)]
            continue
        value = _absent(field.node, one_element)
        if value is not None:
            fields[field.name] = value
    return fields


def _absent(node: Node, one_element: bool) -> object:
    if isinstance(node, Struct):
        return absent_fields(node, one_element=one_element) or None
    if isinstance(node, FixedArray):
        return [_absent(node.element, one_element)] * node.length
    return None


def _merge_defaults(node: Node, absent: WireValue, with_elements: WireValue) -> WireValue:
    """The absent probe's values, with counted arrays' elements from the second probe."""
    if not (isinstance(node, Struct) and isinstance(absent, Message)):
        return absent
    assert isinstance(with_elements, Message)
    fields = {}
    for field in node.fields:
        if field.key not in absent:  # the message's _vl_msg_id
            continue
        if isinstance(field.node, VarArray):
            fields[field.key] = with_elements[field.key]
        else:
            fields[field.key] = _merge_defaults(
                field.node, absent[field.key], with_elements[field.key]
            )
    return Message(absent.name, fields)


def sample_fields(layout: Struct) -> dict[str, object]:
    """Fields with a distinct, valid value everywhere: two elements in each counted array."""
    return _Sampler().struct(layout)


class _Sampler:
    """Values for a probe in which a field read from the wrong place shows."""

    def __init__(self) -> None:
        self._serial = itertools.count()

    def struct(self, layout: Struct) -> dict[str, object]:
        fields: dict[str, object] = {}
        for field in layout.fields:
            if field.name == "_vl_msg_id":
                continue
            if isinstance(field.node, VarArray):
                fields[field.node.count] = 2
                fields[field.name] = [self.value(field.node.element) for _ in range(2)]
            elif isinstance(field.node, VarBytes):
                fields[field.node.count] = 2
                fields[field.name] = bytes([next(self._serial) % 256, 0xFF])
            else:
                fields[field.name] = self.value(field.node)
        return fields

    def value(self, node: Node) -> Any:
        serial = next(self._serial) % 100 + 1  # fits every integer type, i8 included
        if isinstance(node, Scalar):
            return serial % 2 == 1 if node.code == "?" else serial
        if isinstance(node, F64):
            return serial + 0.25
        if isinstance(node, Bytes):
            return bytes((serial + i) % 256 for i in range(node.size))
        if isinstance(node, FixedString):
            return f"s{serial}"[: node.size - 1]
        if isinstance(node, VarString):
            return f"v{serial}"[: max(node.limit - 1, 0)] if node.limit else f"v{serial}"
        if isinstance(node, Struct):
            return self.struct(node)
        if isinstance(node, Union):  # the largest arm: its bytes cover the whole union
            arm = max(node.arms, key=lambda a: fixed_size(a.node) or 0)
            return {arm.name: self.value(arm.node)}
        assert isinstance(node, FixedArray), node
        return [self.value(node.element) for _ in range(node.length)]


def same_value(left: WireValue, right: WireValue) -> bool:
    """Equal and of the same types throughout (``True == 1`` is not enough here)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, Message) and isinstance(right, Message):
        return (
            left.name == right.name
            and list(left) == list(right)
            and all(same_value(left[k], right[k]) for k in left)
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, float) and isinstance(right, float):
        return struct.pack("=d", left) == struct.pack("=d", right)
    return left == right
