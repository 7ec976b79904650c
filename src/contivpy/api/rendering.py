"""Values as JSON for the debug API.

In: any object the scheduler holds as a value: mostly frozen dataclasses of strings, numbers,
enums, bytes, tuples and nested dataclasses; sometimes a plain string, bool or None.
Out: the JSON-able structure (``to_jsonable``) or compact JSON text (``render_json``):

- an object with a ``__json__`` method -> what it returns, converted the same way (a value
  that holds stored bytes shows them decoded, so their secret fields are masked too);
- dataclasses -> objects, fields in declaration order;
- enums -> their names; bytes -> lowercase hex; tuples, lists -> lists; sets -> sorted lists;
- mappings -> objects with string keys; non-finite floats -> strings;
- anything else (addresses, networks, ...) -> ``str(value)``.

Fields and mapping keys whose name contains "secret", "password" or "key_material" are
replaced by ``MASK`` whatever their value: debug output ends up in tickets and chat logs,
and memif secrets or IPsec keys must not.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from typing import TypeAlias

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

MASK = "***"
_SECRET_WORDS = ("secret", "password", "key_material")
# Frozen values cannot be cyclic, but a deep (or accidentally self-referencing) object must
# still not blow the stack of a debug call.
_MAX_DEPTH = 32


def is_secret_name(name: str) -> bool:
    """True when a field of this name must never be shown."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def to_jsonable(value: object) -> JSONValue:
    """The JSON-able form of value (see the module docstring)."""
    return _convert(value, 0)


def render_json(value: object) -> str:
    """Compact, single-line JSON text of value."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def _convert(value: object, depth: int) -> JSONValue:
    if depth > _MAX_DEPTH:
        return "…"
    if isinstance(value, enum.Enum):  # first: IntEnum and StrEnum members are ints and strs
        return value.name
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    shown = getattr(value, "__json__", None)
    if callable(shown) and not isinstance(value, type):  # the value's own view for dumps
        return _convert(shown(), depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: MASK if is_secret_name(f.name) else _convert(getattr(value, f.name), depth + 1)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {
            str(k): MASK if is_secret_name(str(k)) else _convert(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, tuple | list):
        return [_convert(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        items = [_convert(item, depth + 1) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return str(value)
