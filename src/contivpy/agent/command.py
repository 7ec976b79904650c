"""`contivpy agent`: run one node agent until SIGINT/SIGTERM.

In: the config file path and overrides. Out: the agent running on uvloop against etcd (or an
embedded etcd when none is configured); exit code 0 after a clean stop, 2 for a bad
configuration (one line naming the setting), 1 when it could not start.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog
import uvloop

from contivpy.agent.config_file import load_agent_config
from contivpy.agent.node_agent import NodeAgent
from contivpy.errors import ConfigError, ContivpyError
from contivpy.store.factory import open_store

log = structlog.get_logger(__name__)


def run_agent_command(
    config: Path | None, *, node_name: str = "", endpoints: tuple[str, ...] = ()
) -> int:
    """The command's body."""
    try:
        agent_config, store_settings = load_agent_config(
            config, node_name=node_name, endpoints=endpoints
        )
    except ConfigError as error:
        log.error("bad configuration", error=str(error))
        return 2

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            workdir = agent_config.paths.state_dir / "etcd"
            async with open_store(store_settings, embedded_workdir=workdir) as store:
                agent = NodeAgent(agent_config, store)
                await agent.start()
                try:
                    await stop.wait()
                finally:
                    await agent.stop()
        except ConfigError as error:
            log.error("bad configuration", error=str(error))
            return 2
        except ContivpyError as error:
            log.error("agent failed", error=str(error))
            return 1
        return 0

    return uvloop.run(main())
