"""Label and field selectors, parsed from query strings and matched against JSON objects.

In: the ``labelSelector`` and ``fieldSelector`` query values (Kubernetes syntax) and, for field
selectors, the field labels a resource supports. Out: predicates over objects. Parse errors and
unsupported field labels are 400 BadRequest, as on the real API server.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``,
joined by commas (AND). Field selectors: ``path=v``, ``path==v``, ``path!=v`` joined by commas.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from contivpy.sim.kube.errors import bad_request
from contivpy.sim.kube.objects import JsonObject, field_text, labels_of, read_path

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET_REQUIREMENT = re.compile(
    rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$"
)
_EQUALITY_REQUIREMENT = re.compile(
    rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})\s*$"
)
_EXISTS_REQUIREMENT = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")


@dataclass(frozen=True, slots=True)
class LabelRequirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.operator:
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case "exists":
                return present
            case _:
                return not present


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[LabelRequirement, ...] = ()

    def matches(self, obj: JsonObject) -> bool:
        labels = labels_of(obj)
        return all(r.matches(labels) for r in self.requirements)


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside the parentheses of a set requirement."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> LabelSelector:
    if not text:
        return LabelSelector()
    requirements: list[LabelRequirement] = []
    for part in _split_top_level(text):
        if found := _SET_REQUIREMENT.match(part):
            values = frozenset(v.strip() for v in found["values"].split(",") if v.strip())
            requirements.append(LabelRequirement(found["key"], found["op"], values))
        elif found := _EQUALITY_REQUIREMENT.match(part):
            operator = "!=" if found["op"] == "!=" else "="
            requirements.append(
                LabelRequirement(found["key"], operator, frozenset({found["value"]}))
            )
        elif found := _EXISTS_REQUIREMENT.match(part):
            operator = "!exists" if found["neg"] else "exists"
            requirements.append(LabelRequirement(found["key"], operator))
        else:
            raise bad_request(f'unable to parse requirement: invalid label selector "{text}"')
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: str
    value: str
    negated: bool

    def matches(self, obj: JsonObject) -> bool:
        equal = field_text(read_path(obj, self.path)) == self.value
        return equal != self.negated


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: JsonObject) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def with_name(self, name: str) -> FieldSelector:
        """This selector narrowed to one object (a watch on .../pods/<name>)."""
        return FieldSelector((*self.requirements, FieldRequirement("metadata.name", name, False)))


def parse_field_selector(
    text: str | None, supported: Collection[str], aliases: Mapping[str, str] | None = None
) -> FieldSelector:
    """``aliases`` maps a label of the requested version to the stored object's field."""
    if not text:
        return FieldSelector()
    requirements: list[FieldRequirement] = []
    for part in text.split(","):
        if not part.strip():
            continue
        for operator in ("!=", "==", "="):
            path, found, value = part.partition(operator)
            if found:
                break
        else:
            raise bad_request(f'invalid selector: "{text}"; can\'t understand "{part}"')
        path = path.strip()
        if path not in supported:
            raise bad_request(f"field label not supported: {path}")
        path = (aliases or {}).get(path, path)
        requirements.append(FieldRequirement(path, value.strip(), operator == "!="))
    return FieldSelector(tuple(requirements))
