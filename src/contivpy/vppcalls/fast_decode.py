"""Generate and compile a message's decoder from its layout.

In: a message's :class:`~contivpy.vppcalls.fast_layout.Struct`. Out: ``decode(payload) ->
Message``, giving the Message the codec builds from vpp_papi's unpacking (nested Messages
under vpp_papi's type names, ints for enums, bytes, strings cut at the first NUL, lists), and
its source text. Each run of fixed-size fields is unpacked by one ``struct.Struct``
(big-endian, no padding: vpp_papi's layout), then the Message is built in one expression; a
counted array or a ``string[0]`` ends a run and is read on its own.

The decoder raises (:class:`~contivpy.vppcalls.fast_source.FastPathMiss`, struct's or
bytes' own errors) on a payload that is short or not ASCII where it must be: the codec then
lets vpp_papi unpack it, which gives vpp_papi's error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from contivpy.vppcalls.fast_layout import (
    F64,
    FixedArray,
    FixedString,
    Node,
    Struct,
    Union,
    VarBytes,
    Variable,
    VarString,
    fixed_format,
    fixed_size,
    leaf_code,
)
from contivpy.vppcalls.fast_source import Source, index_expression
from contivpy.vppcalls.message import Message

Decoder = Callable[[bytes], Message]


class _Decoder:
    """Writes a decode function: unpack each run, then build the Message in one expression."""

    def __init__(self, source: Source) -> None:
        self.src = source
        self.unions: dict[Union, str] = {}
        self.sources: list[str] = []
        self._run_var = source.local("r")
        self._run_formats: list[str] = []
        self._run_items = 0
        #: a message of one run unpacks it from offset 0 and needs no offset
        self._fixed_size = False

    def message(self, layout: Struct) -> None:
        self.src.emit(0, "def decode(p):")
        self._fixed_size = fixed_format(layout) is not None
        if not self._fixed_size:
            self.src.emit(1, "off = 0")
        fields = self._fields(layout, omit="_vl_msg_id")
        self._close_run()
        self.src.emit(1, f"return Message({layout.name!r}, {fields})")

    def _fields(self, layout: Struct, omit: str | None = None) -> str:
        """The dict display of a struct's fields (run level: may contain variable parts)."""
        exprs: dict[str, str] = {}
        items = []
        for field in layout.fields:
            if isinstance(field.node, Variable):
                expr = self._variable(field.node, exprs)
            elif isinstance(field.node, Struct) and fixed_format(field.node) is None:
                expr = f"Message({field.node.name!r}, {self._fields(field.node)})"
            else:
                expr, fmt, count = self._fixed(field.node, self._run_var, None, self._run_items)
                self._run_formats.append(fmt)
                self._run_items += count
            exprs[field.name] = expr
            if field.name != omit:
                items.append(f"{field.key!r}: {expr}")
        return "{" + ", ".join(items) + "}"

    def _fixed(self, node: Node, tup: str, base: str | None, start: int) -> tuple[str, str, int]:
        """(expression, struct format, items) of a fixed node starting at ``tup[base+start]``."""
        code = leaf_code(node)
        if code is not None:
            return self._leaf(node, f"{tup}[{index_expression(base, start)}]"), code, 1
        if isinstance(node, Struct):
            items, formats, count = [], [], 0
            for field in node.fields:
                expr, fmt, used = self._fixed(field.node, tup, base, start + count)
                items.append(f"{field.key!r}: {expr}")
                formats.append(fmt)
                count += used
            return f"Message({node.name!r}, {{{', '.join(items)}}})", "".join(formats), count
        assert isinstance(node, FixedArray), node
        length, first = node.length, index_expression(base, start)
        code = leaf_code(node.element)
        if code is not None:  # one item per element: a slice of the run
            window = f"{tup}[{first}:{first} + {length}]"
            item = self.src.local("x")
            expr = self._leaf(node.element, item)
            if expr == item:
                return f"list({window})", code * length, length
            return f"[{expr} for {item} in {window}]", code * length, length
        loop = self.src.local("i")
        expr, fmt, width = self._fixed(node.element, tup, loop, 0)
        stop = f"{first} + {width * length}"
        return (
            f"[{expr} for {loop} in range({first}, {stop}, {width})]",
            fmt * length,
            width * length,
        )

    def _leaf(self, node: Node, ref: str) -> str:
        if isinstance(node, F64):
            return f"_f64unpack({ref})[0]"
        if isinstance(node, FixedString):  # as vpp_papi: up to the first NUL, strict ASCII
            return f"{ref}.partition(b'\\x00')[0].decode('ascii')"
        if isinstance(node, Union):
            return f"{self._union(node)}({ref})"
        return ref

    def _union(self, union: Union) -> str:
        """A helper that unpacks every arm from the union's bytes, as vpp_papi does."""
        if union not in self.unions:
            helper = _Decoder(Source())
            helper.src.emit(0, "def union(raw):")
            items = []
            for arm in union.arms:
                fmt = fixed_format(arm.node)
                run = helper.src.local("a")
                unpack = helper.src.constant("S", struct.Struct(">" + (fmt or "")))
                helper.src.emit(1, f"{run} = {unpack}.unpack_from(raw)")
                expr, _fmt, _count = helper._fixed(arm.node, run, None, 0)
                items.append(f"{arm.key!r}: {expr}")
            helper.src.emit(1, f"return Message({union.name!r}, {{{', '.join(items)}}})")
            function, text = helper.src.build("union", union.name)
            self.sources += [*helper.sources, text]
            self.unions[union] = self.src.constant("U", function)
        return self.unions[union]

    def _close_run(self) -> None:
        if self._run_items:
            fmt = ">" + "".join(self._run_formats)
            unpack = self.src.constant("S", struct.Struct(fmt))
            if self._fixed_size:
                self.src.emit(1, f"{self._run_var} = {unpack}.unpack_from(p)")
            else:
                self.src.emit(1, f"{self._run_var} = {unpack}.unpack_from(p, off)")
                self.src.emit(1, f"off += {struct.calcsize(fmt)}")
        self._run_var, self._run_formats, self._run_items = self.src.local("r"), [], 0

    def _variable(self, node: Variable, exprs: dict[str, str]) -> str:
        self._close_run()
        emit, local = self.src.emit, self.src.local
        value, raw = local("value"), local("raw")
        if isinstance(node, VarString):
            length = local("n")
            emit(1, f"({length},) = _u32unpack(p, off)")
            emit(1, f"if {length}:")
            emit(2, f"{raw} = p[off + 4:off + 4 + {length}]")
            emit(2, f"if len({raw}) != {length}:")
            emit(3, "raise Miss")
            emit(2, f"{value} = {raw}.decode('ascii', 'replace')")
            emit(2, f"off += 4 + {length}")
            emit(1, "else:")
            # vpp_papi reads an empty string as 0 bytes long: what follows starts at its length
            emit(2, f"{value} = ''")
            return value
        length = local("n")
        size = 1 if isinstance(node, VarBytes) else fixed_size(node.element) or 0
        emit(1, f"{length} = {size} * {exprs[node.count]}")
        emit(1, f"{raw} = bytes(p[off:off + {length}])")
        emit(1, f"if len({raw}) != {length}:")
        emit(2, "raise Miss")
        emit(1, f"off += {length}")
        if isinstance(node, VarBytes):
            return raw
        element = local("e")
        unpack = self.src.constant("S", struct.Struct(">" + (fixed_format(node.element) or "")))
        expr, _fmt, _count = self._fixed(node.element, element, None, 0)
        emit(1, f"{value} = [{expr} for {element} in {unpack}.iter_unpack({raw})]")
        return value


def compile_decoder(layout: Struct) -> tuple[Decoder, list[str]]:
    """The decode function of a message, and the source texts it was compiled from."""
    decoder = _Decoder(Source())
    decoder.message(layout)
    function, text = decoder.src.build("decode", layout.name)
    return function, [*decoder.sources, text]
