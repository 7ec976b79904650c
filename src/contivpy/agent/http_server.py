"""The agent's HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``.

In: ``HttpSettings`` (the ``http`` section of the agent's config: ``address``, host:port, None
for no endpoint), the process's ``AgentLifecycle`` (its ``metrics.registry``) and its
``AgentHealth``. Out: ``AgentHttpServer``, up from the process's first moment (as the debug
socket is) and answering in every phase:

- ``/metrics``: the agent's registry in Prometheus's text format;
- ``/healthz``: 200 "ok" while the event loop is alive, else 503 and why ("event loop stuck:
  AddPod processed for 75 s (limit 60 s)");
- ``/readyz``: 200 "ready" once the first resync is done with VPP connected and etcd
  reachable, else 503 and what it waits for ("waiting for VPP at /run/vpp/api.sock").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contivpy.http_endpoint import HttpEndpoint, Reply, metrics_reply, parse_address

if TYPE_CHECKING:
    from contivpy.agent.health import AgentHealth
    from contivpy.agent.lifecycle import AgentLifecycle

DEFAULT_ADDRESS = "127.0.0.1:9999"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where the agent serves HTTP; None: nowhere."""

    address: str | None = DEFAULT_ADDRESS  # host:port ([::1]:9999); port 0: any free port

    def validate(self) -> list[tuple[str, str]]:
        """(field, problem) for each bad value; empty when all are good."""
        if self.address is None:
            return []
        try:
            parse_address(self.address)
        except ValueError as error:
            return [("address", str(error))]
        return []


class AgentHttpServer(HttpEndpoint):
    """See the module docstring; ``address`` must be a valid ``host:port``."""

    def __init__(self, address: str, lifecycle: AgentLifecycle, health: AgentHealth) -> None:
        host, port = parse_address(address)
        self._lifecycle = lifecycle
        self._health = health
        routes = {"/metrics": self._metrics, "/healthz": self._healthz, "/readyz": self._readyz}
        super().__init__(host, port, routes, name="agent http")

    def _metrics(self) -> Reply:
        return metrics_reply(self._lifecycle.metrics.registry)

    def _healthz(self) -> Reply:
        stuck = self._health.liveness()
        return Reply.text(503, stuck) if stuck else Reply.text(200, "ok")

    def _readyz(self) -> Reply:
        not_ready = self._health.readiness()
        return Reply.text(503, f"not ready: {not_ready}") if not_ready else Reply.text(200, "ready")
