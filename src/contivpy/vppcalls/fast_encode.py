"""Generate and compile a message's encoder from its layout and vpp_papi's defaults.

In: a message's :class:`~contivpy.vppcalls.fast_layout.Struct`, and what vpp_papi packs for
each absent field (a decoded Message: see :mod:`~contivpy.vppcalls.fast_codec`). Out:
``encode(msg_id, fields) -> bytes``, giving vpp_papi's bytes for the same fields (dicts or
Messages for structs, lists or tuples for arrays), and its source text. Each run of
fixed-size fields is packed by one ``struct.Struct`` from a list of values; a counted array or
a ``string[0]`` ends a run and is packed on its own.

The encoder raises (:class:`~contivpy.vppcalls.fast_source.FastPathMiss`, struct's or str's
own errors) on any value it does not pack exactly as vpp_papi does: other types (vpp_papi
converts addresses given as strings, say), values out of range or too long, wrong counts, an
absent value whose default vpp_papi was not asked for. The codec then lets vpp_papi pack it,
which gives vpp_papi's bytes or error: the checks here may be stricter, never looser.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from contivpy.vppcalls.fast_layout import (
    F64,
    Bytes,
    FixedArray,
    FixedString,
    Node,
    Scalar,
    Struct,
    Union,
    VarBytes,
    Variable,
    VarString,
    fixed_format,
    leaf_code,
)
from contivpy.vppcalls.fast_source import Source
from contivpy.vppcalls.message import Message

Encoder = Callable[[int, Mapping[str, object]], bytes]
#: the default of a value vpp_papi was not asked about (union arms): None is then a miss
UNKNOWN: Any = object()


class _Encoder:
    """Writes an encode function: append each run's values to ``o``, pack the run."""

    def __init__(self, source: Source) -> None:
        self.src = source
        self.unions: dict[Union, str] = {}
        self.sources: list[str] = []
        self._run_formats: list[str] = []

    def message(self, layout: Struct, defaults: Message) -> None:
        emit = self.src.emit
        emit(0, "def encode(msg_id, d):")
        emit(1, "o = []")
        emit(1, "a = o.append")
        fixed = fixed_format(layout) is not None
        if not fixed:
            emit(1, "parts = []")
        for field in layout.fields:
            if field.name == "_vl_msg_id":
                self._run_formats.append(leaf_code(field.node) or "")
                emit(1, "a(msg_id)")
            else:
                self._field(field.name, field.node, "d", defaults.get(field.key, UNKNOWN), 1)
        if fixed:
            pack = self.src.constant("S", struct.Struct(">" + "".join(self._run_formats)))
            emit(1, f"return {pack}.pack(*o)")
        else:
            self._close_run()
            emit(1, "return b''.join(parts)")

    def _field(self, name: str, node: Node, parent: str, default: Any, depth: int) -> None:
        """A field of a struct that is packed by runs: its items are counted in the run."""
        value = self.src.local("v")
        self.src.emit(depth, f"{value} = {parent}.get({name!r})")
        if isinstance(node, Variable):
            self._variable(node, value, parent, default, depth)
            return
        fmt = fixed_format(node)
        if fmt is not None:  # a variable struct's fields count their own items
            self._run_formats.append(fmt)
        self._value(node, value, default, depth)

    def _value(self, node: Node, value: str, default: Any, depth: int) -> None:
        """Append the items of ``value`` (a local that may be None: absent) to ``o``."""
        emit = self.src.emit
        if isinstance(node, Scalar | F64):
            if default is UNKNOWN:
                emit(depth, f"if {value} is None:")
                emit(depth + 1, "raise Miss")
                item = value
            else:
                item = f"{self.src.literal(default)} if {value} is None else {value}"
            emit(depth, f"a(_f64pack({item}))" if isinstance(node, F64) else f"a({item})")
        elif isinstance(node, Bytes | FixedString):
            self._sized(node, value, default, depth)
        elif isinstance(node, Union):
            emit(depth, f"a({self._union(node)}({value}))")
        elif isinstance(node, Struct):
            emit(depth, f"if not {value}:")
            emit(depth + 1, f"{value} = EMPTY")  # vpp_papi packs a falsy struct as all absent
            # vpp_papi wants every field in a mapping that is not a dict (a Message the codec
            # did not turn into a dict): with all of them, a Message packs as its dict would.
            names = self.src.constant("F", frozenset(f.name for f in node.fields))
            emit(
                depth,
                f"elif type({value}) is not dict and"
                f" (type({value}) is not Message or not {names}.issubset({value})):",
            )
            emit(depth + 1, "raise Miss")
            by_runs = fixed_format(node) is None
            for field in node.fields:
                inner = default.get(field.key, UNKNOWN) if isinstance(default, Message) else UNKNOWN
                if by_runs:
                    self._field(field.name, field.node, value, inner, depth)
                else:
                    item = self.src.local("v")
                    emit(depth, f"{item} = {value}.get({field.name!r})")
                    self._value(field.node, item, inner, depth)
        elif isinstance(node, FixedArray):
            self._list_check(value, str(node.length), depth)
            absent = _absent_items(node, _first(default))
            if absent is not None:
                # Every element absent (an MPLS label stack of a plain path, say): their
                # defaults at once, not field by field sixteen times.
                emit(depth, f"if not any({value}):")
                emit(depth + 1, f"o.extend({self.src.constant('A', absent)})")
                emit(depth, "else:")
                depth += 1
            element = self.src.local("e")
            emit(depth, f"for {element} in {value}:")
            self._value(node.element, element, _first(default), depth + 1)
        else:
            raise AssertionError(node)

    def _sized(self, node: Bytes | FixedString, value: str, default: Any, depth: int) -> None:
        emit = self.src.emit
        emit(depth, f"if not {value}:")
        if isinstance(node, FixedString):  # vpp_papi's strings have no defaults: NULs
            emit(depth + 1, f"{value} = b''")
        elif default is UNKNOWN:
            emit(depth + 1, f"if {value} is None:")
            emit(depth + 2, "raise Miss")
            emit(depth + 1, f"{value} = b''")
        else:
            emit(depth + 1, f"{value} = {self.src.literal(default)} if {value} is None else b''")
        if isinstance(node, Bytes):
            emit(depth, f"elif type({value}) is not bytes and type({value}) is not bytearray:")
            emit(depth + 1, "raise Miss")
            emit(depth, f"elif len({value}) > {node.size}:")
            emit(depth + 1, "raise Miss")
        else:  # at most size - 1 characters, as vpp_papi checks; ASCII or an error
            emit(depth, f"elif type({value}) is str and len({value}) < {node.size}:")
            emit(depth + 1, f"{value} = {value}.encode('ascii')")
            emit(depth, "else:")
            emit(depth + 1, "raise Miss")
        emit(depth, f"a({value})")

    def _list_check(self, value: str, length: str, depth: int) -> None:
        self.src.emit(
            depth,
            f"if (type({value}) is not list and type({value}) is not tuple)"
            f" or len({value}) != {length}:",
        )
        self.src.emit(depth + 1, "raise Miss")

    def _close_run(self) -> None:
        if self._run_formats and "".join(self._run_formats):
            pack = self.src.constant("S", struct.Struct(">" + "".join(self._run_formats)))
            self.src.emit(1, f"parts.append({pack}.pack(*o))")
            self.src.emit(1, "o.clear()")
        self._run_formats = []

    def _variable(self, node: Variable, value: str, parent: str, default: Any, depth: int) -> None:
        self._close_run()
        emit = self.src.emit
        if isinstance(node, VarString):
            emit(depth, f"if not {value}:")
            emit(depth + 1, "parts.append(b'\\x00\\x00\\x00\\x00')")
            limit = f" and len({value}) < {node.limit}" if node.limit else ""
            emit(depth, f"elif type({value}) is str{limit}:")
            emit(depth + 1, f"parts.append(_u32pack(len({value})) + {value}.encode('ascii'))")
            emit(depth, "else:")
            emit(depth + 1, "raise Miss")
            return
        # vpp_papi packs an empty or absent array as nothing, whatever the count says
        emit(depth, f"if {value}:")
        count = f"{parent}.get({node.count!r})"
        if isinstance(node, VarBytes):
            emit(depth + 1, f"if type({value}) is not bytes and type({value}) is not bytearray:")
            emit(depth + 2, "raise Miss")
            emit(depth + 1, f"if len({value}) != {count}:")
            emit(depth + 2, "raise Miss")
            emit(depth + 1, f"parts.append(bytes({value}))")
            return
        self._list_check(value, count, depth + 1)
        pack = self.src.constant("S", struct.Struct(">" + (fixed_format(node.element) or "")))
        element = self.src.local("e")
        emit(depth + 1, f"for {element} in {value}:")
        self._value(node.element, element, _first(default), depth + 2)
        emit(depth + 2, f"parts.append({pack}.pack(*o))")
        emit(depth + 2, "o.clear()")

    def _union(self, union: Union) -> str:
        """A helper packing the first arm of a union dict into the union's size."""
        if union not in self.unions:
            helper = _Encoder(Source())
            emit = helper.src.emit
            emit(0, "def union(u):")
            emit(1, "if not u:")
            emit(2, "return b''")  # the run's struct pads it with NULs
            emit(1, "if type(u) is not dict and type(u) is not Message:")
            emit(2, "raise Miss")
            emit(1, "for k, v in u.items():")  # vpp_papi packs the first item
            emit(2, "break")
            emit(1, "o = []")
            emit(1, "a = o.append")
            for arm in union.arms:
                pack = helper.src.constant("S", struct.Struct(">" + (fixed_format(arm.node) or "")))
                emit(1, f"if k == {arm.name!r}:")
                helper._value(arm.node, "v", UNKNOWN, 2)
                emit(2, f"return {pack}.pack(*o)")
            emit(1, "raise Miss")
            function, text = helper.src.build("union", union.name)
            self.sources += [*helper.sources, text]
            self.unions[union] = self.src.constant("U", function)
        return self.unions[union]


def _absent_items(node: FixedArray, default: Any) -> tuple[object, ...] | None:
    """The run items of an array of structs whose every element is absent (falsy: vpp_papi
    packs each as its fields' defaults), or None where that is not a flat struct of integer
    fields with known defaults."""
    element = node.element
    if not isinstance(element, Struct) or not isinstance(default, Message):
        return None
    items: list[object] = []
    for field in element.fields:
        value = default.get(field.key, UNKNOWN)
        if not isinstance(field.node, Scalar) or type(value) not in (int, bool):
            return None
        items.append(value)
    return tuple(items) * node.length


def _first(default: Any) -> Any:
    """The default of an array's elements: its first element's."""
    return default[0] if isinstance(default, list) and default else UNKNOWN


def compile_encoder(layout: Struct, defaults: Message) -> tuple[Encoder, list[str]]:
    """The encode function of a message, packing absent fields as ``defaults`` says."""
    encoder = _Encoder(Source())
    encoder.message(layout, defaults)
    function, text = encoder.src.build("encode", layout.name)
    return function, [*encoder.sources, text]
