"""The plugin's own HPACK decoder and encoder against RFC 7541's examples (Appendix C)."""

from __future__ import annotations

import hpack
import pytest

from contivpy.cni.hpack_codec import Decoder, HpackError, encode_headers
from contivpy.cni.hpack_huffman import huffman_decode

REQUEST_1 = [
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
]
REQUEST_2 = [*REQUEST_1, ("cache-control", "no-cache")]
REQUEST_3 = [
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
]
# C.3 (plain literals) and C.4 (the same requests Huffman-coded), one connection each.
REQUESTS = {
    "C.3": [
        "828684410f7777772e6578616d706c652e636f6d",
        "828684be58086e6f2d6361636865",
        "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    ],
    "C.4": [
        "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        "828684be5886a8eb10649cbf",
        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    ],
}
DATE_1, DATE_2 = "Mon, 21 Oct 2013 20:13:21 GMT", "Mon, 21 Oct 2013 20:13:22 GMT"
LOCATION = ("location", "https://www.example.com")
COOKIE = ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")
RESPONSE_1 = [(":status", "302"), ("cache-control", "private"), ("date", DATE_1), LOCATION]
RESPONSE_2 = [(":status", "307"), ("cache-control", "private"), ("date", DATE_1), LOCATION]
RESPONSE_3 = [
    (":status", "200"),
    ("cache-control", "private"),
    ("date", DATE_2),
    LOCATION,
    ("content-encoding", "gzip"),
    COOKIE,
]
# C.5 (plain) and C.6 (Huffman): a 256-octet table, so entries get evicted.
RESPONSES = {
    "C.5": [
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a32312047"
        "4d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        "4803333037c1c0bf",
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a6970773866"
        "6f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630"
        "303b2076657273696f6e3d31",
    ],
    "C.6": [
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863"
        "c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b3"
        "35dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    ],
}


@pytest.mark.parametrize("example", ["C.3", "C.4"])
def test_rfc_requests_and_the_dynamic_table(example: str) -> None:
    decoder = Decoder()
    blocks = [bytes.fromhex(h) for h in REQUESTS[example]]
    assert decoder.decode(blocks[0]) == REQUEST_1
    assert (decoder.table, decoder.table_size) == ([(":authority", "www.example.com")], 57)
    assert decoder.decode(blocks[1]) == REQUEST_2
    assert decoder.table_size == 110
    assert decoder.decode(blocks[2]) == REQUEST_3
    assert decoder.table == [
        ("custom-key", "custom-value"),
        ("cache-control", "no-cache"),
        (":authority", "www.example.com"),
    ]
    assert decoder.table_size == 164


@pytest.mark.parametrize("example", ["C.5", "C.6"])
def test_rfc_responses_evict_from_a_small_table(example: str) -> None:
    decoder = Decoder(max_table_size=256)
    blocks = [bytes.fromhex(h) for h in RESPONSES[example]]
    assert decoder.decode(blocks[0]) == RESPONSE_1
    assert decoder.table == [
        LOCATION,
        ("date", DATE_1),
        ("cache-control", "private"),
        RESPONSE_1[0],
    ]
    assert decoder.table_size == 222
    assert decoder.decode(blocks[1]) == RESPONSE_2  # ":status: 302" is evicted
    assert decoder.table == [(":status", "307"), LOCATION, ("date", DATE_1), RESPONSE_1[1]]
    assert decoder.decode(blocks[2]) == RESPONSE_3
    assert decoder.table == [COOKIE, ("content-encoding", "gzip"), ("date", DATE_2)]
    assert decoder.table_size == 215


def test_rfc_literal_forms() -> None:
    """C.2: with indexing, without indexing, never indexed, indexed."""
    decoder = Decoder()
    with_indexing = "400a637573746f6d2d6b65790d637573746f6d2d686561646572"
    assert decoder.decode(bytes.fromhex(with_indexing)) == [("custom-key", "custom-header")]
    assert decoder.table_size == 55
    fresh = Decoder()
    assert fresh.decode(bytes.fromhex("040c2f73616d706c652f70617468")) == [
        (":path", "/sample/path")
    ]
    assert fresh.decode(bytes.fromhex("100870617373776f726406736563726574")) == [
        ("password", "secret")
    ]
    assert fresh.decode(b"\x82") == [(":method", "GET")]
    assert fresh.table == []


def test_integers_past_their_prefix_and_table_size_updates() -> None:
    """C.1's 1337 on a 5-bit prefix, as a size update; a size update empties the table."""
    decoder = Decoder(max_table_size=4096)
    decoder.decode(bytes.fromhex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"))
    assert decoder.decode(bytes((0x20 | 31, 0x9A, 0x0A))) == []  # 1337: the table shrinks
    assert decoder.table_size == 55
    assert decoder.decode(b"\x20") == []  # size 0: everything evicted
    assert decoder.table == []
    with pytest.raises(HpackError, match="above"):
        decoder.decode(bytes((0x3F, 0xE2, 0x1F)))  # 4096 + 1: more than SETTINGS allowed
    with pytest.raises(HpackError, match="after a header field"):
        decoder.decode(b"\x82\x20")


def test_bad_blocks_are_errors() -> None:
    for block in (b"\x80", b"\xbe", b"\x41", b"\x41\x85abc", b"\x3f\xff\xff\xff\xff\xff\xff"):
        with pytest.raises(HpackError):
            Decoder().decode(block)


def test_huffman_matches_the_code_of_every_byte() -> None:
    """Every byte value, Huffman-coded by the `hpack` package, decodes to itself."""
    encoder, decoder = hpack.Encoder(), Decoder()  # one connection: the tables stay in step
    for value in range(256):
        data = bytes((value,)) * 3
        block = encoder.encode([(b"x", data)], huffman=True)
        assert decoder.decode(block) == [("x", data.decode("latin-1"))], value
    text = bytes(range(256))
    coded = hpack.Encoder().encode([(b"x", text)], huffman=True)
    assert Decoder().decode(coded)[0][1].encode("latin-1") == text


def test_huffman_padding_and_eos_are_checked() -> None:
    assert huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    with pytest.raises(HpackError, match="padding"):
        huffman_decode(b"\xff\xff")  # 16 bits of ones: more than 7 bits of padding
    with pytest.raises(HpackError, match="padding"):
        huffman_decode(b"\x00")  # '0' (00000) then 000: padding that is not all ones
    with pytest.raises(HpackError, match="EOS"):
        huffman_decode(b"\xff\xff\xff\xff")  # EOS (30 ones) inside the string


def test_encoded_request_headers_decode_as_sent() -> None:
    headers = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/contivpy.cni.v1.RemoteCNI/Add"),
        (":authority", "localhost"),
        ("te", "trailers"),
        ("content-type", "application/grpc"),
        ("x-long", "v" * 300),  # a length past the 7-bit prefix
    ]
    block = encode_headers(headers)
    assert Decoder().decode(block) == headers
    assert hpack.Decoder().decode(block) == headers  # and so does an independent decoder
