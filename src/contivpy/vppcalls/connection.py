"""One connection to VPP's API socket: handshake, checked definitions, pipelined calls, events.

In: a socket path; requests by message name with their fields. Out: replies (a non-zero
retval raised as :class:`~contivpy.vppcalls.errors.VppApiError`), dump results, events handed
to registered callbacks, and the end of the connection (:meth:`VppConnection.wait_closed`);
with a :class:`~contivpy.vppcalls.observer.CallObserver`, each call's latency and failures.

On open: ``sockclnt_create`` → message table; ``get_api_json`` → VPP's own definitions of the
messages contivpy needs, each checked to be present with the CRC contivpy knows (else
:class:`~contivpy.vppcalls.errors.VppApiMismatchError` names every missing or different one).

Calls are pipelined: each request carries its own ``context``, any number are in flight, and
one reader task matches replies to waiting callers as they arrive. A dump is the request
followed by a ``control_ping`` with the same context; its details are collected until the
ping's reply. Messages without a context field are events. A lost connection fails every
waiting call with :class:`~contivpy.vppcalls.errors.VppConnectionError`; reconnecting is the
business of :mod:`contivpy.vppcalls.client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import structlog

from contivpy.vppcalls.codec import (
    SOCKCLNT_CREATE_ID,
    SOCKCLNT_CREATE_REPLY_ID,
    ApiDefinitions,
    MessageTable,
    frame,
    frames,
    message_id,
    read_frame,
)
from contivpy.vppcalls.errors import (
    VppApiError,
    VppApiMismatchError,
    VppConnectionError,
    VppProtocolError,
    VppTimeoutError,
)
from contivpy.vppcalls.framing import FrameReader
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.observer import CallObserver
from contivpy.vppcalls.retvals import Retval

log = structlog.get_logger(__name__)

EventCallback = Callable[[Message], None]

#: memclnt messages the client itself uses.
_MEMCLNT_USED = (
    "sockclnt_create",
    "sockclnt_create_reply",
    "sockclnt_delete",
    "sockclnt_delete_reply",
    "control_ping",
    "control_ping_reply",
    "get_api_json",
    "get_api_json_reply",
)
_MAX_CONTEXT = 0xFFFFFFFF


def required_messages() -> frozenset[str]:
    """Every message contivpy uses: its own definitions plus the memclnt ones above."""
    bundled = ApiDefinitions.bundled()
    own = {n for n in bundled.names() if bundled.message(n).module != "memclnt"}
    return frozenset(own | set(_MEMCLNT_USED))


def check_message_table(
    socket_path: str, vpp_ids: Mapping[str, int], required: Collection[str]
) -> None:
    """Raise VppApiMismatchError unless VPP offers every required message with our CRC."""
    ours = ApiDefinitions.bundled()
    by_name: dict[str, str] = {}
    for name_crc in vpp_ids:
        name, _, crc = name_crc.rpartition("_")
        by_name[name] = "0x" + crc
    missing, mismatched = [], []
    for name in sorted(required):
        expected = ours.message(name)
        if expected.name_crc in vpp_ids:
            continue
        if name in by_name:
            mismatched.append((name, expected.crc, by_name[name]))
        else:
            missing.append(name)
    if missing or mismatched:
        raise VppApiMismatchError(socket_path, missing, mismatched)


@dataclass
class _Pending:
    """A request waiting for its answer."""

    request: str
    reply: str
    future: asyncio.Future[Message | list[Message]]
    #: the details message when this is a dump, collected until the ping reply
    details: str | None = None
    collected: list[Message] = field(default_factory=list)
    #: the reply that ended a dump (a get-style stream's carries retval and cursor)
    final: Message | None = None
    #: loop time after which the request fails with VppTimeoutError, and the limit it had
    deadline: float = 0.0
    limit: float = 0.0


class VppConnection:
    """An open, checked connection. Use :meth:`open`; close with :meth:`close`."""

    def __init__(
        self,
        socket_path: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        table: MessageTable,
        client_index: int,
        call_timeout: float,
        observer: CallObserver | None = None,
    ) -> None:
        self.socket_path = socket_path
        #: told of every call's latency and failure (the agent's metrics); None: not measured
        self.observer = observer
        self.table = table
        self.client_index = client_index
        self.call_timeout = call_timeout
        self._reader = FrameReader(reader)
        self._writer = writer
        self._pending: dict[int, _Pending] = {}
        # One timer for every request's deadline instead of one per request (an
        # asyncio.timeout per call was a visible share of a call's cost): it fires at the
        # earliest deadline it knows of, fails what is overdue and re-arms for the rest.
        self._expiry: asyncio.TimerHandle | None = None
        self._contexts = itertools.count(1)
        self._event_callbacks: dict[str, list[EventCallback]] = {}
        self._closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader_task = asyncio.create_task(self._read_loop(), name="vpp-reader")

    @classmethod
    async def open(
        cls,
        socket_path: str,
        *,
        client_name: str = "contivpy",
        call_timeout: float = 5.0,
        required: Collection[str] | None = None,
        observer: CallObserver | None = None,
    ) -> VppConnection:
        """Connect, register, load and check VPP's definitions; a ready connection."""
        try:
            reader, writer = await asyncio.open_unix_connection(socket_path)
        except OSError as err:
            raise VppConnectionError(f"cannot connect to VPP at {socket_path}: {err}") from err
        try:
            memclnt = ApiDefinitions.memclnt()
            hello = {"context": 0x7C, "name": client_name}
            writer.write(frame(memclnt.encode("sockclnt_create", SOCKCLNT_CREATE_ID, hello)))
            async with asyncio.timeout(call_timeout):
                payload = await read_frame(reader)
            if message_id(payload) != SOCKCLNT_CREATE_REPLY_ID:
                raise VppProtocolError(f"handshake answered with message {message_id(payload)}")
            reply = memclnt.decode("sockclnt_create_reply", payload)
            if reply.get_int("response") != 0:
                raise VppConnectionError(f"VPP refused the client: {reply.get_int('response')}")
        except BaseException as err:
            writer.close()
            if isinstance(err, TimeoutError | asyncio.IncompleteReadError | OSError):
                raise VppConnectionError(
                    f"handshake with VPP at {socket_path} failed: {err!r}"
                ) from err
            raise
        ids = {e.get_str("name"): e.get_int("index") for e in reply.get_structs("message_table")}
        needed = (required_messages() if required is None else frozenset(required)) | frozenset(
            _MEMCLNT_USED
        )
        connection = cls(
            socket_path,
            reader,
            writer,
            MessageTable(memclnt, ids),
            reply.get_int("index"),
            call_timeout,
            observer,
        )
        try:
            check_message_table(socket_path, ids, needed)
            api_json = (await connection.call("get_api_json")).get_str("json")
            definitions = ApiDefinitions.from_api_json(api_json, keep=needed)
            connection.table = MessageTable(definitions, ids)
            # VPP's JSON must agree with its own table; a CRC only in one of them is unusable.
            unusable = [n for n in needed if not connection.table.has(n)]
            if unusable:
                raise VppApiMismatchError(socket_path, unusable, [])
        except BaseException:
            await connection.close()
            raise
        return connection

    # -- state --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """The connection has ended."""
        return self._closed.done()

    async def wait_closed(self) -> str:
        """Wait for the connection to end; why it ended."""
        return await asyncio.shield(self._closed)

    def on_event(self, name: str, callback: EventCallback) -> None:
        """Call ``callback`` with every ``name`` event that arrives on this connection."""
        self._event_callbacks.setdefault(name, []).append(callback)

    # -- requests -----------------------------------------------------------------------

    def _next_context(self) -> int:
        for _ in range(len(self._pending) + 1):
            context = next(self._contexts)
            if context >= _MAX_CONTEXT:
                self._contexts = itertools.count(1)
                context = next(self._contexts)
            if context not in self._pending:
                return context
        raise AssertionError("no free context")  # unreachable: fewer pending than tries

    def _send(self, name: str, fields: Mapping[str, object] | None, context: int) -> bytes:
        request = {**(fields or {}), "client_index": self.client_index, "context": context}
        return self.table.encode(name, request)

    def _watch(self, pending: _Pending, limit: float | None) -> None:
        """Give ``pending`` its deadline (awaited in the caller's own frame: a coroutine
        less per request)."""
        pending.limit = self.call_timeout if limit is None else limit
        loop = asyncio.get_running_loop()
        pending.deadline = loop.time() + pending.limit
        expiry = self._expiry
        if expiry is None or pending.deadline < expiry.when():
            self._arm_expiry(loop, pending.deadline)

    def _arm_expiry(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """Fail the requests whose deadline has passed; re-arm for the earliest other."""
        self._expiry = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        earliest: float | None = None
        for pending in self._pending.values():
            if pending.future.done():
                continue
            if pending.deadline <= now:
                pending.future.set_exception(
                    VppTimeoutError(
                        f"{pending.request}: no answer from VPP within {pending.limit} s"
                    )
                )
            elif earliest is None or pending.deadline < earliest:
                earliest = pending.deadline
        if earliest is not None:
            self._arm_expiry(loop, earliest)

    async def call(
        self,
        name: str,
        fields: Mapping[str, object] | None = None,
        *,
        reply_timeout: float | None = None,
        check: bool = True,
    ) -> Message:
        """Send a request and return its reply (VppApiError for a non-zero retval)."""
        service = self.table.definitions.service(name)
        if service is None or service.details is not None:
            raise ValueError(f"{name} is not a request with a single reply")
        self._ensure_open()
        context = self._next_context()
        payload = self._send(name, fields, context)
        future: asyncio.Future[Message | list[Message]] = asyncio.get_running_loop().create_future()
        pending = _Pending(name, service.reply, future)
        self._pending[context] = pending
        self._writer.write(frame(payload))
        self._watch(pending, reply_timeout)
        observer = self.observer
        sent = time.perf_counter() if observer is not None else 0.0
        try:
            reply = await future
        except VppConnectionError as error:
            if observer is not None:
                observer.call_failed(name, _failure(error))
            raise
        finally:
            self._pending.pop(context, None)
        assert isinstance(reply, Message)
        retval = reply.retval
        if observer is not None:
            observer.call_answered(name, time.perf_counter() - sent)
        if check and retval:
            if observer is not None:
                observer.call_failed(name, str(retval))
            raise VppApiError.from_reply(name, retval)
        return reply

    async def dump(
        self,
        name: str,
        fields: Mapping[str, object] | None = None,
        *,
        reply_timeout: float | None = None,
    ) -> list[Message]:
        """Send a dump and return every details message it produced.

        Old-style dumps end with the reply to a control_ping sent right after them; a
        get-style stream (``*_get`` with a cursor) ends with its own reply, and is asked
        again from the reply's cursor while VPP answers EAGAIN (it paused mid-way)."""
        service = self.table.definitions.service(name)
        if service is None or service.details is None:
            raise ValueError(f"{name} is not a dump")
        if not service.ends_with_ping:
            return await self._get_stream(name, service.reply, service.details, fields)
        self._ensure_open()
        context = self._next_context()
        request = self._send(name, fields, context)
        ping = self._send("control_ping", None, context)
        future: asyncio.Future[Message | list[Message]] = asyncio.get_running_loop().create_future()
        pending = _Pending(name, "control_ping_reply", future, details=service.details)
        self._pending[context] = pending
        self._writer.write(frames([request, ping]))
        self._watch(pending, reply_timeout)
        observer = self.observer
        sent = time.perf_counter() if observer is not None else 0.0
        try:
            details = await future
        except VppConnectionError as error:
            if observer is not None:
                observer.call_failed(name, _failure(error))
            raise
        finally:
            self._pending.pop(context, None)
        assert isinstance(details, list)
        if observer is not None:
            observer.call_answered(name, time.perf_counter() - sent)
        return details

    async def _get_stream(
        self, name: str, reply: str, details: str, fields: Mapping[str, object] | None
    ) -> list[Message]:
        collected: list[Message] = []
        cursor = 0
        while True:
            self._ensure_open()
            context = self._next_context()
            payload = self._send(name, {**(fields or {}), "cursor": cursor}, context)
            future: asyncio.Future[Message | list[Message]] = (
                asyncio.get_running_loop().create_future()
            )
            pending = _Pending(name, reply, future, details=details)
            self._pending[context] = pending
            self._writer.write(frame(payload))
            self._watch(pending, None)
            try:
                found = await future
            finally:
                self._pending.pop(context, None)
            assert isinstance(found, list)
            assert pending.final is not None
            collected += found
            retval = pending.final.retval or 0
            if retval == Retval.EAGAIN:
                cursor = pending.final.get_int("cursor")
                continue
            if retval:
                raise VppApiError.from_reply(name, retval)
            return collected

    def _ensure_open(self) -> None:
        if self.closed:
            raise VppConnectionError(f"connection to VPP closed: {self._closed.result()}")

    # -- reading ------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "closed"
        try:
            while True:
                for payload in await self._reader.batch():
                    self._dispatch(payload)
        except asyncio.IncompleteReadError:
            reason = "VPP closed the connection"
        except (OSError, VppProtocolError) as err:
            reason = f"connection lost: {err!r}"
        except asyncio.CancelledError:
            reason = "closed by contivpy"
        except Exception as err:
            log.exception("vpp reader failed")
            reason = f"reader failed: {err!r}"
        finally:
            self._finish(reason)

    def _dispatch(self, payload: bytes) -> None:
        name = self.table.name_of(message_id(payload))
        if name is None:
            log.debug("vpp message not in our table", id=message_id(payload))
            return
        definition = self.table.definitions.message(name)
        msg = self.table.definitions.decode(name, payload)
        if not definition.has_context:
            for callback in self._event_callbacks.get(name, ()):
                try:
                    callback(msg)
                except Exception:
                    # A subscriber's bug must not cost every caller the connection.
                    log.exception("vpp event callback failed", vpp_event=name)
            return
        pending = self._pending.get(msg.context or 0)
        if pending is None or pending.future.done():
            log.debug("vpp answer nobody waits for", message=name, context=msg.context)
        elif pending.details is not None and name == pending.details:
            pending.collected.append(msg)
        elif name == pending.reply:
            pending.final = msg
            pending.future.set_result(pending.collected if pending.details else msg)
        else:
            log.warning("unexpected vpp answer", message=name, request=pending.request)

    def _finish(self, reason: str) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if not self._closed.done():
            self._closed.set_result(reason)
        error = VppConnectionError(f"connection to VPP at {self.socket_path} lost: {reason}")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._writer.close()

    async def close(self) -> None:
        """Say goodbye to VPP (best effort) and close the socket."""
        if not self.closed and self.table.has("sockclnt_delete"):
            with contextlib.suppress(VppConnectionError, VppApiError):
                await self.call("sockclnt_delete", {"index": self.client_index}, reply_timeout=1.0)
        self._reader_task.cancel()
        await asyncio.wait({self._reader_task})
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


def _failure(error: VppConnectionError) -> str:
    """What an observer is told of a call that got no answer."""
    return "timeout" if isinstance(error, VppTimeoutError) else "disconnected"
