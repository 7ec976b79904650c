"""Custom resources checked against their CRD's openAPIV3Schema, as the real API server does.

In: a custom resource and the structural schema of its version. Out: the object with unknown
fields pruned and schema defaults filled in, plus the validation causes (empty when valid).

Supported keywords: type (object, array, string, integer, number, boolean), properties,
required, items, additionalProperties (schema or boolean), enum, pattern, minimum, maximum,
minLength, maxLength, minItems, maxItems, nullable, default, x-kubernetes-preserve-unknown-fields
and x-kubernetes-int-or-string. Formats, CEL rules, oneOf/anyOf/allOf are not checked.
apiVersion, kind and metadata are always kept; the API server validates metadata itself.

Built-in kinds (``builtin_schemas``) get ``check_builtin``: types and required fields, nothing
pruned. ``unknown_fields`` lists the fields a schema does not declare, for
``fieldValidation=Strict`` (what kubectl asks for), for both.

``pattern`` is matched as the API server matches it (Go's regexp): unanchored (it must match
somewhere; a schema anchors it with ``^...$``), and ``$`` (without the ``(?m)`` flag) is the
end of the text — Python's ``$`` also matches before a final newline, so it is read as ``\\Z``.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from contivpy.sim.kube.builtin_schemas import OBJECT_META
from contivpy.sim.kube.errors import cause, invalid_value, required, unsupported_value
from contivpy.sim.kube.objects import JsonObject

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
_MULTILINE = re.compile(r"\(\?[imsU]*m")  # a pattern turning on Go's (?m) flag


def _type_ok(value: Any, schema: JsonObject) -> bool:
    expected = schema.get("type")
    if value is None:
        return bool(schema.get("nullable"))
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    match expected:
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "string":
            return isinstance(value, str)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
    return True  # no type: anything (only with preserve-unknown-fields in structural schemas)


def check(obj: JsonObject, schema: JsonObject) -> tuple[JsonObject, list[JsonObject]]:
    """Prune, default and validate a whole custom resource."""
    causes: list[JsonObject] = []
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    root_schema = {**schema, "type": "object"}
    cleaned = _walk(body, root_schema, "", causes)
    result = {k: obj[k] for k in _ROOT_FIELDS if k in obj}
    if isinstance(cleaned, dict):
        result.update(cleaned)
    return result, causes


def _walk(value: Any, schema: JsonObject, path: str, causes: list[JsonObject]) -> Any:
    here = path or "<root>"
    if not _type_ok(value, schema):
        causes.append(invalid_value(here, value, f"must be of type {schema.get('type')}"))
        return value
    if value is None:
        return value
    if "enum" in schema and value not in schema["enum"]:
        causes.append(unsupported_value(here, value, [str(e) for e in schema["enum"]]))
    if isinstance(value, dict):
        return _walk_object(value, schema, path, causes)
    if isinstance(value, list):
        _check_bounds(len(value), schema, "minItems", "maxItems", here, causes, "items")
        items = schema.get("items")
        if isinstance(items, dict):
            return [_walk(v, items, f"{path}[{i}]", causes) for i, v in enumerate(value)]
        return value
    if isinstance(value, str):
        _check_bounds(len(value), schema, "minLength", "maxLength", here, causes, "characters")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _go_regexp(pattern).search(value):
            causes.append(invalid_value(here, value, f"should match '{pattern}'"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            causes.append(
                invalid_value(
                    here, value, f"should be greater than or equal to {schema['minimum']}"
                )
            )
        if "maximum" in schema and value > schema["maximum"]:
            causes.append(
                invalid_value(here, value, f"should be less than or equal to {schema['maximum']}")
            )
    return value


@functools.lru_cache(maxsize=256)
def _go_regexp(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled to match what Go's regexp matches (see the module doc): each
    ``$`` outside a character class becomes ``\\Z``, and so does Go's ``\\z``."""
    if _MULTILINE.search(pattern):
        return re.compile(pattern)  # ``$`` ends lines: as near to Go as Python gets
    translated: list[str] = []
    class_at = -1  # where the open character class's members start; -1: none open
    escaped = False
    for char in pattern:
        if escaped:
            translated.append("Z" if char == "z" and class_at < 0 else char)
            escaped = False
            continue
        escaped = char == "\\"
        if class_at >= 0:
            if char == "^" and len(translated) == class_at:
                class_at += 1  # a negated class: its members start after the caret
            elif char == "]" and len(translated) > class_at:
                class_at = -1  # a "]" first in the class is a member
        elif char == "[":
            class_at = len(translated) + 1
        elif char == "$":
            char = r"\Z"
        translated.append(char)
    return re.compile("".join(translated))


def _check_bounds(
    size: int,
    schema: JsonObject,
    low: str,
    high: str,
    here: str,
    causes: list[JsonObject],
    unit: str,
) -> None:
    if low in schema and size < schema[low]:
        causes.append(
            cause(here, "FieldValueInvalid", f"should have at least {schema[low]} {unit}")
        )
    if high in schema and size > schema[high]:
        causes.append(
            cause(here, "FieldValueTooLong", f"may not have more than {schema[high]} {unit}")
        )


def _walk_object(
    value: JsonObject, schema: JsonObject, path: str, causes: list[JsonObject]
) -> JsonObject:
    properties: JsonObject = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    result: JsonObject = {}
    for key, sub in properties.items():
        if key not in value and isinstance(sub, dict) and "default" in sub:
            value = {**value, key: copy.deepcopy(sub["default"])}
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in properties:
            result[key] = _walk(item, properties[key], child, causes)
        elif isinstance(additional, dict):
            result[key] = _walk(item, additional, child, causes)
        elif additional is True or preserve:
            result[key] = item
        # anything else is an unknown field: pruned, as the API server does
    for key in schema.get("required") or ():
        if key not in result:
            causes.append(required(f"{path}.{key}" if path else key))
    return result


def check_builtin(obj: JsonObject, schema: JsonObject) -> list[JsonObject]:
    """Types and required fields of a built-in object; nothing is pruned or defaulted.

    A null anywhere is accepted, as Go's JSON decoding reads it as the field's zero value."""
    return check(_without_nulls(obj), schema)[1]


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def unknown_fields(obj: JsonObject, schema: JsonObject, *, patch: bool = False) -> list[str]:
    """The paths of fields ``schema`` does not declare (``spec.containers[0].imagee``), as
    ``fieldValidation=Strict`` refuses them. ``patch``: ``obj`` is a merge patch, whose
    ``$``-directives (``$patch``, ``$setElementOrder/...``) are not fields."""
    root = {
        **schema,
        "type": "object",
        "properties": {
            **(schema.get("properties") or {}),
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": OBJECT_META,  # a CRD's schema says only "object"; the server knows more
        },
    }
    found: list[str] = []
    _unknown(obj, root, "", found, patch)
    return found


def _unknown(value: Any, schema: JsonObject, path: str, found: list[str], patch: bool) -> None:
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                _unknown(item, items, f"{path}[{index}]", found, patch)
        return
    if not isinstance(value, dict) or schema.get("type", "object") != "object":
        return  # not an object, or a type error reported by the other checks
    properties: JsonObject = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    open_ended = additional is True or bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if patch and key.startswith("$"):
            continue
        if key in properties:
            _unknown(item, properties[key], child, found, patch)
        elif isinstance(additional, dict):
            _unknown(item, additional, child, found, patch)
        elif not open_ended:
            found.append(child)
