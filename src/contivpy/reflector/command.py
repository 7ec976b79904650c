"""Entry function of ``contivpy reflector`` (the composition root wires it; no argv here).

In: plain arguments: ``--kubeconfig PATH`` (absent: in-cluster config), ``--etcd ENDPOINTS``
(comma-separated; absent: an embedded etcd), ``--prefix P``, ``--metrics-port N`` (served on
``--metrics-address``, default 127.0.0.1), the election TTL. Out: an exit code — 0 after
SIGINT/SIGTERM (a graceful stop: leadership is handed over at once), 2 for invalid settings,
1 when the reflector failed. Runs on uvloop.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog
import uvloop

from contivpy.errors import ConfigError, ContivpyError
from contivpy.models.k8s_codec import DEFAULT_PREFIX
from contivpy.reflector.service import run_reflector
from contivpy.reflector.settings import ReflectorSettings
from contivpy.store.settings import StoreSettings

log = structlog.get_logger(__name__)


def parse_endpoints(etcd: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a:2379,b:2379"`` (or several such) -> ``("a:2379", "b:2379")``; None -> ()."""
    if etcd is None:
        return ()
    texts = [etcd] if isinstance(etcd, str) else list(etcd)
    return tuple(part.strip() for text in texts for part in text.split(",") if part.strip())


async def _serve(settings: ReflectorSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run_reflector(settings, stop=stop)


def run_reflector_command(
    *,
    kubeconfig: Path | None = None,
    etcd: str | Sequence[str] | None = None,
    prefix: str = DEFAULT_PREFIX,
    metrics_port: int | None = None,
    metrics_address: str = "127.0.0.1",
    election_ttl: int = 10,
    kube_context: str | None = None,
    embedded_workdir: Path | None = None,
) -> int:
    """``contivpy reflector``: reflect Kubernetes into etcd until interrupted."""
    try:
        settings = ReflectorSettings(
            kubeconfig=kubeconfig,
            kube_context=kube_context,
            store=StoreSettings(endpoints=parse_endpoints(etcd)),
            embedded_workdir=embedded_workdir,
            prefix=prefix,
            metrics_port=metrics_port,
            metrics_host=metrics_address,
            election_ttl=election_ttl,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        uvloop.run(_serve(settings))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ContivpyError, OSError) as error:
        log.error("reflector failed", error=str(error))
        return 1
    return 0
