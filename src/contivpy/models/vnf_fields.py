"""Reading one vpp-agent message from parsed JSON (or YAML), field by field, with proto3 JSON rules.

In: what ``json.loads`` (or a YAML loader) made of a value, the names of the message's fields
and the key it came from. Out: typed field values (``text``, ``flag``, ``uint``, ``enum``,
``texts``, ``child``, ``children``); the first problem raises ``VnfFieldError`` naming the
field by its path (``memif.ring_size``, ``interfaces[1].name``).

Rules (as vpp-agent's protojson reads them): a field may be spelled with its proto name
(``ip_addresses``) or its JSON name (``ipAddresses``), not both; a field the message does not
have is an error (a typo must not pass silently); ``null`` is the default; integers are JSON
numbers without a fraction or decimal strings, and fit uint32; enums are names or numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

UINT32_MAX = 2**32 - 1


class VnfFieldError(ValueError):
    """A field that does not fit its message: ``field`` names it (a path), ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field '{field}': {problem}" if field else problem)
        self.field = field
        self.problem = problem


def json_name(proto_name: str) -> str:
    """protoc's JSON name of a field: ``ip_addresses`` -> ``ipAddresses``."""
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def describe(value: object) -> str:
    """A short rendering of a value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Message:
    """One message's fields, read by proto name (see the module doc)."""

    def __init__(self, data: object, fields: Sequence[str], path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise VnfFieldError(path, f"expected an object, got {describe(data)}")
        by_spelling = {name: name for name in fields} | {json_name(n): n for n in fields}
        self._values: dict[str, Any] = {}
        self._path = path
        for spelled, value in data.items():
            name = by_spelling.get(spelled) if isinstance(spelled, str) else None
            if name is None:
                known = ", ".join(fields)
                raise VnfFieldError(self.here(str(spelled)), f"unknown field (known: {known})")
            if name in self._values:
                raise VnfFieldError(self.here(name), "given twice (proto and JSON name)")
            if value is not None:
                self._values[name] = value

    def here(self, name: str) -> str:
        """The path of field ``name`` of this message."""
        return f"{self._path}.{name}" if self._path else name

    def has(self, name: str) -> bool:
        """True when the field is set (to anything but null)."""
        return name in self._values

    def text(self, name: str) -> str:
        value = self._values.get(name, "")
        if not isinstance(value, str):
            raise VnfFieldError(self.here(name), f"expected a string, got {describe(value)}")
        return value

    def flag(self, name: str) -> bool:
        value = self._values.get(name, False)
        if not isinstance(value, bool):
            raise VnfFieldError(self.here(name), f"expected true or false, got {describe(value)}")
        return value

    def uint(self, name: str, maximum: int = UINT32_MAX) -> int:
        value = self._values.get(name, 0)
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        digits = isinstance(value, str) and value.strip().isdigit()  # proto3 JSON allows "5"
        if isinstance(value, bool) or not (integral or digits):
            raise VnfFieldError(self.here(name), f"expected an integer, got {describe(value)}")
        number = int(value)
        if not 0 <= number <= maximum:
            raise VnfFieldError(self.here(name), f"{number} is out of range 0..{maximum}")
        return number

    def enum(self, name: str, names: Sequence[str]) -> str:
        """The enum's name; ``names`` are its values in number order (0 first)."""
        value = self._values.get(name, names[0])
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return names[value]
        if isinstance(value, str) and value in names:
            return value
        raise VnfFieldError(
            self.here(name), f"unknown value {describe(value)} (one of {', '.join(names)})"
        )

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._values.get(name, [])
        if not isinstance(value, list):
            raise VnfFieldError(self.here(name), f"expected a list, got {describe(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise VnfFieldError(
                    f"{self.here(name)}[{index}]", f"expected a string, got {describe(item)}"
                )
        return tuple(value)

    def child(self, name: str, fields: Sequence[str]) -> Message | None:
        """The sub-message, or None when absent."""
        if name not in self._values:
            return None
        return Message(self._values[name], fields, self.here(name))

    def children(self, name: str, fields: Sequence[str]) -> list[Message]:
        value = self._values.get(name, [])
        if not isinstance(value, list):
            raise VnfFieldError(self.here(name), f"expected a list, got {describe(value)}")
        return [Message(item, fields, f"{self.here(name)}[{i}]") for i, item in enumerate(value)]

    def unsupported(self, *names: str) -> None:
        """Refuse fields of vpp-agent's model that contivpy does not apply, when set to
        anything but their default (the value would be silently ignored otherwise)."""
        for name in names:
            value = self._values.get(name)
            if value not in (None, False, 0, "", [], {}, "0"):
                raise VnfFieldError(self.here(name), "not supported by contivpy")

    def problem(self, name: str, problem: str) -> VnfFieldError:
        """An error about field ``name`` of this message."""
        return VnfFieldError(self.here(name), problem)
