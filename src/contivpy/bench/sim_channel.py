"""The VPP simulator in the benchmark's own process, without a socket.

In: requests by message name with their fields (the
:class:`~contivpy.vppcalls.channel.ApiChannel` the VPP descriptors call), optionally a
latency per call. Out: :class:`SimChannel`, which answers them with the simulator's message
handlers (:mod:`contivpy.sim.vpp.handlers`) on a :class:`~contivpy.sim.vpp.state.VppState`
it holds (``state``): decoded replies, a non-zero retval raised as
:class:`~contivpy.vppcalls.errors.VppApiError` as the real connection does; and counts of the
requests it served (``requests``, ``writes``) and of calls in flight (``max_in_flight``).

Every request and answer is packed and unpacked by the same codec and message table as on
the socket, so the descriptors get exactly the values they get from the simulator over
:class:`~contivpy.vppcalls.connection.VppConnection`; only the socket is gone (no frames, no
reader task, no context matching, no second process). What a call costs here is the
descriptors' and the codec's work plus the simulator's handler, with no I/O.

With ``latency`` > 0 every call first sleeps that long (``asyncio.sleep``), as a round trip
to VPP would; with 0 no call suspends. A handler that raises anything but ``SimError`` is a
simulator bug and propagates (the socket server answers it with UNSPECIFIED and logs it).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Mapping

from contivpy.sim.vpp.handlers import Fields, Handler, all_handlers
from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.server import READ_ONLY_REQUESTS
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.codec import ApiDefinitions, MessageTable
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval

#: the client index every request carries (the socket handshake would assign one)
_CLIENT_INDEX = 1


class SimChannel:
    """An ApiChannel answered in-process by the simulator's handlers (module docstring)."""

    def __init__(self, state: VppState | None = None, *, latency: float = 0.0) -> None:
        self.state = state if state is not None else VppState()
        self.latency = latency
        self.table = MessageTable.assign(ApiDefinitions.bundled())
        self.requests: Counter[str] = Counter()  # non-dump requests by message name
        self.in_flight = 0
        self.max_in_flight = 0
        self._definitions = self.table.definitions
        self._handlers: dict[str, Handler] = all_handlers()
        self._contexts = itertools.count(1)

    @property
    def writes(self) -> int:
        """Requests served that may change VPP (as the simulator counts them)."""
        return sum(n for name, n in self.requests.items() if name not in READ_ONLY_REQUESTS)

    async def call(self, name: str, fields: Mapping[str, object] | None = None) -> Message:
        """Send ``name`` and return its reply; VppApiError for a non-zero retval."""
        service = self._definitions.service(name)
        if service is None or service.details is not None:
            raise ValueError(f"{name} is not a request with a single reply")
        request = await self._request(name, fields)
        self.requests[name] += 1
        answer = self._run(request)
        if isinstance(answer, int):
            reply: Fields = {"retval": answer}
        elif isinstance(answer, dict):
            reply = {"retval": 0, **answer}
        else:  # details for a call: a simulator bug, answered as the server would
            reply = {"retval": int(Retval.UNSPECIFIED)}
        message = self._answer(service.reply, request, reply)
        retval = message.retval
        if retval:
            raise VppApiError.from_reply(name, retval)
        return message

    async def dump(self, name: str, fields: Mapping[str, object] | None = None) -> list[Message]:
        """Run the dump ``name`` and return its details."""
        service = self._definitions.service(name)
        if service is None or service.details is None:
            raise ValueError(f"{name} is not a dump")
        request = await self._request(name, fields)
        answer = self._run(request)
        if not isinstance(answer, list):
            return []  # a refused dump ends with no details, as on the socket
        return [self._answer(service.details, request, d) for d in answer]

    async def _request(self, name: str, fields: Mapping[str, object] | None) -> Message:
        """The request as the simulator would read it off the socket (after the latency)."""
        if self.latency:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.latency)
            finally:
                self.in_flight -= 1
        packed = {**(fields or {}), "client_index": _CLIENT_INDEX, "context": next(self._contexts)}
        return self._definitions.decode(name, self.table.encode(name, packed))

    def _run(self, request: Message) -> Fields | list[Fields] | int:
        handler = self._handlers.get(request.name)
        if handler is None:
            return int(Retval.UNIMPLEMENTED)
        try:
            return handler(self.state, request)
        except SimError as err:
            return int(err.retval)
        finally:
            # Interface events go to subscribers on the socket; nobody subscribes here.
            self.state.events.clear()

    def _answer(self, name: str, request: Message, fields: Fields) -> Message:
        """An answer as the client would read it off the socket."""
        packed = {**fields, "context": request.context or 0}
        return self._definitions.decode(name, self.table.encode(name, packed))
