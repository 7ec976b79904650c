"""HPACK (RFC 7541) for one HTTP/2 client connection: a full decoder, a small encoder.

In: header blocks from the peer (the bytes of HEADERS + CONTINUATION frames). Out: their
(name, value) lists, or HpackError. The decoder does everything a peer may send: indexed
fields, literals with, without and never indexing, dynamic table size updates, integers of
any prefix and Huffman-coded strings (:mod:`contivpy.cni.hpack_huffman`). Names and values
come out as latin-1 text, which maps each byte to one character and so loses nothing.

In: request headers. Out: their header block. The encoder never touches the peer's dynamic
table: a field in the static table goes as its index, any other as a literal without
indexing (with the static table's index for its name where there is one), not Huffman-coded.
That is valid HPACK and a few bytes larger than it could be, for a handful of headers.

Written for the CNI plugin, which the kubelet execs per pod: the `hpack` package would cost
~20 ms of imports (its `logging` import among them) for what is a few hundred lines here.
"""

from __future__ import annotations

from contivpy.cni.hpack_huffman import HpackError, huffman_decode

__all__ = ["Decoder", "HpackError", "encode_headers"]

# Appendix A: index 1..61.
STATIC_TABLE: tuple[tuple[str, str], ...] = (
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
)
DEFAULT_TABLE_SIZE = 4096
_ENTRY_OVERHEAD = 32  # section 4.1: an entry's size is name + value + 32 octets
_MAX_INTEGER_BITS = 32  # no field we accept needs more; bounds a hostile continuation


class Decoder:
    """The decoding context of one connection: the dynamic table lives across blocks.

    ``max_table_size`` is what this side announced as SETTINGS_HEADER_TABLE_SIZE: the peer
    may shrink the table below it (size updates) but never grow it past it.
    """

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self._limit = max_table_size
        self._capacity = max_table_size
        self._entries: list[tuple[str, str]] = []  # newest first: dynamic index 62 is [0]
        self._size = 0

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        """The header list of one complete header block."""
        headers: list[tuple[str, str]] = []
        position = 0
        while position < len(block):
            byte = block[position]
            if byte & 0x80:  # 6.1 indexed header field
                index, position = _integer(block, position, 7)
                headers.append(self._field(index))
            elif byte & 0x40:  # 6.2.1 literal with incremental indexing
                name, value, position = self._literal(block, position, 6)
                self._add(name, value)
                headers.append((name, value))
            elif byte & 0x20:  # 6.3 dynamic table size update
                if headers:
                    raise HpackError("table size update after a header field")
                size, position = _integer(block, position, 5)
                if size > self._limit:
                    raise HpackError(f"table size update to {size} above {self._limit}")
                self._capacity = size
                self._evict(0)
            else:  # 6.2.2 without indexing (0000), 6.2.3 never indexed (0001)
                name, value, position = self._literal(block, position, 4)
                headers.append((name, value))
        return headers

    @property
    def table(self) -> list[tuple[str, str]]:
        """The dynamic table, newest entry first (for tests and errors)."""
        return list(self._entries)

    @property
    def table_size(self) -> int:
        """The dynamic table's size as RFC 7541 section 4.1 counts it."""
        return self._size

    def _field(self, index: int) -> tuple[str, str]:
        if 1 <= index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        dynamic = index - len(STATIC_TABLE) - 1
        if index == 0 or dynamic >= len(self._entries):
            raise HpackError(f"header index {index} is not in the tables")
        return self._entries[dynamic]

    def _literal(self, block: bytes, position: int, prefix: int) -> tuple[str, str, int]:
        index, position = _integer(block, position, prefix)
        if index:
            name = self._field(index)[0]
        else:
            name, position = _string(block, position)
        value, position = _string(block, position)
        return name, value, position

    def _add(self, name: str, value: str) -> None:
        size = len(name) + len(value) + _ENTRY_OVERHEAD  # latin-1: a character is an octet
        self._evict(size)
        if size <= self._capacity:  # 4.4: an entry larger than the table empties it
            self._entries.insert(0, (name, value))
            self._size += size

    def _evict(self, room: int) -> None:
        while self._entries and self._size + room > self._capacity:
            name, value = self._entries.pop()
            self._size -= len(name) + len(value) + _ENTRY_OVERHEAD


def _integer(block: bytes, position: int, prefix: int) -> tuple[int, int]:
    """Section 5.1: an integer with an N-bit prefix starting at ``position``."""
    mask = (1 << prefix) - 1
    value = block[position] & mask
    position += 1
    if value < mask:
        return value, position
    shift = 0
    while True:
        if position >= len(block):
            raise HpackError("truncated integer")
        byte = block[position]
        position += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position
        if shift > _MAX_INTEGER_BITS:
            raise HpackError("integer too large")


def _string(block: bytes, position: int) -> tuple[str, int]:
    """Section 5.2: a string literal, Huffman-coded or not."""
    if position >= len(block):
        raise HpackError("truncated string")
    huffman = block[position] & 0x80
    length, position = _integer(block, position, 7)
    end = position + length
    if end > len(block):
        raise HpackError("truncated string")
    data = block[position:end]
    text = huffman_decode(data) if huffman else data
    return text.decode("latin-1"), end


# The lowest index of each field and of each name (iterated backwards: the lowest wins).
_NUMBERED = list(enumerate(STATIC_TABLE, 1))[::-1]
_STATIC_INDEX = {field: i for i, field in _NUMBERED}
_STATIC_NAMES = {name: i for i, (name, _) in _NUMBERED}


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """A header block for ``headers`` (names lower-case), leaving the peer's table alone."""
    out = bytearray()
    for name, value in headers:
        index = _STATIC_INDEX.get((name, value))
        if index is not None:
            out += _encode_integer(index, 7, 0x80)
            continue
        name_index = _STATIC_NAMES.get(name, 0)
        out += _encode_integer(name_index, 4, 0x00)  # literal without indexing
        if not name_index:
            out += _encode_string(name)
        out += _encode_string(value)
    return bytes(out)


def _encode_integer(value: int, prefix: int, flags: int) -> bytes:
    mask = (1 << prefix) - 1
    if value < mask:
        return bytes((flags | value,))
    out = bytearray((flags | mask,))
    value -= mask
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_string(text: str) -> bytes:
    data = text.encode("latin-1")
    return _encode_integer(len(data), 7, 0x00) + data
