"""What the debug API needs from a running agent.

In: nothing (type definitions). Out: ``AgentIntrospection``, the Protocol the agent (or a
test) implements to be served by ``DebugService``, and ``AgentStatus``, the agent-level facts
the scheduler cannot know (identity, VPP connection, the event loop's queue). Everything
else the debug API shows comes straight from the scheduler and the event history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from contivpy.events.history import EventHistory
from contivpy.scheduler import Scheduler


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """A snapshot of the agent's own state, taken when Status is asked for.

    Times are wall clock (``time.time()``); 0 means never or unknown.
    """

    node_name: str
    version: str
    started_at: float
    vpp_connected: bool = False
    vpp_pid: int = 0
    vpp_last_restart: float = 0.0
    vpp_restarts: int = 0
    event_queue_depth: int = 0
    event_queue_capacity: int = 0
    event_queue_overflows: int = 0
    # Agent counters (events by name, CNI requests, ...); the scheduler's are added by the API.
    counters: Mapping[str, int] = field(default_factory=dict)


class AgentIntrospection(Protocol):
    """A running agent as the debug API sees it. Read-only properties, so a plain object
    with attributes, a dataclass or the agent itself all qualify."""

    @property
    def scheduler(self) -> Scheduler:
        """The agent's scheduler (started)."""

    @property
    def event_history(self) -> EventHistory:
        """The event loop's history."""

    def agent_status(self) -> AgentStatus:
        """The agent's state now."""
