"""The simulator's control socket: one JSON object per line in, one per line out.

In: requests on a unix socket (``{"op": "fail", "message": "tap_create_v3", "retval": -11,
"count": 1}``). Out: ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``. Operations:

=================  ==============================================  =====================
op                 arguments                                       answer
=================  ==============================================  =====================
fail               message, retval, count=1                        ok
latency            seconds, message=null (null: every message)     ok
clear_faults                                                       ok
restart            downtime=0                                      ok, pid (the new one)
drop                                                               ok (clients cut off)
outage             seconds                                         ok (socket back after)
pid                                                                ok, pid
show_interface_addr                                                ok, text
show_memif                                                         ok, text
memif_peer         sw_if_index, connected=true                     ok
mount              container_path, host_path                       ok
vhost_net          present                                         ok
dev_type           sw_if_index, dev_type                           ok
nat_seed           seed                                            ok
requests                                                           ok, requests, writes
summary                                                            ok, interfaces,
                                                                   bridge_domains, routes
=================  ==============================================  =====================

``mount``: the VPP sees ``host_path`` at ``container_path`` from now on (memif socket files;
see ``memif_links``). ``dev_type``: the ``interface_dev_type`` an interface reports from now
on (e.g. one the agent does not know, to test how it copes with a read-back it does not
understand). ``nat_seed``: NAT44-ED draws load-balanced backends from this seed on (a fresh
VPP state draws from seed 0), so a walk's choice of backend is reproducible.
``requests``: the non-dump requests served since the process started, by message name, and
how many of them were writes (:meth:`VppSimulator.writes`), so an out-of-process test can
prove an agent wrote nothing. ``summary``: the state in plain JSON (see
:func:`state_summary`), to check what VPP holds without reading its memory.

:class:`ControlClient` speaks it from Python (tests, ``contivpy demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

import structlog

from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.server import VppSimulator
from contivpy.sim.vpp.state import VppState

log = structlog.get_logger(__name__)

_ANSWER_LIMIT = 64 * 1024 * 1024


async def _run_op(sim: VppSimulator, request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "fail":
        sim.fail_next(str(request["message"]), int(request["retval"]), int(request.get("count", 1)))
    elif op == "latency":
        message = request.get("message")
        sim.set_latency(float(request["seconds"]), None if message is None else str(message))
    elif op == "clear_faults":
        sim.faults.clear()
    elif op == "restart":
        await sim.restart(float(request.get("downtime", 0.0)))
        return {"ok": True, "pid": sim.pid}
    elif op == "drop":
        sim.drop_connections()
    elif op == "outage":
        await sim.outage(float(request["seconds"]))
    elif op == "pid":
        return {"ok": True, "pid": sim.pid}
    elif op == "show_interface_addr":
        return {"ok": True, "text": sim.show_interface_addr()}
    elif op == "show_memif":
        return {"ok": True, "text": sim.show_memif()}
    elif op == "mount":
        sim.mount(str(request["container_path"]), str(request["host_path"]))
    elif op == "memif_peer":
        sim.set_memif_peer(int(request["sw_if_index"]), bool(request.get("connected", True)))
    elif op == "vhost_net":
        sim.set_vhost_net(bool(request["present"]))
    elif op == "dev_type":
        sim.state.interface(int(request["sw_if_index"])).dev_type = str(request["dev_type"])
    elif op == "nat_seed":
        sim.state.nat44.table.seed(int(request["seed"]))
    elif op == "requests":
        return {"ok": True, "requests": dict(sim.requests), "writes": sim.writes()}
    elif op == "summary":
        return {"ok": True, **state_summary(sim.state)}
    else:
        return {"ok": False, "error": f"unknown op {op!r}"}
    return {"ok": True}


def state_summary(state: VppState) -> dict[str, Any]:
    """Interfaces (index, name, tag, admin state, addresses, bridge domain), bridge domains
    (id, tag, member indexes) and routes (``ip4 table 1 10.1.1.2/32``), as JSON-ready lists."""
    interfaces = [
        {
            "sw_if_index": i.sw_if_index,
            "name": i.name,
            "tag": i.tag,
            "admin_up": i.admin_up,
            "addresses": [str(a) for a in i.addresses],
            "bd_id": i.bd_id,
        }
        for i in state.interfaces.values()
    ]
    bridge_domains = [
        {"bd_id": bd.bd_id, "tag": bd.settings.tag, "members": sorted(bd.members)}
        for bd in state.bridge_domains.values()
    ]
    routes = sorted(
        f"ip{6 if is_ip6 else 4} table {table_id} {prefix}"
        for (is_ip6, table_id), by_prefix in state.routes.items()
        for prefix in by_prefix
    )
    return {"interfaces": interfaces, "bridge_domains": bridge_domains, "routes": routes}


class ControlServer:
    """Serves the control protocol for one simulator."""

    def __init__(self, sim: VppSimulator, path: str) -> None:
        self.sim = sim
        self.path = path
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen on the control socket."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise TypeError("a request is a JSON object")
                    answer = await _run_op(self.sim, request)
                except (ValueError, TypeError, KeyError, SimError) as err:
                    answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


class ControlClient:
    """A connection to a simulator's control socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, path: str) -> ControlClient:
        """Connect to the control socket at ``path``."""
        # An answer is one line; a summary or show text of thousands of interfaces is longer
        # than asyncio's default line limit (64 KiB).
        reader, writer = await asyncio.open_unix_connection(path, limit=_ANSWER_LIMIT)
        return cls(reader, writer)

    async def request(self, op: str, **arguments: object) -> dict[str, Any]:
        """Run one operation; raises RuntimeError when the simulator refuses it."""
        self._writer.write(json.dumps({"op": op, **arguments}).encode() + b"\n")
        await self._writer.drain()
        answer: dict[str, Any] = json.loads(await self._reader.readline())
        if not answer.get("ok"):
            raise RuntimeError(f"vppsim refused {op}: {answer.get('error')}")
        return answer

    async def close(self) -> None:
        """Close the connection."""
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
