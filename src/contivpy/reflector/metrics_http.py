"""The reflector's Prometheus endpoint: ``/metrics`` (and ``/stats``, Contiv's path).

In: a ``CollectorRegistry``, a host and a port (0: any free port). Out: a running HTTP server
(``contivpy.http_endpoint``), started and stopped with the reflector (``async with
MetricsServer(...)``), and the port it is bound to.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from contivpy.http_endpoint import HttpEndpoint, Reply, metrics_reply


class MetricsServer(HttpEndpoint):
    """Serves ``registry`` on ``host:port`` while open."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        def metrics() -> Reply:
            return metrics_reply(registry)

        super().__init__(
            host, port, {"/metrics": metrics, "/stats": metrics}, name="reflector metrics"
        )
