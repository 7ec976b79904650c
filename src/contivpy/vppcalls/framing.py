"""Frames off a VPP API socket in batches: every whole frame that has arrived per wake-up.

In: an asyncio stream reader carrying VPP's 16-byte-header frames. Out: :class:`FrameReader`,
whose ``batch()`` returns the payloads that have arrived (at least one, in arrival order;
``IncompleteReadError`` at the end of the stream).

Why: with many requests in flight (the scheduler keeps 16 operations going), reading each
frame as two ``readexactly`` cost two awaits per message on both ends of the socket.
Writes are not batched the same way (held until the running code yields): measured, that
cost more than it saved, because the other end then waits for a whole batch instead of
starting on the first message at once.
"""

from __future__ import annotations

import asyncio

from contivpy.vppcalls.codec import FRAME_HEADER_SIZE, payload_length

#: bytes asked for per read: many replies fit, and a huge one (get_api_json) takes a few
_CHUNK = 256 * 1024


class FrameReader:
    """Whole payloads off a stream, as many as have arrived per call."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()

    async def batch(self) -> list[bytes]:
        """The payloads that have arrived (at least one); IncompleteReadError at the end."""
        while True:
            payloads = self._split()
            if payloads:
                return payloads
            chunk = await self._reader.read(_CHUNK)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._buffer), None)
            self._buffer += chunk

    def _split(self) -> list[bytes]:
        buffer = self._buffer
        payloads: list[bytes] = []
        offset = 0
        while len(buffer) - offset >= FRAME_HEADER_SIZE:
            start = offset + FRAME_HEADER_SIZE
            end = start + payload_length(bytes(buffer[offset:start]))
            if end > len(buffer):
                break
            payloads.append(bytes(buffer[start:end]))
            offset = end
        if offset:
            del buffer[:offset]
        return payloads
