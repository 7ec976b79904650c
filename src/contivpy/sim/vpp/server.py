"""The simulated VPP: VPP's API socket protocol in front of a :class:`VppState`.

In: connections on a unix socket from any client of VPP's socket API (vpp_papi's
``VPPApiClient``, contivpy's own client), and control calls from tests or the control socket.
Out: the answers a VPP 26.06 gives, byte for byte in format:

- handshake: ``sockclnt_create`` (id 15) → ``sockclnt_create_reply`` (id 16) with the message
  table (memclnt from id 1, the rest after a gap that changes on every restart, as plugin
  loading moves ids on a real VPP);
- ``control_ping`` → reply with the VPP's pid (a new pid after restart); ``get_api_json``
  → every definition the simulator has but memclnt's (a real VPP leaves memclnt out);
  ``show_version``; ``cli_inband`` (the ``show`` commands of ``cli``); ``sockclnt_delete``;
- requests → replies echoing the context, refusals as retvals; old-style dumps → details,
  and the client's ``control_ping`` after the dump ends the stream; get-style streams
  (``*_get`` with a cursor) → details, then their own reply with the cursor ~0 (done);
- ``want_interface_events`` → ``sw_interface_event`` (no context) to that client whenever an
  interface's admin/link state changes or it is deleted.

Control: fail the next N calls of a message, add latency, restart (all state lost, new pid,
clients cut off), drop connections, an outage of the socket (state kept), attach a memif peer,
pretend to be another VPP version (other CRCs in the message table).

memif: while it runs (from ``start`` to ``stop``, a new state after ``restart``) the simulator
joins the process's memif links (``memif_links.MEMIF_LINKS`` unless given others): its memifs
connect to those of the other simulators of the process on the same socket file, seen through
its ``mounts`` (a CNF pod's ``/run/vpp`` is a host directory of the vswitch's), and its event
subscribers hear the link changes a peer causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections import Counter
from collections.abc import Iterable, Mapping

import structlog

from contivpy.async_service import AsyncService
from contivpy.sim.vpp.cli import VERSION, run_cli
from contivpy.sim.vpp.faults import FaultPlan
from contivpy.sim.vpp.handlers import Fields, Handler, all_handlers
from contivpy.sim.vpp.memif_links import MEMIF_LINKS, REMOTE_NAME, MemifLinks, negotiate
from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.session import ClientSession
from contivpy.sim.vpp.show import show_interface_addr, show_memif
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.codec import (
    SOCKCLNT_CREATE_ID,
    ApiDefinitions,
    MessageTable,
    message_id,
)
from contivpy.vppcalls.errors import VppEncodeError, VppProtocolError
from contivpy.vppcalls.framing import FrameReader
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval

log = structlog.get_logger(__name__)

#: requests with one reply that change no configuration
READ_ONLY_REQUESTS = frozenset(
    {
        "control_ping",
        "show_version",
        "sw_interface_get_table",
        "get_api_json",
        "memclnt_keepalive",
        "want_interface_events",  # an event subscription, not configuration
        "cli_inband",  # the simulator's CLI only shows
        "nat44_show_running_config",
    }
)


class VppSimulator(AsyncService):
    """A simulated VPP serving its binary API on ``socket_path``."""

    def __init__(
        self,
        socket_path: str,
        *,
        nics: Iterable[str] = ("GigabitEthernet0/a/0",),
        vhost_net: bool = True,
        host_interfaces: Iterable[str] | None = None,
        seed: int = 0,
        mounts: Mapping[str, str] | None = None,
        memif_links: MemifLinks | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.definitions = ApiDefinitions.bundled()
        self.faults = FaultPlan()
        self._nics = tuple(nics)
        self._vhost_net = vhost_net
        self._host_interfaces = None if host_interfaces is None else tuple(host_interfaces)
        self._seed = seed
        #: container path prefix -> host directory, as the VPP sees files (memif sockets);
        #: it survives restarts, as a container's mounts do
        self.mounts: dict[str, str] = dict(mounts or {})
        self.memif_links = MEMIF_LINKS if memif_links is None else memif_links
        self._handlers = all_handlers()
        self._boots = itertools.count()
        self.requests: Counter[str] = Counter()  # non-dump requests by message name
        self._client_indexes = itertools.count(1)
        self._sessions: set[ClientSession] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        #: message name → the CRC to advertise instead of the real one (None: leave it out)
        self._advertised: dict[str, str | None] = {}
        self.state, self.table = self._boot()

    def _boot(self) -> tuple[VppState, MessageTable]:
        boot = next(self._boots)
        state = VppState(
            nics=self._nics,
            vhost_net=self._vhost_net,
            host_interfaces=self._host_interfaces,
            seed=self._seed + boot,
            mounts=self.mounts,
        )
        # Another gap before the non-memclnt ids on every boot: clients must not keep ids.
        table = MessageTable.assign(self.definitions, plugin_base=(boot * 37) % 500)
        return state, table

    @property
    def pid(self) -> int:
        """The simulated VPP's process id (control_ping_reply's vpe_pid)."""
        return self.state.pid

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the socket, taking over a stale socket file as a restarted VPP does."""
        if self._server is not None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        self._server = await asyncio.start_unix_server(self._accept, path=self.socket_path)
        self.memif_links.attach(self.state, self._publish_events)
        log.info("vppsim listening", socket=self.socket_path, pid=self.pid)

    async def stop_listening(self) -> None:
        """Close the listening socket and cut off every client (VPP gone)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop_connections()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)

    async def stop(self) -> None:
        """Stop serving: the VPP is gone, its memif peers see their connections fail."""
        self.memif_links.detach(self.state)
        await self.stop_listening()

    async def restart(self, downtime: float = 0.0) -> None:
        """A VPP restart: clients cut off, all state lost, a new pid and new message ids;
        memif peers see their connections fail."""
        self.memif_links.detach(self.state)
        await self.stop_listening()
        if downtime > 0:
            await asyncio.sleep(downtime)
        self.state, self.table = self._boot()
        await self.start()
        log.info("vppsim restarted", pid=self.pid)

    async def outage(self, seconds: float) -> None:
        """The API socket goes away for ``seconds`` and comes back; the state stays."""
        await self.stop_listening()
        await asyncio.sleep(seconds)
        await self.start()

    def drop_connections(self) -> None:
        """Reset every client connection; the state stays (a dropped socket, not a restart)."""
        for session in list(self._sessions):
            session.abort()
        self._sessions.clear()

    # -- control ------------------------------------------------------------------------

    def writes(self) -> int:
        """Requests so far that may change VPP (every non-dump request but the read-only
        ones)."""
        return sum(n for name, n in self.requests.items() if name not in READ_ONLY_REQUESTS)

    def fail_next(self, message: str, retval: int, count: int = 1) -> None:
        """Answer the next ``count`` requests of ``message`` with ``retval``."""
        service = self.definitions.service(message)
        if service is None or service.details is not None:
            raise ValueError(f"{message} is not a request with a reply that can fail")
        self.faults.fail(message, retval, count)

    def set_latency(self, seconds: float, message: str | None = None) -> None:
        """Delay replies to ``message`` (every message when None)."""
        self.faults.set_latency(seconds, message)

    def set_memif_peer(self, sw_if_index: int, connected: bool) -> None:
        """Attach or detach the other end of a memif, played by the control API (a memif
        application outside the simulators, one that accepts this memif's settings): its
        link follows (with an event). Detaching also cuts a connection to another
        simulator."""
        iface = self.state.interface(sw_if_index)
        info = iface.memif
        if info is None:
            raise ValueError(f"{iface.name} is not a memif")
        if not connected:
            self.memif_links.disconnect(self.state, iface)
        elif self.memif_links.peer_of(self.state, iface) is not None:
            raise ValueError(f"{iface.name} is connected to another simulated VPP")
        else:
            on_slave, on_master = negotiate(info)
            info.run = on_slave if info.is_slave else on_master
            info.remote_name = REMOTE_NAME
        self.state.set_memif_connected(iface, connected)
        self._publish_events()

    def mount(self, container_path: str, host_path: str) -> None:
        """From now on (and after restarts) the VPP sees ``host_path`` at
        ``container_path``, as a container that mounts it; memifs follow their socket
        files."""
        self.mounts[container_path] = host_path
        self.state.memif_changed()
        self._publish_events()

    def set_vhost_net(self, present: bool) -> None:
        """Whether /dev/vhost-net exists (tap_create fails without it); survives restarts."""
        self._vhost_net = present
        self.state.vhost_net = present

    def pretend_api(self, crcs: dict[str, str | None]) -> None:
        """Advertise other CRCs (or none) for some messages from the next handshake on, as a
        VPP of another version would; the simulator still answers them as before."""
        self._advertised.update(crcs)

    def _advertised_entries(self, table: MessageTable) -> list[dict[str, object]]:
        entries: list[dict[str, object]] = []
        for msg_id, name_crc in table.entries():
            name = name_crc.rpartition("_")[0]
            if name in self._advertised:
                crc = self._advertised[name]
                if crc is None:
                    continue
                name_crc = f"{name}_{crc.removeprefix('0x')}"
            entries.append({"index": msg_id, "name": name_crc})
        return entries

    def show_interface_addr(self) -> str:
        """What ``vppctl show interface addr`` would print."""
        return show_interface_addr(self.state)

    def show_memif(self) -> str:
        """What ``vppctl show memif`` would print (secrets left out)."""
        return show_memif(self.state)

    def cli(self, command: str) -> str:
        """What ``vppctl COMMAND`` would print (VPP's error text for what it refuses)."""
        return run_cli(self.state, command)[1]

    # -- protocol -----------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = ClientSession(next(self._client_indexes), writer)
        self._sessions.add(session)
        try:
            await self._serve(session, reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except VppProtocolError as err:
            log.warning("vppsim dropping client", client=session.index, error=str(err))
        finally:
            self._sessions.discard(session)
            self._tasks.discard(task)
            session.abort()

    async def _serve(self, session: ClientSession, reader: asyncio.StreamReader) -> None:
        table = self.table
        incoming = FrameReader(reader)
        batch = await incoming.batch()
        payload = batch.pop(0)
        if message_id(payload) != SOCKCLNT_CREATE_ID:
            raise VppProtocolError("the first message must be sockclnt_create")
        hello = self.definitions.decode("sockclnt_create", payload)
        session.name = hello.get_str("name")
        entries = self._advertised_entries(table)
        session.send(
            table.encode(
                "sockclnt_create_reply",
                {
                    "client_index": session.index,
                    "context": hello.context or 0,
                    "response": 0,
                    "index": session.index,
                    "count": len(entries),
                    "message_table": entries,
                },
            )
        )
        while not session.closed:
            # Every request that has arrived is answered before the next read: a pipelined
            # client's requests are served in order, their answers leave in one write.
            for payload in batch:
                if table is not self.table:
                    return  # restarted meanwhile: this connection belongs to the old VPP
                if not self._serve_one(session, table, payload):
                    await session.close()
                    return
            await session.drain()
            batch = await incoming.batch()

    def _serve_one(self, session: ClientSession, table: MessageTable, payload: bytes) -> bool:
        """Answer one request; False when the client said goodbye (sockclnt_delete)."""
        name = table.name_of(message_id(payload))
        if name is None:
            log.warning("vppsim ignoring unknown message id", id=message_id(payload))
            return True
        msg = table.definitions.decode(name, payload)
        delay = self.faults.latency(name)
        for out in self._encode(table, self._answer(session, msg), msg):
            session.send(out, delay)
        self._publish_events()
        return name != "sockclnt_delete"

    def _answer(self, session: ClientSession, msg: Message) -> list[tuple[str, Fields]]:
        """The messages that answer ``msg``: one reply, N details, or nothing."""
        service = self.definitions.service(msg.name)
        if service is None:
            log.warning("vppsim got a message that is not a request", message=msg.name)
            return []
        context = {"context": msg.context or 0}
        builtin = self._builtin(session, msg)
        if builtin is not None:
            return [(service.reply, {**context, **builtin})]
        handler = self._handlers.get(msg.name)
        if service.details is not None:
            details = self._run(handler, msg) if handler is not None else []
            if not isinstance(details, list):
                details = []  # refused: a get-style stream still ends with its reply
            answers = [(service.details, {**context, **d}) for d in details]
            if not service.ends_with_ping:
                # A get-style stream (``*_get`` with a cursor) ends with its own reply; the
                # simulator sends everything at once, so the cursor says "done" (~0).
                answers.append((service.reply, {**context, "retval": 0, "cursor": 0xFFFFFFFF}))
            return answers
        # Every non-dump request a client made (read-only calls included): tests count the
        # writes an agent makes, e.g. zero after a restart against an unchanged VPP.
        self.requests[msg.name] += 1
        failure = self.faults.take_failure(msg.name)
        if failure is not None:
            return [(service.reply, {**context, "retval": failure})]
        if handler is None:
            return [(service.reply, {**context, "retval": int(Retval.UNIMPLEMENTED)})]
        reply = self._run(handler, msg)
        if isinstance(reply, int):
            return [(service.reply, {**context, "retval": reply})]
        assert isinstance(reply, dict)
        answer = {**context, "retval": 0, **reply}
        if "retval" not in self.definitions.message(service.reply).fields:
            del answer["retval"]  # a reply that has none (acl_plugin_get_version_reply)
        return [(service.reply, answer)]

    def _run(self, handler: Handler, msg: Message) -> Fields | list[Fields] | int:
        """The handler's answer, or the retval it refused with."""
        try:
            return handler(self.state, msg)
        except SimError as err:
            log.debug("vppsim refused", message=msg.name, error=str(err))
            return int(err.retval)
        except Exception:
            # A simulator bug: answer as VPP does for "something failed", keep serving.
            log.exception("vppsim handler failed", message=msg.name)
            return int(Retval.UNSPECIFIED)

    def _encode(
        self, table: MessageTable, answers: list[tuple[str, Fields]], request: Message
    ) -> list[bytes]:
        """Pack the answers; a simulator bug answers UNSPECIFIED instead of leaving the
        client waiting."""
        try:
            return [table.encode(name, fields) for name, fields in answers]
        except VppEncodeError:
            log.exception("vppsim cannot pack its answer", request=request.name)
            service = self.definitions.service(request.name)
            if service is None or service.details is not None:
                return []
            fields = {"context": request.context or 0, "retval": int(Retval.UNSPECIFIED)}
            return [table.encode(service.reply, fields)]

    def _builtin(self, session: ClientSession, msg: Message) -> Fields | None:
        """Answers that need the connection or the process rather than the VPP state."""
        name = msg.name
        if name == "control_ping":
            return {"retval": 0, "client_index": session.index, "vpe_pid": self.pid}
        if name == "get_api_json":
            # As a real VPP: memclnt is not in the answer (clients know it from the handshake).
            return {"retval": 0, "json": self.definitions.api_json(without=("memclnt",))}
        if name == "show_version":
            return {"retval": 0, **VERSION}
        if name == "sockclnt_delete":
            return {"response": 0}
        if name == "memclnt_keepalive":
            return {"retval": 0}
        if name == "want_interface_events":
            enabled = bool(msg.get_int("enable_disable"))
            session.interface_events_pid = msg.get_int("pid") if enabled else None
            return {"retval": 0}
        return None

    def _publish_events(self) -> None:
        events = self.state.drain_events()
        if not events:
            return
        subscribers = [s for s in self._sessions if s.interface_events_pid is not None]
        for event in events:
            flags = (1 if event.admin_up else 0) | (2 if event.link_up else 0)
            for session in subscribers:
                payload = self.table.encode(
                    "sw_interface_event",
                    {
                        "client_index": session.index,
                        "pid": session.interface_events_pid,
                        "sw_if_index": event.sw_if_index,
                        "flags": flags,
                        "deleted": event.deleted,
                    },
                )
                session.send(payload, self.faults.latency("sw_interface_event"))
