"""The wire layout of VPP messages, read from ``.api.json`` definitions, for the compiled codec.

In: the parsed JSON of an :class:`~contivpy.vppcalls.codec.ApiDefinitions`' modules, in load
order (their types, unions, enums, aliases and messages). Out: for a message name, a
:class:`Struct` tree of layout nodes that says how vpp_papi's serializer lays it out, or None
for a message the compiled codec leaves to vpp_papi.

The layout follows vpp_papi, not VPP's C headers, wherever they differ: the first definition
of a type name wins (vpp_papi keeps one process-wide registry), enums are packed as their
``enumtype`` and unpacked as plain ints, ``f64`` is in native byte order, nested structs and
unions unpack under their ``vl_api_…_t`` names with fields renamed as namedtuple renames them.
Defaults are not read here: vpp_papi's defaults depend on which messages it parsed before (a
``default`` option on an alias field changes that alias for messages parsed later), so the
compiled codec asks vpp_papi for them (:mod:`contivpy.vppcalls.fast_codec`).
"""

from __future__ import annotations

import keyword
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

#: VPP's base types as struct codes (vpp_papi's, without the byte-order prefix)
BASE_CODES = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
    "bool": "?",
}


@dataclass(frozen=True)
class Scalar:
    """An integer, enum or bool: one struct item of ``code``."""

    code: str


@dataclass(frozen=True)
class F64:
    """An f64, which vpp_papi packs in native byte order: 8 raw bytes in the big-endian run."""


@dataclass(frozen=True)
class Bytes:
    """``u8 name[size]`` or an alias of one (addresses, MACs): bytes, zero-padded."""

    size: int


@dataclass(frozen=True)
class FixedString:
    """``string name[size]``: ASCII, NUL-padded, at most size - 1 characters."""

    size: int


@dataclass(frozen=True)
class VarString:
    """``string name[0]``: a u32 length, then the characters; ``limit`` 0 means none."""

    limit: int


@dataclass(frozen=True)
class Field:
    """A field: its name when packing, its key when unpacked, and its layout."""

    name: str
    #: vpp_papi unpacks nested types into namedtuples, which rename keywords and _names
    key: str
    node: Node


@dataclass(frozen=True)
class Struct:
    """A message or nested type (its vpp_papi name, ``vl_api_…_t`` for types)."""

    name: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Union:
    """A union: packed from one arm, unpacked as every arm read from the same bytes."""

    name: str
    arms: tuple[Field, ...]
    size: int


@dataclass(frozen=True)
class FixedArray:
    """``type name[length]`` for any type but u8 and string: exactly ``length`` elements."""

    element: Node
    length: int


@dataclass(frozen=True)
class VarArray:
    """``type name[count_field]`` for any type but u8: a list of fixed-size elements."""

    element: Node
    count: str


@dataclass(frozen=True)
class VarBytes:
    """``u8 name[count_field]``: bytes."""

    count: str


#: the parts that end a run of fixed-size fields
Variable: TypeAlias = VarString | VarArray | VarBytes
Node: TypeAlias = Scalar | F64 | Bytes | FixedString | Struct | Union | FixedArray | Variable


class Unsupported(Exception):
    """A definition the compiled codec does not handle; vpp_papi serializes it."""


def leaf_code(node: Node) -> str | None:
    """The struct code of a node that is one struct item, else None."""
    if isinstance(node, Scalar):
        return node.code
    if isinstance(node, F64):
        return "8s"
    if isinstance(node, Bytes | FixedString):
        return f"{node.size}s"
    if isinstance(node, Union):
        return f"{node.size}s"
    return None


def fixed_format(node: Node) -> str | None:
    """The struct format (no byte-order prefix) of a fixed-size node, None if variable."""
    code = leaf_code(node)
    if code is not None:
        return code
    if isinstance(node, FixedArray):
        element = fixed_format(node.element)
        return None if element is None else element * node.length
    if isinstance(node, Struct):
        parts = [fixed_format(f.node) for f in node.fields]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    return None


def fixed_size(node: Node) -> int | None:
    """Bytes of a fixed-size node, None if variable."""
    fmt = fixed_format(node)
    return None if fmt is None else struct.calcsize(">" + fmt)


def namedtuple_keys(names: Sequence[str]) -> tuple[str, ...]:
    """Field names as ``collections.namedtuple(..., rename=True)`` renames them."""
    seen: set[str] = set()
    keys = []
    for index, name in enumerate(names):
        bad = not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_")
        keys.append(f"_{index}" if bad or name in seen else name)
        seen.add(name)
    return tuple(keys)


