"""FrameReader: whole payloads in arrival order, however the bytes are cut into reads."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contivpy.vppcalls.codec import frame
from contivpy.vppcalls.errors import VppProtocolError
from contivpy.vppcalls.framing import FrameReader


async def _all_payloads(chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    """Everything the reader hands out from these chunks, and the bytes left at the end."""
    reader = asyncio.StreamReader()

    async def feed() -> None:
        for chunk in chunks:
            reader.feed_data(chunk)
            await asyncio.sleep(0)  # the reader takes each chunk before the next comes
        reader.feed_eof()

    feeder = asyncio.create_task(feed())
    frames = FrameReader(reader)
    got: list[bytes] = []
    while True:
        try:
            batch = await frames.batch()
        except asyncio.IncompleteReadError as end:
            await feeder
            return got, end.partial
        assert batch  # a batch is never empty
        got.extend(batch)


@given(
    payloads=st.lists(st.binary(min_size=2, max_size=300), max_size=20),
    cuts=st.lists(st.integers(0, 10_000), max_size=30),
    tail=st.binary(max_size=40),
)
def test_payloads_come_out_whole_and_in_order_wherever_the_stream_is_cut(
    payloads: list[bytes], cuts: list[int], tail: bytes
) -> None:
    stream = b"".join(frame(p) for p in payloads)
    # An unfinished frame at the end: its header announces more than arrives.
    unfinished = frame(tail + b"x")[:-1] if tail else b""
    data = stream + unfinished
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    got, left = asyncio.run(_all_payloads(chunks))
    assert got == payloads
    assert left == unfinished


async def test_several_frames_that_arrived_together_come_in_one_batch() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(frame(b"\x00\x01a") + frame(b"\x00\x02b") + frame(b"\x00\x03c")[:10])
    frames = FrameReader(reader)
    assert await frames.batch() == [b"\x00\x01a", b"\x00\x02b"]
    reader.feed_data(frame(b"\x00\x03c")[10:])
    assert await frames.batch() == [b"\x00\x03c"]


async def test_an_absurd_length_is_a_protocol_error() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(bytes(8) + (1 << 31).to_bytes(4, "big") + bytes(4))
    with pytest.raises(VppProtocolError):
        await FrameReader(reader).batch()
