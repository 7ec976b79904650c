"""What the debug API needs from an agent, from its first moment on.

In: nothing (type definitions). Out: ``AgentIntrospection``, the Protocol the agent (or a
test) implements to be served by ``DebugService``; ``AgentStatus``, the agent-level facts
the scheduler cannot know (identity, phase, VPP and etcd connections, the event loop's
queue); ``AgentPhase``; and ``AgentNotReadyError``, which an agent that is still starting
raises instead of handing out its scheduler or history (the API answers UNAVAILABLE with its
message). Everything else the debug API shows comes straight from the scheduler and the
event history.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from contivpy.events.history import EventHistory
from contivpy.scheduler import Scheduler


class AgentPhase(enum.Enum):
    """Where the agent is in its life, in the words ``ctl status`` shows."""

    STARTING = "starting"
    WAITING_FOR_ETCD = "waiting for etcd"
    WAITING_FOR_VPP = "waiting for VPP"
    FIRST_RESYNC = "first resync"
    RUNNING = "running"
    STOPPING = "stopping"


class AgentNotReadyError(Exception):
    """The agent has no scheduler or history to show yet; the message says what it waits for
    (``agent is starting: waiting for VPP at /run/vpp/api.sock``)."""


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """A snapshot of the agent's own state, taken when Status is asked for.

    Times are wall clock (``time.time()``); 0 means never or unknown.
    """

    node_name: str
    version: str
    started_at: float
    phase: AgentPhase = AgentPhase.RUNNING
    waiting_for: str = ""  # what the phase waits for ("VPP at /run/vpp/api.sock"), or ""
    store_endpoint: str = ""  # host:port of the etcd endpoint in use, "" before it is open
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
        """The agent's scheduler (started); AgentNotReadyError while there is none yet."""

    @property
    def event_history(self) -> EventHistory:
        """The event loop's history; AgentNotReadyError while there is none yet."""

    def agent_status(self) -> AgentStatus:
        """The agent's state now (in every phase)."""
