"""Settings of the reflector: where Kubernetes and etcd are, the key layout, timings.

In: plain values from the composition root (the ``contivpy reflector`` command) or tests.
Out: a frozen, validated ``ReflectorSettings``; ``ConfigError`` names the bad setting.
Defaults are Contiv-VPP's KSR: prefix ``/vnf-agent/contiv-ksr/``, resync backoff 100 ms
doubling to 1 s, etcd checked every second.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from contivpy.errors import ConfigError
from contivpy.models.k8s_codec import DEFAULT_PREFIX
from contivpy.reflector.kinds import KIND_NAMES
from contivpy.store.settings import StoreSettings

DEFAULT_AGENT_PREFIX = "/vnf-agent/"


def default_identity() -> str:
    """``<host>-<pid>-<random>``: unique per process, readable in the leader key."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class ReflectorSettings:
    """How the reflector runs.

    - ``kubeconfig``: the kubeconfig file; None means the in-cluster service account.
      ``kube_context``: a context of that file other than its current one.
    - ``store``: etcd (no endpoints: an embedded etcd in ``embedded_workdir``).
    - ``prefix``: where reflected objects live (``<prefix>k8s/...``, ``<prefix>allocatedIDs/``,
      ``<prefix>status/gauges``, ``<prefix>election/leader``); relative to ``store.prefix``.
    - ``agent_prefix``: per-node configuration lives under ``<agent_prefix><node>/``; it is
      deleted with the node.
    - ``kinds``: which resources to reflect (their keywords; default all).
    - ``election_ttl``: seconds the leader's lease lives without keep-alive: how long a
      standby waits for a dead leader.
    - ``identity``: this instance's value in the leader key (default: host, pid, random).
    - ``retry_initial`` / ``retry_max``: backoff after errors (API server or etcd), doubling.
    - ``watch_timeout``: seconds one watch request lasts before it is reopened (server side).
    - ``missing_kind_retry``: seconds between looks for a kind the API server does not serve
      (a CRD not installed yet).
    - ``status_interval``: seconds between etcd data-loss checks and stats publication.
    - ``metrics_port``: serve Prometheus metrics on ``metrics_host:metrics_port`` (0: any
      free port); None: no HTTP endpoint.
    """

    kubeconfig: Path | None = None
    kube_context: str | None = None
    store: StoreSettings = field(default_factory=StoreSettings)
    embedded_workdir: Path | None = None
    prefix: str = DEFAULT_PREFIX
    agent_prefix: str = DEFAULT_AGENT_PREFIX
    kinds: tuple[str, ...] = KIND_NAMES
    election_ttl: int = 10
    identity: str = field(default_factory=default_identity)
    retry_initial: float = 0.1
    retry_max: float = 1.0
    watch_timeout: int = 300
    missing_kind_retry: float = 5.0
    status_interval: float = 1.0
    metrics_host: str = "127.0.0.1"  # 0.0.0.0 to be scraped from elsewhere
    metrics_port: int | None = None

    def __post_init__(self) -> None:
        for name in ("prefix", "agent_prefix"):
            value = getattr(self, name)
            if not value.endswith("/"):
                raise ConfigError(f"reflector {name} {value!r} must end with '/'")
        unknown = sorted(set(self.kinds) - set(KIND_NAMES))
        if unknown:
            raise ConfigError(f"reflector kinds: unknown {unknown} (known: {list(KIND_NAMES)})")
        if self.election_ttl < 1:
            raise ConfigError("reflector election_ttl must be at least 1 second")
        if not self.identity:
            raise ConfigError("reflector identity must not be empty")
        if not 0 < self.retry_initial <= self.retry_max:
            raise ConfigError("reflector retry_initial must be positive and <= retry_max")
        for name in ("watch_timeout", "missing_kind_retry", "status_interval"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"reflector {name} must be positive")
        if self.metrics_port is not None and not 0 <= self.metrics_port < 65536:
            raise ConfigError(f"reflector metrics_port {self.metrics_port} is not a port")
        try:
            ipaddress.ip_address(self.metrics_host)
        except ValueError:
            raise ConfigError(
                f"reflector metrics address {self.metrics_host!r} is not an IP address"
            ) from None
