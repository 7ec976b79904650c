"""Checking parsed JSON against a betterproto2 message class before building the message.

In: a message class and what ``json.loads`` made of a stored value. Out: nothing when every
known field has the JSON type its proto type needs, else ``FieldTypeError`` naming the field by
its path (``containers[0].ports[1].container_port``) and what was expected. betterproto2's own
``from_dict`` is lax (it stores a number in a string field unchanged), so a codec runs this
first and only then calls ``from_dict``.

Rules (proto3 JSON): field names are the proto names or their lowerCamel form; unknown fields
are allowed (a newer writer may add fields an older reader ignores); ``null`` means "default".
Integers must be JSON numbers without a fraction (64-bit ones may also be decimal strings) and
fit their type; enums are names of the enum or numbers; a oneof holds at most one member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import betterproto2
from betterproto2 import ProtoClassMetadata
from betterproto2.casing import safe_snake_case

_INT_RANGES = {
    betterproto2.TYPE_INT32: (-(2**31), 2**31 - 1),
    betterproto2.TYPE_SINT32: (-(2**31), 2**31 - 1),
    betterproto2.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    betterproto2.TYPE_UINT32: (0, 2**32 - 1),
    betterproto2.TYPE_FIXED32: (0, 2**32 - 1),
    betterproto2.TYPE_INT64: (-(2**63), 2**63 - 1),
    betterproto2.TYPE_SINT64: (-(2**63), 2**63 - 1),
    betterproto2.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    betterproto2.TYPE_UINT64: (0, 2**64 - 1),
    betterproto2.TYPE_FIXED64: (0, 2**64 - 1),
}
_INT64_TYPES = frozenset(betterproto2.INT_64_TYPES)


class FieldTypeError(ValueError):
    """A JSON value that does not fit its field: ``path`` names it, ``problem`` says why."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"field '{path}': {problem}" if path else problem)
        self.path = path
        self.problem = problem


def check_message(cls: type[betterproto2.Message], data: object, path: str = "") -> None:
    """Raise ``FieldTypeError`` for the first field of ``data`` that does not fit ``cls``."""
    if not isinstance(data, Mapping):
        raise FieldTypeError(path, f"expected an object, got {describe(data)}")
    metadata = _metadata(cls)
    meta_by_name = metadata.meta_by_field_name
    cls_by_field = metadata.cls_by_field
    oneof_set: dict[str, str] = {}
    for raw_name, value in data.items():
        if not isinstance(raw_name, str):  # json.loads never gives these; dicts built by hand may
            raise FieldTypeError(path, f"field names must be strings, got {raw_name!r}")
        name = safe_snake_case(raw_name)
        meta = meta_by_name.get(name)
        if meta is None or value is None:
            continue  # unknown: written by a newer version; null: the default
        here = _join(path, name.rstrip("_"))
        if meta.group is not None:
            other = oneof_set.setdefault(meta.group, here)
            if other != here:
                raise FieldTypeError(here, f"only one of '{other}' and '{here}' may be set")
        if meta.proto_type == betterproto2.TYPE_MAP:
            assert meta.map_meta is not None
            if not isinstance(value, Mapping):
                raise FieldTypeError(here, f"expected an object (a map), got {describe(value)}")
            key_meta, value_meta = meta.map_meta
            value_cls = cls_by_field[f"{name}.value"]
            for key, item in value.items():
                _check_map_key(key_meta.proto_type, key, here)
                _check_value(value_meta.proto_type, value_cls, item, f"{here}[{key!r}]")
        elif meta.repeated:
            if not isinstance(value, list):
                raise FieldTypeError(here, f"expected a list, got {describe(value)}")
            for index, item in enumerate(value):
                _check_value(meta.proto_type, cls_by_field[name], item, f"{here}[{index}]")
        else:
            _check_value(meta.proto_type, cls_by_field[name], value, here)


def _metadata(cls: type[betterproto2.Message]) -> ProtoClassMetadata:
    # betterproto2 types its ``_betterproto`` class property so that mypy cannot apply it.
    metadata: ProtoClassMetadata = cls._betterproto  # type: ignore[arg-type]
    return metadata


def _check_value(proto_type: str, field_cls: Any, value: object, path: str) -> None:
    if proto_type == betterproto2.TYPE_MESSAGE:
        check_message(field_cls, value, path)
    elif proto_type == betterproto2.TYPE_STRING:
        if not isinstance(value, str):
            raise FieldTypeError(path, f"expected a string, got {describe(value)}")
    elif proto_type == betterproto2.TYPE_BOOL:
        if not isinstance(value, bool):
            raise FieldTypeError(path, f"expected true or false, got {describe(value)}")
    elif proto_type in _INT_RANGES:
        _check_int(proto_type, value, path)
    elif proto_type == betterproto2.TYPE_ENUM:
        _check_enum(field_cls, value, path)
    elif proto_type in (betterproto2.TYPE_FLOAT, betterproto2.TYPE_DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise FieldTypeError(path, f"expected a number, got {describe(value)}")
    elif proto_type == betterproto2.TYPE_BYTES and not isinstance(value, str):
        raise FieldTypeError(path, f"expected base64 text, got {describe(value)}")


def _check_int(proto_type: str, value: object, path: str) -> None:
    number: int
    if isinstance(value, bool):
        raise FieldTypeError(path, f"expected an integer, got {describe(value)}")
    integral_float = isinstance(value, float) and value.is_integer()
    int64_text = isinstance(value, str) and proto_type in _INT64_TYPES and _is_decimal(value)
    if isinstance(value, int | float | str) and (
        isinstance(value, int) or integral_float or int64_text
    ):
        number = int(value)
    else:
        raise FieldTypeError(path, f"expected an integer, got {describe(value)}")
    low, high = _INT_RANGES[proto_type]
    if not low <= number <= high:
        raise FieldTypeError(path, f"{number} is out of range for {proto_type}")


def _check_enum(enum_cls: Any, value: object, path: str) -> None:
    names: dict[str, int] = enum_cls.betterproto_renamed_proto_names_to_value()
    if isinstance(value, str):
        if value not in names:
            allowed = ", ".join(sorted(names))
            raise FieldTypeError(path, f"unknown value {value!r} (one of {allowed})")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise FieldTypeError(path, f"expected an enum name, got {describe(value)}")


def _check_map_key(proto_type: str, key: object, path: str) -> None:
    # JSON object keys are always strings; integer-keyed maps spell their keys in decimal.
    if proto_type in _INT_RANGES and not (isinstance(key, str) and _is_decimal(key)):
        raise FieldTypeError(path, f"map key {key!r} is not an integer")


def _is_decimal(text: str) -> bool:
    return text.removeprefix("-").isdigit()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def describe(value: object) -> str:
    """A short rendering of a JSON value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
