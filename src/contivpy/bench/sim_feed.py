"""How fast the simulator alone serves a sequence of requests: all sent at once, pre-packed.

In: a simulator's API socket and the calls to send (:class:`RecordedCall`, in order). Out:
:class:`FeedRun`: seconds from the first byte written to the last answer read, and the calls
VPP refused. Every request is packed before the clock starts and written in one go; the
answers are only split into frames while timing (decoded afterwards, to check them), so this
side does next to nothing and the figure is the simulator's own: decoding, handling, encoding
and socket work in its process. A dump counts as one call (its request and the control_ping
that ends it), as in the other VPP figures.

The handshake is VPP's (``sockclnt_create`` → message table); the message ids come from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass

from contivpy.bench.call_recorder import RecordedCall
from contivpy.vppcalls.codec import (
    SOCKCLNT_CREATE_ID,
    ApiDefinitions,
    MessageTable,
    frame,
    message_id,
    read_frame,
)
from contivpy.vppcalls.framing import FrameReader

_READ_LIMIT = 16 * 1024 * 1024
_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class FeedRun:
    """Seconds to serve every call, and the calls refused (``name: retval``)."""

    seconds: float
    calls: int
    refused: list[str]


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[MessageTable, int]:
    memclnt = ApiDefinitions.memclnt()
    hello = {"context": 1, "name": "contivpy-bench-feed"}
    writer.write(frame(memclnt.encode("sockclnt_create", SOCKCLNT_CREATE_ID, hello)))
    reply = memclnt.decode("sockclnt_create_reply", await read_frame(reader))
    ids = {e.get_str("name"): e.get_int("index") for e in reply.get_structs("message_table")}
    return MessageTable(ApiDefinitions.bundled(), ids), reply.get_int("index")


def _pack(
    table: MessageTable, client_index: int, calls: Sequence[RecordedCall]
) -> tuple[bytes, set[int]]:
    """Every request framed into one buffer; and the ids of the answers that end a call
    (its reply, or for a dump the control_ping_reply)."""
    definitions = table.definitions
    parts: list[bytes] = []
    final: set[int] = set()
    for context, call in enumerate(calls, start=1):
        header = {"client_index": client_index, "context": context}
        parts.append(frame(table.encode(call.name, {**call.fields, **header})))
        if call.dump:
            parts.append(frame(table.encode("control_ping", header)))
            reply = "control_ping_reply"
        else:
            service = definitions.service(call.name)
            assert service is not None, call.name
            reply = service.reply
        final.add(table.id_of(reply))
    return b"".join(parts), final


async def _read_answers(reader: asyncio.StreamReader, final: set[int], calls: int) -> list[bytes]:
    """Payloads until ``calls`` of them have an id in ``final``: only frames are split here."""
    frames = FrameReader(reader)
    payloads: list[bytes] = []
    done = 0
    while done < calls:
        for payload in await frames.batch():
            payloads.append(payload)
            if message_id(payload) in final:
                done += 1
    return payloads


async def feed(socket_path: str, calls: Sequence[RecordedCall]) -> FeedRun:
    """Send every call at once and wait for every answer (see the module docstring)."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=_READ_LIMIT)
    try:
        table, client_index = await _handshake(reader, writer)
        packed, final = _pack(table, client_index, calls)
        gc.collect()
        started = time.perf_counter()
        writer.write(packed)
        async with asyncio.timeout(_TIMEOUT):
            payloads = await _read_answers(reader, final, len(calls))
        seconds = time.perf_counter() - started
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    refused: list[str] = []
    for payload in payloads:
        if message_id(payload) in final:
            answer = table.decode(payload)
            if answer.retval:
                refused.append(f"{answer.name}: {answer.retval}")
    return FeedRun(seconds, len(calls), refused)
