"""Values as JSON, text tables, and request decoding that names bad fields (no server)."""

from __future__ import annotations

import enum
import ipaddress
import json
from dataclasses import dataclass, field

import pytest
from grpclib import GRPCError, Status

import contivpy._gen.contivpy.agent.v1 as pb
from contivpy.api.ctl_views import events_text
from contivpy.api.rendering import MASK, is_secret_name, render_json, to_jsonable
from contivpy.api.request_codec import RequestCodec, wire_problem
from contivpy.api.tables import format_duration, format_time, render_fields, render_table


class Colour(enum.Enum):
    RED = "r"


class Level(enum.IntEnum):
    HIGH = 3


@dataclass(frozen=True, slots=True)
class Inner:
    key_material: bytes = b"\x01\x02"
    colour: Colour = Colour.RED


@dataclass(frozen=True)
class Outer:
    name: str
    raw: bytes
    level: Level
    inner: Inner
    pairs: tuple[tuple[str, int], ...]
    tags: frozenset[str]
    extra: dict[object, object] = field(default_factory=dict)
    ip: ipaddress.IPv4Interface = field(
        default_factory=lambda: ipaddress.IPv4Interface("10.1.2.3/24")
    )
    Password: str = "p"
    ipsec_secret_key: str = "s"
    ratio: float = float("inf")
    nothing: None = None


def test_values_render_as_plain_json() -> None:
    value = Outer(
        name="x",
        raw=b"\xde\xad",
        level=Level.HIGH,
        inner=Inner(),
        pairs=(("a", 1),),
        tags=frozenset({"b", "a"}),
        extra={"password": "p", "n": 1, 2: "two"},
    )
    assert to_jsonable(value) == {
        "name": "x",
        "raw": "dead",
        "level": "HIGH",
        "inner": {"key_material": MASK, "colour": "RED"},
        "pairs": [["a", 1]],
        "tags": ["a", "b"],
        "extra": {"password": MASK, "n": 1, "2": "two"},
        "ip": "10.1.2.3/24",
        "Password": MASK,
        "ipsec_secret_key": MASK,
        "ratio": "inf",
        "nothing": None,
    }
    text = render_json(value)
    assert "\n" not in text
    assert json.loads(text) == to_jsonable(value)


def test_scalars_and_none() -> None:
    assert render_json(None) == "null"
    assert render_json(True) == "true"
    assert render_json("x") == '"x"'
    assert render_json(Colour.RED) == '"RED"'


def test_secret_names() -> None:
    assert is_secret_name("memif_SECRET")
    assert is_secret_name("key_material")
    assert is_secret_name("password_hash")
    assert not is_secret_name("key")  # keys are everywhere; only key material is secret
    assert not is_secret_name("name")


def test_deep_values_are_cut_not_crashing() -> None:
    deep: object = "bottom"
    for _ in range(100):
        deep = (deep,)
    assert "…" in render_json(deep)


def test_table_aligns_cuts_and_marks_empty_cells() -> None:
    text = render_table(["A", "LONGER"], [("x", "y" * 100), ("wide cell", ""), ("a\nb", None)])
    lines = text.splitlines()
    assert lines[0] == "A          LONGER"
    assert lines[1] == "x          " + "y" * 59 + "…"
    assert lines[2] == "wide cell  -"
    assert lines[3] == "a b        -"
    assert all(line == line.rstrip() for line in lines)
    assert render_table(["A"], [("z" * 100,)], max_width=0).splitlines()[1] == "z" * 100


def test_fields_and_formats() -> None:
    assert render_fields([("a", 1), ("long name", "x")]) == "a          1\nlong name  x"
    assert format_time(0) == "-"
    assert format_time(1.9996) == "1970-01-01 00:00:02.000Z"
    assert format_duration(0.0005) == "500µs"
    assert format_duration(0.0123) == "12.3ms"
    assert format_duration(4.561) == "4.56s"
    assert format_duration(185) == "3m05s"
    assert format_duration(7620) == "2h07m"
    assert format_duration(273600) == "3d04h"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x12\x02\xff\xfe", "key_prefix: not valid UTF-8"),
        (b"\x0a\x01x", "view: got a length-delimited value, but the field is enum (varint)"),
        (b"\x15\x00\x00\x00\x00", "key_prefix: got a 32-bit value, but the field is string"),
        (b"\x08", "request: truncated or malformed message"),
        (b"\x12\x05ab", "request: truncated or malformed message"),
        (b"\x0b", "request: unsupported wire type 3 (field number 1)"),
    ],
)
def test_wire_problems_name_the_field(data: bytes, problem: str) -> None:
    found = wire_problem(data, pb.DumpRequest)
    assert found is not None
    assert found.startswith(problem)
    with pytest.raises(GRPCError) as raised:
        RequestCodec().decode(data, pb.DumpRequest)
    assert raised.value.status is Status.INVALID_ARGUMENT


def test_well_formed_and_unknown_fields_pass() -> None:
    request = pb.DumpRequest(view=pb.View.APPLIED, key_prefix="t/")
    data = bytes(request) + b"\x98\x06\x01"  # plus unknown field 99 (varint)
    assert wire_problem(data, pb.DumpRequest) is None
    decoded = RequestCodec().decode(data, pb.DumpRequest)
    assert (decoded.view, decoded.key_prefix) == (pb.View.APPLIED, "t/")
    strings = bytes(pb.EventRecord(handlers=["a", "b"], seq=3))  # repeated, one by one
    assert wire_problem(strings, pb.EventRecord) is None


def test_the_events_table_shows_what_each_event_changed() -> None:
    refused = "services: refused: Service default/web spec.ports[0].port: 0 is out of range"
    record = pb.EventRecord(seq=7, name="KubeStateChange", changes=["ipnet: x", refused])
    header, row = events_text([record], width=0).splitlines()
    assert "CHANGES" in header.split()
    assert f"ipnet: x; {refused}" in row
