"""contivpy's own message definitions against VPP 26.06's facts.

The reference file lives outside the repository (shared/reference/vpp-api, or the path in
$CONTIVPY_VPP_API_REFERENCE); where it is not present the comparison is skipped, and the
self-consistency checks still run.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path

import pytest

from contivpy.vppcalls.codec import ApiDefinitions
from contivpy.vppcalls.connection import required_messages

REFERENCE = Path(
    os.environ.get("CONTIVPY_VPP_API_REFERENCE", "/work/shared/reference/vpp-api/vpp-26.06-api.txt")
)
MESSAGE_LINE = re.compile(r"^message (\w+) crc (0x[0-9a-f]+)(?: options (\{.*?\}))? \{ (.*) \}$")


def _reference_messages() -> dict[str, tuple[str, str]]:
    """name → (crc, field text) from the reference, for messages defined once or alike."""
    out: dict[str, tuple[str, str]] = {}
    for line in REFERENCE.read_text().splitlines():
        match = MESSAGE_LINE.match(line)
        if match:
            out[match.group(1)] = (match.group(2), match.group(4))
    return out


def _field_text(field: list[object]) -> str:
    """One field of our JSON written the way the reference writes it."""
    kind, name, *rest = field
    options = [r for r in rest if isinstance(r, dict)]
    sizes = [r for r in rest if not isinstance(r, dict)]
    text = f"{kind} {name}"
    if len(sizes) == 1:
        text += f"[{sizes[0]}]"
    elif len(sizes) == 2:
        text += f"[{sizes[1]}]"
    if options:
        text += " " + json.dumps(options[0])
    return text


def _own_files() -> list[tuple[str, dict[str, object]]]:
    folder = resources.files("contivpy.vppcalls").joinpath("definitions")
    return [
        (p.name, json.loads(p.read_text("utf-8")))
        for p in folder.iterdir()
        if p.name.endswith(".api.json")
    ]


@pytest.mark.skipif(not REFERENCE.exists(), reason="VPP 26.06 reference not on this machine")
def test_every_message_matches_vpp_26_06_name_crc_and_fields() -> None:
    reference = _reference_messages()
    checked = 0
    for filename, module in _own_files():
        messages = module["messages"]
        assert isinstance(messages, list)
        for entry in messages:
            name = entry[0]
            meta = entry[-1]
            assert name in reference, f"{filename}: {name} is not a VPP 26.06 message"
            crc, fields = reference[name]
            assert meta["crc"] == crc, f"{name}: CRC {meta['crc']} != VPP's {crc}"
            ours = "; ".join(_field_text(f) for f in entry[1:-1])
            assert ours == fields, f"{name}: fields differ"
            checked += 1
    assert checked > 90


@pytest.mark.skipif(not REFERENCE.exists(), reason="VPP 26.06 reference not on this machine")
def test_bundled_memclnt_matches_vpp_26_06() -> None:
    reference = _reference_messages()
    definitions = ApiDefinitions.memclnt()
    for name in definitions.names():
        assert definitions.message(name).crc == reference[name][0], name


#: deprecated in VPP 26.06 with no replacement: NAT44-ED forwarding can be set no other way
DEPRECATED_WITHOUT_SUCCESSOR = frozenset(
    {"nat44_forwarding_enable_disable", "nat44_forwarding_enable_disable_reply"}
)


def test_no_deprecated_message_is_used() -> None:
    for filename, module in _own_files():
        for entry in module["messages"]:  # type: ignore[attr-defined]
            if entry[0] in DEPRECATED_WITHOUT_SUCCESSOR:
                continue
            assert "deprecated" not in entry[-1]["options"], f"{filename}: {entry[0]}"


def test_every_required_message_is_defined_and_every_request_has_a_reply() -> None:
    definitions = ApiDefinitions.bundled()
    for name in required_messages():
        assert name in definitions
        service = definitions.service(name)
        if service is not None:
            assert service.reply in definitions, f"{name} answers with undefined {service.reply}"
            if service.details:
                assert service.details in definitions


def test_get_api_json_serves_the_original_text() -> None:
    definitions = ApiDefinitions.bundled()
    served = json.loads(definitions.api_json())
    names = {m[0] for module in served for m in module["messages"]}
    # vpp_papi rewrites the dicts it parses ("vl_api_…_t"); the served text must not show it.
    type_names = {t[0] for module in served for t in module["types"]}
    assert "tap_create_v3" in names
    assert "sockclnt_create" in names
    assert "address" in type_names
    assert not any(n.startswith("vl_api_") for n in type_names)