class Layouts:
    """The layouts of one set of modules' messages, resolved on demand."""

    def __init__(self) -> None:
        #: papi type name → (kind, JSON definition), the first definition of a name winning
        self._types: dict[str, tuple[str, Any]] = {}
        self._messages: dict[str, list[Any]] = {}
        self._resolved: dict[str, Node] = {}
        self._layouts: dict[str, Struct | None] = {}

    def add_module(self, module: Mapping[str, Any]) -> None:
        """Take one module's definitions (parsed JSON, not modified)."""
        named = [("enum", e) for e in [*module.get("enums", []), *module.get("enumflags", [])]]
        named += [("union", u) for u in module.get("unions", [])]
        named += [("type", t) for t in module.get("types", [])]
        for kind, definition in named:
            self._types.setdefault(f"vl_api_{definition[0]}_t", (kind, definition))
        for name, alias in module.get("aliases", {}).items():
            self._types.setdefault(f"vl_api_{name}_t", ("alias", alias))
        for message in module.get("messages", []):
            self._messages[message[0]] = message  # a later module's message replaces it

    def message(self, name: str) -> Struct | None:
        """The layout of message ``name``; None when vpp_papi must serialize it."""
        if name not in self._layouts:
            try:
                self._layouts[name] = self._struct(name, self._messages[name][1:], top=True)
            except (Unsupported, KeyError, ValueError, TypeError, IndexError):
                self._layouts[name] = None
        return self._layouts[name]

    def _type(self, name: str) -> Node:
        if name in BASE_CODES:
            return Scalar(BASE_CODES[name])
        if name == "f64":
            return F64()
        if name not in self._resolved:
            if name not in self._types:
                raise Unsupported(f"unknown type {name}")
            kind, definition = self._types[name]
            self._resolved[name] = self._define(name, kind, definition)
        return self._resolved[name]

    def _define(self, name: str, kind: str, definition: Any) -> Node:
        if kind == "enum":
            enumtype = next((e["enumtype"] for e in definition[1:] if isinstance(e, dict)), "u32")
            if enumtype not in BASE_CODES or enumtype == "bool":
                raise Unsupported(f"{name} has enumtype {enumtype}")
            return Scalar(BASE_CODES[enumtype])
        if kind == "union":
            return self._union(name, definition[1:])
        if kind == "type":
            return self._struct(name, definition[1:], top=False)
        target = self._type(definition["type"])
        if "length" not in definition:
            if isinstance(target, Struct) and fixed_format(target) is None:
                # vpp_papi hands an aliased struct its parent's fields for VLA counts
                raise Unsupported(f"{name} aliases a variable-length struct")
            return target
        length = definition["length"]
        if definition["type"] == "u8" and length > 0:
            return Bytes(length)
        # vpp_papi gives an array alias of any other type no size: its users fail to load
        raise Unsupported(f"{name} is an array alias of {definition['type']}")

    def _union(self, name: str, entries: Sequence[Any]) -> Union:
        arms = [e for e in entries if isinstance(e, list)]
        if any(len([x for x in arm if not isinstance(x, dict)]) != 2 for arm in arms):
            raise Unsupported(f"{name} has an array arm")  # vpp_papi ignores arm lengths
        keys = namedtuple_keys([arm[1] for arm in arms])
        fields = tuple(
            Field(arm[1], key, self._type(arm[0])) for arm, key in zip(arms, keys, strict=True)
        )
        sizes = [fixed_size(f.node) for f in fields]
        if not fields or any(size is None for size in sizes):
            raise Unsupported(f"{name} has no arms or a variable-length arm")
        return Union(name, fields, max(size or 0 for size in sizes))

    def _struct(self, name: str, entries: Sequence[Any], *, top: bool) -> Struct:
        specs = [e for e in entries if isinstance(e, list)]
        names = [spec[1] for spec in specs]
        # A message's fields keep their names: the codec names them from the definition.
        keys = tuple(names) if top else namedtuple_keys(names)
        fields: list[Field] = []
        for spec, key in zip(specs, keys, strict=True):
            node = self._field(name, spec, [f.name for f in fields])
            if isinstance(node, VarArray | VarBytes):
                count = next((f.node for f in fields if f.name == node.count), None)
                if not isinstance(count, Scalar) or count.code == "?":
                    raise Unsupported(f"{name}.{spec[1]} has no integer count field before it")
            fields.append(Field(spec[1], key, node))
        return Struct(name, tuple(fields))

    def _field(self, owner: str, spec: Sequence[Any], earlier: list[str]) -> Node:
        field_type, field_name = spec[0], spec[1]
        options = next((x for x in spec if isinstance(x, dict)), {})
        shape = [x for x in spec[2:] if not isinstance(x, dict)]
        where = f"{owner}.{field_name}"
        if not shape:
            if field_type == "string":
                raise Unsupported(f"{where} is a string without a length")
            return self._type(field_type)
        if len(shape) == 2:
            if shape[1] not in earlier:
                raise Unsupported(f"{where} is counted by {shape[1]}, not an earlier field")
            if field_type == "u8":
                return VarBytes(shape[1])
            element = self._type(field_type)
            if fixed_format(element) is None:
                raise Unsupported(f"{where} has variable-length elements")
            return VarArray(element, shape[1])
        length = shape[0]
        if length == 0:
            if field_type == "string":
                return VarString(int(options.get("limit", 0)))
            raise Unsupported(f"{where} is a legacy variable-length array")
        if field_type == "u8":
            return Bytes(length)
        if field_type == "string":
            if options.get("limit", length) != length:
                raise Unsupported(f"{where} has a limit other than its length")
            return FixedString(length)
        element = self._type(field_type)
        if fixed_format(element) is None:
            raise Unsupported(f"{where} has variable-length elements")
        return FixedArray(element, length)
