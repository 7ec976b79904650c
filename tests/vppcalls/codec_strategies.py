"""Hypothesis strategies for the fields of VPP messages, read from the JSON definitions.

In: an ApiDefinitions' modules (their JSON text, read here independently of the codec's own
layouts). Out: :class:`Schema`, whose ``message(name)`` draws a fields dict for a message:

- valid: every integer type over its whole range, enums with and without a name, f64 with NaN
  and infinities, ASCII strings with NULs, byte arrays up to their size, every union arm,
  nested types, 0-3 elements in counted arrays with their count, any field left out (except
  fixed arrays, which vpp_papi wants);
- ``odd=True``: the same with exactly one value somewhere (at any depth) wrong or unusual for
  its type: just out of range, one character or byte too long, not ASCII, of another type, an
  address as text or an ``ipaddress`` object (which vpp_papi converts), a Message lacking
  fields, an array one element off, a count that does not match its array, an unknown or
  empty union arm. One only, because vpp_papi stops at the first bad field.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hypothesis import strategies as st

from contivpy.vppcalls.codec import ApiDefinitions
from contivpy.vppcalls.message import Message

INT_RANGES = {
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
    "i8": (-(2**7), 2**7 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
}
#: values of no particular type, wrong almost anywhere
ANY_ODD = st.sampled_from(
    [
        None,
        0,
        -1,
        True,
        "",
        b"",
        [],
        {},
        (),
        1.5,
        "x",
        "10.1.2.3",
        "fe80::1",
        "10.0.0.0/24",
        "02:fe:00:00:00:01",
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("fe80::1"),
        ipaddress.ip_network("2001:db8::/64"),
        ipaddress.ip_interface("10.0.0.1/24"),
        Message("vl_api_prefix_t", {"len": 3}),
    ]
)


class Schema:
    """The definitions' types as strategies of valid values, or of values with one odd part."""

    def __init__(self, definitions: ApiDefinitions) -> None:
        self.types: dict[str, tuple[str, Any]] = {}
        self.messages: dict[str, list[Any]] = {}
        for module in definitions.modules:
            parsed = json.loads(module.text)
            for kind in ("enums", "enumflags", "unions", "types"):
                for entry in parsed.get(kind, []):
                    self.types.setdefault(f"vl_api_{entry[0]}_t", (kind, entry[1:]))
            for name, alias in parsed.get("aliases", {}).items():
                self.types.setdefault(f"vl_api_{name}_t", ("aliases", alias))
            for message in parsed.get("messages", []):
                self.messages[message[0]] = message[1:]

    def message(self, name: str, *, odd: bool = False) -> st.SearchStrategy[dict[str, object]]:
        return self._struct(self.messages[name], odd)

    def value(self, type_name: str, odd: bool) -> st.SearchStrategy[Any]:
        """A value of a named type (base, enum, union, struct or alias)."""
        if type_name in INT_RANGES:
            if odd:
                return _odd_int(type_name)
            return st.integers(*INT_RANGES[type_name])
        if type_name == "bool":
            return st.integers() | st.text(max_size=2) | ANY_ODD if odd else st.booleans()
        if type_name == "f64":
            return st.integers(-(2**70), 2**70) | st.text() | ANY_ODD if odd else st.floats()
        kind, definition = self.types[type_name]
        if kind in ("enums", "enumflags"):
            enumtype = next((e["enumtype"] for e in definition if isinstance(e, dict)), "u32")
            if odd:
                return _odd_int(enumtype)
            named = [e[1] for e in definition if isinstance(e, list)]
            return st.sampled_from(named) | st.integers(*INT_RANGES[enumtype])
        if kind == "unions":
            return self._union(type_name, [a for a in definition if isinstance(a, list)], odd)
        if kind == "types":
            if not odd:
                return self._struct(definition, odd=False)
            return st.one_of(
                self._struct(definition, odd=True),
                self._struct(definition, odd=False).map(lambda f: Message(type_name, f)),
                self._struct(definition, odd=False).map(list),
                ANY_ODD,
            )
        if "length" in definition:
            return self._bytes(definition["length"], odd)
        return self.value(definition["type"], odd)

    def _union(self, type_name: str, arms: list[Any], odd: bool) -> st.SearchStrategy[Any]:
        def one_arm(arm_odd: bool) -> st.SearchStrategy[Any]:
            return st.one_of(
                *(st.fixed_dictionaries({a[1]: self.value(a[0], arm_odd)}) for a in arms)
            )

        if not odd:
            return one_arm(False)
        return st.one_of(
            one_arm(True),
            st.fixed_dictionaries({"bogus": st.integers()}),
            st.sampled_from([{a[1]: None} for a in arms]),
            st.tuples(one_arm(False), one_arm(False)).map(lambda two: {**two[0], **two[1]}),
            one_arm(False).map(lambda arm: Message(type_name, arm)),
            ANY_ODD,
        )

    def _bytes(self, size: int, odd: bool) -> st.SearchStrategy[Any]:
        if not odd:
            return st.binary(max_size=size)
        return st.one_of(
            st.binary(min_size=size + 1, max_size=size + 1),
            st.binary(max_size=size).map(bytearray),
            st.lists(st.integers(0, 255), max_size=size),
            ANY_ODD,
        )

    def _string(self, max_size: int, odd: bool) -> st.SearchStrategy[Any]:
        ascii_chars = st.characters(max_codepoint=127)
        if not odd:
            return st.text(ascii_chars, max_size=max_size)
        return st.one_of(
            st.text(ascii_chars, min_size=max_size + 1, max_size=max_size + 1),
            st.text(st.characters(min_codepoint=128), min_size=1, max_size=2),
            st.binary(max_size=3),
            ANY_ODD,
        )

    def field(self, spec: list[Any], odd: bool) -> st.SearchStrategy[Any]:
        """A value of a field that is not a counted array."""
        field_type, _name, *shape = [x for x in spec if not isinstance(x, dict)]
        options = next((x for x in spec if isinstance(x, dict)), {})
        if not shape:
            return self.value(field_type, odd)
        if shape[0] == 0:  # string[0]
            limit = options.get("limit", 0)
            return self._string(limit - 1 if limit else 40, odd)
        if field_type == "u8":
            return self._bytes(shape[0], odd)
        if field_type == "string":
            return self._string(shape[0] - 1, odd)
        length = shape[0]
        valid = st.lists(self.value(field_type, False), min_size=length, max_size=length)
        if not odd:
            return valid
        return st.one_of(
            _with_one_odd(valid, self.value(field_type, True)),
            st.lists(self.value(field_type, False), min_size=length - 1, max_size=length + 1),
            valid.map(tuple),
            st.just([None] * length),
            ANY_ODD,
        )

    def _struct(self, definition: list[Any], odd: bool) -> st.SearchStrategy[dict[str, object]]:
        specs = [s for s in definition if isinstance(s, list) and s[1] != "_vl_msg_id"]
        return _struct_fields(self, specs, odd)


