"""Typed reads of Kubernetes objects as the API server sends them (parsed JSON).

In: a JSON object (``dict``) and the path it was found at. Out: strings, integers, flags,
lists and maps read field by field, with Kubernetes' "absent or null means default" rule; a
value of the wrong type raises ``FieldProblem`` naming the field by its JSON path
(``spec.ports[0].port``) and saying what was expected. The converters build models with it,
so a malformed object fails with a message an operator can act on, never a ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from contivpy.models.proto_json import describe

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

E = TypeVar("E")


class FieldProblem(ValueError):
    """A field whose value cannot be used: ``path`` names it."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"field '{path}': {problem}")
        self.path = path
        self.problem = problem


class JsonReader:
    """Reads the fields of one JSON object located at ``path``."""

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise FieldProblem(path or "(object)", f"expected an object, got {describe(data)}")
        self._data: Mapping[str, Any] = data
        self.path = path

    def here(self, name: str) -> str:
        """The path of a field of this object."""
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str) -> object:
        """The field as parsed (None when absent)."""
        return self._data.get(name)

    def text(self, name: str, default: str = "") -> str:
        value = self._data.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise FieldProblem(self.here(name), f"expected a string, got {describe(value)}")
        return value

    def integer(
        self, name: str, default: int = 0, *, minimum: int = INT32_MIN, maximum: int = INT32_MAX
    ) -> int:
        value = self._data.get(name)
        if value is None:
            return default
        return _integer(value, self.here(name), minimum, maximum)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise FieldProblem(self.here(name), f"expected true or false, got {describe(value)}")
        return value

    def child(self, name: str) -> JsonReader | None:
        """The nested object, or None when absent."""
        value = self._data.get(name)
        return None if value is None else JsonReader(value, self.here(name))

    def child_or_empty(self, name: str) -> JsonReader:
        """The nested object, or an empty one when absent."""
        return self.child(name) or JsonReader({}, self.here(name))

    def children(self, name: str) -> list[JsonReader]:
        """A list of objects (empty when absent)."""
        return [JsonReader(item, path) for item, path in self._items(name)]

    def texts(self, name: str) -> list[str]:
        """A list of strings (empty when absent)."""
        texts: list[str] = []
        for item, path in self._items(name):
            if not isinstance(item, str):
                raise FieldProblem(path, f"expected a string, got {describe(item)}")
            texts.append(item)
        return texts

    def text_map(self, name: str) -> dict[str, str]:
        """A map of strings to strings (empty when absent)."""
        value = self._data.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise FieldProblem(self.here(name), f"expected an object, got {describe(value)}")
        result: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise FieldProblem(
                    f"{self.here(name)}[{key!r}]", f"expected a string, got {describe(item)}"
                )
            result[str(key)] = item
        return result

    def choice(self, name: str, choices: Mapping[str, E], default: str = "") -> E:
        """One of ``choices`` by its name; names are also matched lower-cased without
        underscores (the CRDs' enums are loose: ``L2``/``l2``, ``ExternalInterface``).
        Absent and no default: ``FieldProblem`` "missing"."""
        value = self.text(name, default)
        if not value:
            raise FieldProblem(self.here(name), "missing")
        lookup = value if value in choices else value.lower().replace("_", "")
        if lookup not in choices:
            raise FieldProblem(self.here(name), f"unknown value {value!r}")
        return choices[lookup]

    def int_or_string(self, name: str) -> int | str | None:
        """Kubernetes IntOrString: a number or a (port) name; None when absent."""
        value = self._data.get(name)
        if value is None or isinstance(value, str):
            return value
        return _integer(value, self.here(name), INT32_MIN, INT32_MAX, "an integer or a string")

    def _items(self, name: str) -> list[tuple[object, str]]:
        value = self._data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise FieldProblem(self.here(name), f"expected a list, got {describe(value)}")
        return [(item, f"{self.here(name)}[{index}]") for index, item in enumerate(value)]


def _integer(
    value: object, path: str, minimum: int, maximum: int, expected: str = "an integer"
) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldProblem(path, f"expected {expected}, got {describe(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldProblem(path, f"expected {expected}, got {describe(value)}")
        value = int(value)
    if not minimum <= value <= maximum:
        raise FieldProblem(path, f"{value} is out of range [{minimum}, {maximum}]")
    return value
