"""The agent process's phases, as the debug API sees them from the process's first moment.

In: what ``contivpy agent`` is doing (``waiting_for_store``, then the ``NodeAgent`` once it is
built, then ``stopping``). Out: ``AgentLifecycle``, an ``AgentIntrospection`` that answers
Status in every phase (the phase and what the agent waits for: "etcd at 10.0.0.1:2379", "VPP
at /run/vpp/api.sock") and hands out the scheduler and the event history once the agent has
reached VPP; before that they raise ``AgentNotReadyError`` ("agent is starting: waiting for
..."), which the debug API answers with UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING

import structlog

import contivpy
from contivpy.agent.metrics import AgentMetrics
from contivpy.api.introspection import (
    AgentNotReadyError,
    AgentPhase,
    AgentStatus,
    CliOutput,
    IpamView,
    NatSessionsView,
    NodeView,
    PodView,
)
from contivpy.events.history import EventHistory
from contivpy.logs import change_level
from contivpy.scheduler import Scheduler

if TYPE_CHECKING:
    from contivpy.agent.node_agent import NodeAgent

log = structlog.get_logger(__name__)

# The agent's scheduler and history exist from construction, but until VPP is reached they
# hold nothing worth showing and a resync through them could not work.
_NOT_READY = (AgentPhase.STARTING, AgentPhase.WAITING_FOR_ETCD, AgentPhase.WAITING_FOR_VPP)


class AgentLifecycle:
    """One agent process's phase, and its NodeAgent once there is one."""

    def __init__(self, node_name: str) -> None:
        self.node_name = node_name
        self.started_at = time.time()
        self._phase = AgentPhase.STARTING
        self._waiting_for = ""
        self._agent: NodeAgent | None = None
        # Exists from the process's first moment, so /metrics answers in every phase.
        self.metrics = AgentMetrics()

    def waiting_for_store(self, what: str) -> None:
        """The store is being opened; ``what`` names it ("etcd at 10.0.0.1:2379")."""
        self._enter(AgentPhase.WAITING_FOR_ETCD, what)

    def attach(self, agent: NodeAgent) -> None:
        """The store is open and the agent built: from now on its own phase counts."""
        self._agent = agent

    def stopping(self) -> None:
        """The process is stopping (the agent, then the store)."""
        if self._phase is not AgentPhase.STOPPING:
            self._enter(AgentPhase.STOPPING, "")

    def checkpoint(self) -> None:
        """Raise CancelledError once the process is stopping: the start stops here even if
        the cancellation that should have stopped it got lost on the way (Python 3.11's
        ``asyncio.wait_for`` drops one that arrives as the awaited call completes)."""
        if self._phase is AgentPhase.STOPPING:
            raise asyncio.CancelledError

    def _enter(self, phase: AgentPhase, waiting_for: str) -> None:
        self._phase, self._waiting_for = phase, waiting_for
        log.info("agent phase", phase=self.describe())

    @property
    def agent(self) -> NodeAgent | None:
        """The NodeAgent, once the store is open and it is built (health reads its parts)."""
        return self._agent

    @property
    def phase(self) -> AgentPhase:
        """Where the process is now."""
        if self._agent is not None and self._phase is not AgentPhase.STOPPING:
            return self._agent.phase
        return self._phase

    @property
    def waiting_for(self) -> str:
        """What the process waits for now ("" for nothing)."""
        if self._agent is not None and self._phase is not AgentPhase.STOPPING:
            return self._agent.waiting_for
        return self._waiting_for

    def describe(self) -> str:
        """The phase in words: "waiting for VPP at /run/vpp/api.sock", "running", ..."""
        waiting_for = self.waiting_for
        return f"waiting for {waiting_for}" if waiting_for else self.phase.value

    # --- AgentIntrospection --------------------------------------------------------------

    def _ready_agent(self) -> NodeAgent:
        agent = self._agent
        if agent is None and self._phase is AgentPhase.STOPPING:
            raise AgentNotReadyError("agent is stopping (it never got past the start)")
        if agent is None or self.phase in _NOT_READY:
            raise AgentNotReadyError(f"agent is starting: {self.describe()}")
        return agent

    @property
    def scheduler(self) -> Scheduler:
        """The agent's scheduler, once it has reached VPP."""
        return self._ready_agent().scheduler

    @property
    def event_history(self) -> EventHistory:
        """The agent's event history, once it has reached VPP."""
        return self._ready_agent().event_history

    def pod_views(self) -> list[PodView]:
        """The agent's pods, once it has reached VPP."""
        return self._ready_agent().pod_views()

    def node_views(self) -> list[NodeView]:
        """The nodes the agent knows, once it has reached VPP."""
        return self._ready_agent().node_views()

    def ipam_view(self) -> IpamView:
        """The agent's address plan, once it has reached VPP."""
        return self._ready_agent().ipam_view()

    async def vpp_cli(self, command: str) -> CliOutput:
        """A VPP CLI command through the agent's VPP connection."""
        return await self._ready_agent().vpp_cli(command)

    async def nat_sessions(self) -> NatSessionsView:
        """The NAT44-ED sessions of the agent's VPP."""
        return await self._ready_agent().nat_sessions()

    def set_log_level(self, level: str) -> str:
        """Change the process's log level (in every phase); the previous one."""
        return change_level(level)

    def agent_status(self) -> AgentStatus:
        """The agent's status with the process's phase; before there is an agent, only who
        it is and what it waits for."""
        if self._agent is not None:
            # The process's start, not the agent's: its uptime includes the wait for etcd.
            status = dataclasses.replace(self._agent.agent_status(), started_at=self.started_at)
            if self._phase is AgentPhase.STOPPING:
                return dataclasses.replace(status, phase=AgentPhase.STOPPING, waiting_for="")
            return status
        return AgentStatus(
            node_name=self.node_name,
            version=contivpy.__version__,
            started_at=self.started_at,
            phase=self._phase,
            waiting_for=self._waiting_for,
        )
