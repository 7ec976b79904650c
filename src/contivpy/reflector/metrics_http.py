"""An HTTP endpoint serving one Prometheus registry: ``/metrics`` (and ``/stats``, Contiv's path).

In: a ``CollectorRegistry``, a host and a port (0: any free port). Out: a running aiohttp
server, started and stopped with the reflector (``async with MetricsServer(...)``), and the
port it is bound to. aiohttp rather than prometheus_client's own server: that one runs in a
thread that cannot be stopped cleanly from asyncio.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from contivpy.async_service import AsyncService

log = structlog.get_logger(__name__)


class MetricsServer(AsyncService):
    """Serves ``registry`` on ``host:port`` while open."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self._registry = registry
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = 0  # the bound port, once started

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        """Listen on ``host:port``; on failure nothing is left listening."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/stats", self._metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("metrics served", host=self._host, port=self.port)

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
