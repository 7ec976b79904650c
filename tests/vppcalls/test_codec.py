"""The codec: frames, packing and unpacking by name, message tables, decoded values."""

from __future__ import annotations

import asyncio

import pytest

from contivpy.vppcalls.codec import (
    FRAME_HEADER_SIZE,
    SOCKCLNT_CREATE_ID,
    SOCKCLNT_CREATE_REPLY_ID,
    ApiDefinitions,
    MessageTable,
    frame,
    payload_length,
    read_frame,
)
from contivpy.vppcalls.errors import VppEncodeError, VppProtocolError


def test_frame_header_is_16_bytes_big_endian_with_the_length() -> None:
    framed = frame(b"\x00\x0fabc")
    assert len(framed) == FRAME_HEADER_SIZE + 5
    assert framed[:16] == bytes(8) + (5).to_bytes(4, "big") + bytes(4)
    assert payload_length(framed[:16]) == 5


def test_an_absurd_frame_length_is_a_protocol_error() -> None:
    with pytest.raises(VppProtocolError):
        payload_length(bytes(8) + (1 << 31).to_bytes(4, "big") + bytes(4))


async def test_read_frame_reads_one_payload_at_a_time() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(frame(b"one") + frame(b"second"))
    reader.feed_eof()
    assert await read_frame(reader) == b"one"
    assert await read_frame(reader) == b"second"
    with pytest.raises(asyncio.IncompleteReadError):
        await read_frame(reader)


def test_assigned_table_puts_the_handshake_at_the_ids_vpp_papi_expects() -> None:
    table = MessageTable.assign(ApiDefinitions.bundled(), plugin_base=100)
    assert table.id_of("sockclnt_create") == SOCKCLNT_CREATE_ID
    assert table.id_of("sockclnt_create_reply") == SOCKCLNT_CREATE_REPLY_ID
    shifted = MessageTable.assign(ApiDefinitions.bundled(), plugin_base=0)
    assert table.id_of("tap_create_v3") == shifted.id_of("tap_create_v3") + 100


def test_a_message_round_trips_with_defaults_filled_in() -> None:
    table = MessageTable.assign(ApiDefinitions.bundled())
    payload = table.encode("tap_create_v3", {"context": 7, "host_namespace_set": True})
    msg = table.decode(payload)
    assert msg.name == "tap_create_v3"
    assert msg.context == 7
    assert msg.get_int("id") == 0xFFFFFFFF  # the definition's default
    assert msg.get_bool("use_random_mac") is True
    assert msg.get_int("rx_ring_sz") == 256
    assert msg.get_struct("host_ip4_prefix").get_bytes("address") == bytes(4)
    assert "_vl_msg_id" not in msg


def test_a_table_only_knows_messages_whose_crc_matches() -> None:
    definitions = ApiDefinitions.bundled()
    ids = {definitions.message("control_ping").name_crc: 10, "tap_create_v3_deadbeef": 11}
    table = MessageTable(definitions, ids)
    assert table.has("control_ping")
    assert not table.has("tap_create_v3")


def test_unknown_fields_and_values_that_do_not_fit_are_refused() -> None:
    table = MessageTable.assign(ApiDefinitions.bundled())
    with pytest.raises(VppEncodeError, match="no field"):
        table.encode("sw_interface_set_flags", {"sw_if_index": 1, "flagz": 1})
    with pytest.raises(VppEncodeError):
        table.encode("sw_interface_tag_add_del", {"tag": "x" * 64})


def test_decoding_an_unknown_id_or_a_short_payload_is_a_protocol_error() -> None:
    table = MessageTable.assign(ApiDefinitions.bundled())
    with pytest.raises(VppProtocolError):
        table.decode(b"\xff\xff" + bytes(10))
    with pytest.raises(VppProtocolError):
        table.decode(b"\x01")


def test_typed_getters_refuse_the_wrong_type() -> None:
    table = MessageTable.assign(ApiDefinitions.bundled())
    msg = table.decode(
        table.encode("sw_interface_details", {"interface_name": "x", "mtu": [0] * 4})
    )
    assert msg.get_str("interface_name") == "x"
    assert msg.get_ints("mtu") == [0, 0, 0, 0]
    with pytest.raises(TypeError):
        msg.get_str("sw_if_index")
    assert msg.to_fields()["interface_name"] == "x"