@st.composite
def _struct_fields(
    draw: st.DrawFn, schema: Schema, specs: list[list[Any]], odd: bool
) -> dict[str, object]:
    # With odd, one field (and only it) is drawn odd; chosen evenly (hypothesis's integers
    # prefer small values: the first fields would be odd much more often).
    chooser = draw(st.randoms(use_true_random=False)) if odd and specs else None
    odd_index = chooser.randrange(len(specs)) if chooser is not None else -1
    fields: dict[str, object] = {}
    for index, spec in enumerate(specs):
        shape = [x for x in spec[2:] if not isinstance(x, dict)]
        field_type, name, this_odd = spec[0], spec[1], index == odd_index
        if len(shape) == 2:  # a counted array, and its count
            count = draw(st.integers(1 if this_odd else 0, 3))
            if count or draw(st.booleans()):
                if field_type == "u8":
                    elements: Any = draw(st.binary(min_size=count, max_size=count))
                else:
                    valid = st.lists(
                        schema.value(field_type, False), min_size=count, max_size=count
                    )
                    odd_element = schema.value(field_type, True)
                    elements = draw(_with_one_odd(valid, odd_element) if this_odd else valid)
                fields[name], fields[shape[1]] = elements, count
                if this_odd:
                    changes = ["count", "count", "tuple", "bytearray", "elements"]
                    change = draw(st.sampled_from(changes))
                    if change == "count":
                        fields[shape[1]] = draw(st.sampled_from([count + 1, count - 1, None]))
                    elif change == "tuple":
                        fields[name] = tuple(elements)
                    elif change == "bytearray":
                        fields[name] = bytearray(elements) if field_type == "u8" else elements
            else:
                fields.pop(shape[1], None)
            continue
        fixed_array = len(shape) == 1 and shape[0] and field_type not in ("u8", "string")
        if fixed_array or this_odd or draw(st.booleans()):  # vpp_papi wants fixed arrays
            fields[name] = draw(schema.field(spec, this_odd))
    return fields


@st.composite
def _with_one_odd(draw: st.DrawFn, valid: st.SearchStrategy[list[Any]], odd: Any) -> list[Any]:
    """A valid list with one element replaced by an odd one (unchanged if empty)."""
    elements = draw(valid)
    if elements:
        elements[draw(st.integers(0, len(elements) - 1))] = draw(odd)
    return elements


def _odd_int(type_name: str) -> st.SearchStrategy[Any]:
    low, high = INT_RANGES[type_name]
    return st.one_of(
        st.sampled_from([low - 1, high + 1]),
        st.sampled_from([2**64, -(2**63) - 1]),
        st.floats(),
        st.text(max_size=3),
        ANY_ODD,
    )
