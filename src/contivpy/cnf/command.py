"""Entry function of ``contivpy cnf`` (the composition root wires it; no argv here).

In: the microservice label, the VPP API socket, etcd endpoints (comma-separated) and the
store's key prefix. Out: an exit code: 0 after SIGINT/SIGTERM, 2 for invalid settings, 1 when
the agent failed. Runs on uvloop until interrupted.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import structlog
import uvloop

from contivpy.cnf.agent import CnfAgent
from contivpy.errors import ConfigError, ContivpyError
from contivpy.models.vnf_config import microservice_label_problem
from contivpy.store.factory import open_store
from contivpy.store.settings import StoreSettings

log = structlog.get_logger(__name__)


async def _serve(label: str, vpp_socket: str, store_settings: StoreSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with open_store(store_settings) as store:
        agent = CnfAgent(store, label, vpp_socket)
        try:
            await agent.start()
            await stop.wait()
        finally:
            await agent.stop()


def run_cnf_command(*, label: str, vpp_socket: str, etcd: str, prefix: str = "") -> int:
    """``contivpy cnf``: configure this CNF's VPP from etcd until interrupted."""
    problem = microservice_label_problem(label)
    endpoints = tuple(e.strip() for e in etcd.split(",") if e.strip())
    try:
        if problem:
            raise ConfigError(f"--label {label!r}: {problem}")
        if not endpoints:
            raise ConfigError("--etcd: give at least one endpoint")
        settings = StoreSettings(endpoints=endpoints, prefix=prefix)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        uvloop.run(_serve(label, vpp_socket, settings))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ContivpyError, OSError) as error:
        log.error("cnf agent failed", error=str(error))
        return 1
    return 0
