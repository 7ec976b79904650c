"""HPACK's Huffman code (RFC 7541 Appendix B), decoding only.

In: the bytes of a Huffman-coded string literal. Out: the decoded bytes, or HpackError when
the input is not a valid code (the EOS symbol inside the string, or padding that is longer
than 7 bits or not made of 1 bits, RFC 7541 section 5.2).

The code is canonical: its codes are fixed by each symbol's code length alone, assigned in
order of length and, within one length, of symbol value. So the table below is the 257 code
lengths of Appendix B (bytes 0-255, then EOS), and the decoder needs, per length, the first
code and the symbols of that length — computed once at import, in well under a millisecond.
"""

from __future__ import annotations

EOS = 256

# Appendix B's "len" column, symbols 0-256 in order, 16 to a line.
# fmt: off
CODE_LENGTHS = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
)
# fmt: on


class HpackError(ValueError):
    """A header block that is not valid HPACK (a COMPRESSION_ERROR in HTTP/2)."""


def _canonical() -> tuple[dict[int, int], dict[int, tuple[int, ...]]]:
    """Per code length: the first code of that length, and its symbols in code order."""
    first: dict[int, int] = {}
    symbols: dict[int, tuple[int, ...]] = {}
    code = previous = 0
    for length in sorted(set(CODE_LENGTHS)):
        code <<= length - previous
        previous = length
        of_length = tuple(s for s, n in enumerate(CODE_LENGTHS) if n == length)
        first[length], symbols[length] = code, of_length
        code += len(of_length)
    return first, symbols


_FIRST, _SYMBOLS = _canonical()


def huffman_decode(data: bytes) -> bytes:
    """The bytes a Huffman-coded string literal stands for."""
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = code << 1 | (byte >> shift) & 1
            length += 1
            first = _FIRST.get(length)
            if first is None:
                continue
            index = code - first
            symbols = _SYMBOLS[length]
            # In a canonical code a longer code's prefix is above every code of its length.
            if 0 <= index < len(symbols):
                symbol = symbols[index]
                if symbol == EOS:
                    raise HpackError("Huffman string: EOS inside the string")
                out.append(symbol)
                code = length = 0
    # What is left must be padding: a prefix of EOS (all 1 bits), at most 7 of them.
    if length > 7 or code != (1 << length) - 1:
        raise HpackError("Huffman string: bad padding")
    return bytes(out)
