"""The agent's liveness and readiness, in words, for /healthz, /readyz and systemd.

In: the process's ``AgentLifecycle`` (its phase, and the NodeAgent once there is one) and
``HealthSettings``. Out: ``AgentHealth``, whose ``liveness()`` and ``readiness()`` return ""
when all is well and otherwise why not, and whose ``status()`` is the one line systemd shows.

Alive: the agent's event loop is not stuck, that is no event has been processed for longer
than ``event_stuck_after`` seconds ("event AddPod stuck for 75 s"). Waiting for etcd or VPP is
not being stuck: those are readiness. A process whose asyncio loop is blocked altogether
cannot answer /healthz nor ping systemd's watchdog: its silence says it.

Ready: the first resync is done, VPP is connected and resynced, and etcd answered the last
check. etcd is checked with a read every ``etcd_check_interval`` seconds while the service
runs (``async with AgentHealth(...)``), so /readyz itself never waits for etcd.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from contivpy.api.introspection import AgentPhase
from contivpy.async_service import AsyncService, cancel_and_wait
from contivpy.errors import ContivpyError

if TYPE_CHECKING:
    from contivpy.agent.lifecycle import AgentLifecycle

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """When the agent counts as stuck, and how often etcd is checked."""

    event_stuck_after: float = 60.0  # seconds one event may be processed before it is stuck
    etcd_check_interval: float = 5.0  # seconds between readiness's etcd reads

    def validate(self) -> list[tuple[str, str]]:
        """(field, problem) for each bad value; empty when all are good."""
        return [
            (name, "must be more than 0")
            for name in ("event_stuck_after", "etcd_check_interval")
            if not getattr(self, name) > 0
        ]


class AgentHealth(AsyncService):
    """See the module docstring."""

    def __init__(
        self,
        lifecycle: AgentLifecycle,
        settings: HealthSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifecycle = lifecycle
        self.settings = settings or HealthSettings()
        self._clock = clock
        self._etcd_down_since = 0.0  # wall clock of the first failed check in a row; 0: up
        self._etcd_error = ""
        self._task: asyncio.Task[None] | None = None

    # --- the answers ---------------------------------------------------------------------

    def liveness(self) -> str:
        """ "" when the event loop is alive, else why it is not."""
        agent = self.lifecycle.agent
        busy = agent.loop.busy_with if agent is not None else None
        if busy is None:
            return ""
        name, since = busy
        age = self._clock() - since
        if age <= self.settings.event_stuck_after:
            return ""
        return (
            f"event loop stuck: {name} processed for {age:.0f} s "
            f"(limit {self.settings.event_stuck_after:g} s)"
        )

    def readiness(self) -> str:
        """ "" when the agent serves (first resync done, VPP connected, etcd reachable), else
        why it does not."""
        lifecycle = self.lifecycle
        phase, agent = lifecycle.phase, lifecycle.agent
        if phase is AgentPhase.STOPPING:
            return "stopping"
        if phase is not AgentPhase.RUNNING or agent is None:
            if phase is AgentPhase.FIRST_RESYNC:
                return "first resync under way"
            return lifecycle.describe()  # "waiting for VPP at /run/vpp/api.sock", ...
        if not agent.vpp.connected:
            error = agent.vpp.last_error
            because = f": {error}" if error is not None else ""
            return f"waiting for VPP at {agent.config.paths.vpp_socket} (disconnected{because})"
        if agent.loop.waiting_for_dataplane:
            return "resyncing VPP after it came back"
        if self._etcd_down_since:
            since = datetime.fromtimestamp(self._etcd_down_since, UTC).isoformat(timespec="seconds")
            return f"etcd unreachable since {since}: {self._etcd_error}"
        return ""

    def status(self) -> str:
        """One line for systemd's STATUS=: the phase, or "ready: N pods"."""
        stuck = self.liveness()
        if stuck:
            return stuck
        not_ready = self.readiness()
        if not not_ready:
            agent = self.lifecycle.agent
            pods = len(agent.pods.pods) if agent is not None else 0
            return f"ready: {pods} pod{'' if pods == 1 else 's'}"
        if self.lifecycle.phase is AgentPhase.FIRST_RESYNC:
            return "resyncing (first resync)"
        if self.lifecycle.phase is AgentPhase.RUNNING:
            return f"not ready: {not_ready}"
        return not_ready

    # --- the etcd check ------------------------------------------------------------------

    async def start(self) -> None:
        """Check etcd in the background from now on."""
        self._task = asyncio.create_task(self._check_etcd(), name="health-etcd-check")

    async def stop(self) -> None:
        """Stop checking."""
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])

    async def _check_etcd(self) -> None:
        interval = self.settings.etcd_check_interval
        while True:
            await asyncio.sleep(interval)
            agent = self.lifecycle.agent
            if agent is None or self.lifecycle.phase is AgentPhase.STOPPING:
                continue  # before: the phase says "waiting for etcd"
            try:
                async with asyncio.timeout(interval):
                    await agent.store.get(agent.config.ksr_prefix)
            except (ContivpyError, TimeoutError) as error:
                if not self._etcd_down_since:
                    self._etcd_down_since = time.time()
                    log.warning("etcd unreachable", error=str(error) or "timed out")
                self._etcd_error = str(error) or f"no answer within {interval:g} s"
                continue
            if self._etcd_down_since:
                log.info("etcd reachable again")
            self._etcd_down_since, self._etcd_error = 0.0, ""
