"""A small HTTP endpoint for operators: a few GET routes, each answered from memory.

In: a host, a port (0: any free port) and routes, each a path and a function that returns a
``Reply`` (status, body, content type); ``metrics_reply`` answers with a Prometheus registry's
exposition. Out: a running aiohttp server, started and stopped with its owner (``async with
HttpEndpoint(...)``), and the port it is bound to. The reflector serves its metrics through it,
the agent its metrics and health. aiohttp rather than prometheus_client's own server: that one
runs in a thread that cannot be stopped cleanly from asyncio, and has no routes of ours.

``parse_address`` reads the ``host:port`` form the configuration files use ("127.0.0.1:9999",
"[::1]:9999", "0.0.0.0:0"). It imports nothing of contivpy but ``async_service``, so any
package may use it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from contivpy.async_service import AsyncService

log = structlog.get_logger(__name__)

TEXT = "text/plain; charset=utf-8"
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: an HTTP status, the body and its content type."""

    status: int
    body: bytes
    content_type: str = TEXT

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        """A plain-text answer (one line, newline-terminated)."""
        return cls(status, (text.rstrip("\n") + "\n").encode())


Route = Callable[[], Reply]


def metrics_reply(registry: CollectorRegistry) -> Reply:
    """``registry`` in Prometheus's text exposition format."""
    return Reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets) as (host, port); ValueError saying why not."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text:
        raise ValueError(f"expected host:port (e.g. 127.0.0.1:9999), got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"an IPv6 host goes in brackets ([{host}]:{port_text})")
    elif not _HOST_NAME.match(host):
        raise ValueError(f"{host!r} is not a host name or address")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"port {port_text!r} is not a number from 0 to 65535")
    return host, int(port_text)


class HttpEndpoint(AsyncService):
    """Serves ``routes`` (GET only) on ``host:port`` while open."""

    def __init__(
        self, host: str, port: int, routes: Mapping[str, Route], *, name: str = "http endpoint"
    ) -> None:
        self.host = host
        self._requested_port = port
        self._routes = dict(routes)
        self._name = name
        self._runner: web.AppRunner | None = None
        self.port = 0  # the bound port, once started

    @staticmethod
    def _handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            reply = route()
            return web.Response(
                status=reply.status, body=reply.body, headers={"Content-Type": reply.content_type}
            )

        return handle

    async def start(self) -> None:
        """Listen on ``host:port``; on failure nothing is left listening."""
        app = web.Application()
        for path, route in self._routes.items():
            app.router.add_get(path, self._handler(route))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("http endpoint serving", endpoint=self._name, host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
