"""A decoded VPP message, with typed getters for its fields.

In: field values as the codec decodes them. Out: :class:`Message`, so that code outside the
codec reads ``msg.get_int("sw_if_index")`` with types checked, never an untyped namedtuple.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeAlias, TypeVar, overload

_T = TypeVar("_T")

WireValue: TypeAlias = "int | float | str | bytes | Message | list[WireValue]"


class Message(Mapping[str, WireValue]):
    """A decoded message (or a struct inside one): its name and field values.

    Integers and enums are ``int``, booleans ``bool``, fixed byte arrays (addresses, MACs)
    ``bytes``, strings ``str``, nested types and unions :class:`Message`, arrays ``list``.
    """

    __slots__ = ("_fields", "name")

    def __init__(self, name: str, fields: Mapping[str, WireValue]) -> None:
        self.name = name
        self._fields = dict(fields)

    def __getitem__(self, key: str) -> WireValue:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    # Mapping's own get and __contains__ go through __getitem__ and catch KeyError: slow for
    # absent fields, and replies are probed for optional ones on every call.
    def __contains__(self, key: object) -> bool:
        return key in self._fields

    @overload
    def get(self, key: str, /) -> WireValue | None: ...
    @overload
    def get(self, key: str, default: WireValue, /) -> WireValue: ...
    @overload
    def get(self, key: str, default: _T, /) -> WireValue | _T: ...
    def get(self, key: str, default: object = None) -> object:
        return self._fields.get(key, default)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.name == other.name and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items() if k != "_vl_msg_id")
        return f"{self.name}({inner})"

    def _typed(self, key: str, kind: type[_T]) -> _T:
        value = self._fields[key]
        if not isinstance(value, kind):
            raise TypeError(f"{self.name}.{key} is {type(value).__name__}, not {kind.__name__}")
        return value

    def get_int(self, key: str) -> int:
        """An integer or enum field."""
        return int(self._typed(key, int))

    def get_bool(self, key: str) -> bool:
        """A boolean field."""
        return bool(self._typed(key, int))

    def get_str(self, key: str) -> str:
        """A string field (fixed or variable length), without trailing NULs."""
        return self._typed(key, str)

    def get_bytes(self, key: str) -> bytes:
        """A byte-array field (address, MAC, opaque data)."""
        return self._typed(key, bytes)

    def get_struct(self, key: str) -> Message:
        """A nested type or union."""
        return self._typed(key, Message)

    def get_structs(self, key: str) -> list[Message]:
        """An array of nested types."""
        values: list[WireValue] = self._typed(key, list)
        out = [v for v in values if isinstance(v, Message)]
        if len(out) != len(values):
            raise TypeError(f"{self.name}.{key} is not an array of structs")
        return out

    def get_ints(self, key: str) -> list[int]:
        """An array of integers."""
        values: list[WireValue] = self._typed(key, list)
        return [int(v) for v in values if isinstance(v, int)]

    @property
    def context(self) -> int | None:
        """The request context this message answers, or None for an event."""
        value = self._fields.get("context")
        return value if isinstance(value, int) else None

    @property
    def retval(self) -> int | None:
        """The reply's return code (``retval``, or ``response`` in memclnt replies)."""
        for key in ("retval", "response"):
            value = self._fields.get(key)
            if isinstance(value, int):
                return value
        return None

    def to_fields(self) -> dict[str, object]:
        """Plain dicts and lists again, as :meth:`ApiDefinitions.encode` takes them."""
        return {k: plain_value(v) for k, v in self._fields.items() if k != "_vl_msg_id"}


def plain_value(value: object) -> object:
    """A value with every Message turned back into a plain dict (for packing)."""
    if isinstance(value, Message):
        return value.to_fields()
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    return value
