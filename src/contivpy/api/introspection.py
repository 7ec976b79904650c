"""What the debug API needs from an agent, from its first moment on.

In: nothing (type definitions). Out: ``AgentIntrospection``, the Protocol the agent (or a
test) implements to be served by ``DebugService``; ``AgentStatus``, the agent-level facts
the scheduler cannot know (identity, phase, VPP and etcd connections, the event loop's
queue); ``AgentPhase``; and ``AgentNotReadyError``, which an agent that is still starting
raises instead of handing out its scheduler or history (the API answers UNAVAILABLE with its
message); and the inventory views the agent builds from its controllers' state and the
scheduler's desired and applied values, read-only (``PodView``, ``NodeView``, ``IpamView``),
plus ``CliOutput`` of a VPP CLI command and ``NatSessionsView``, the NAT44-ED sessions VPP
holds (``NatNotEnabledError`` when NAT44-ED is off). Everything else the debug API shows comes
straight from the scheduler and the event history.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class PodInterfaceView:
    """One VPP interface of a pod; sw_if_index and vpp_name once VPP has it."""

    pod_interface: str  # its name inside the pod
    name: str  # the agent's name of VPP's side
    kind: str  # "tap", "veth" or "memif"
    network: str = "default"
    ip: str = ""
    state: str = ""  # the scheduler's state of the interface
    sw_if_index: int | None = None
    vpp_name: str = ""


@dataclass(frozen=True, slots=True)
class PodView:
    """A pod wired on this node."""

    namespace: str
    name: str
    node: str
    container_id: str
    netns: str
    ips: tuple[str, ...] = ()
    interfaces: tuple[PodInterfaceView, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeView:
    """A node with an ID, and this node's VXLAN tunnel to it ("" name: none)."""

    id: int
    name: str
    this_node: bool
    vpp_addresses: tuple[str, ...] = ()
    mgmt_addresses: tuple[str, ...] = ()
    pod_subnet: str = ""
    vxlan_tunnel: str = ""
    vxlan_src: str = ""
    vxlan_dst: str = ""
    vxlan_vni: int = 0
    vxlan_state: str = ""


@dataclass(frozen=True, slots=True)
class IpAllocationView:
    """An IP of this node and who holds it (interface "": the pod's main interface)."""

    ip: str
    pod: str
    interface: str = ""
    network: str = "default"


@dataclass(frozen=True, slots=True)
class IpamView:
    """This node's address plan (empty addresses until the node has an ID)."""

    node_name: str
    ready: bool
    node_id: int = 0
    node_ip: str = ""
    pod_subnet: str = ""
    pod_gateway: str = ""
    nat_loopback: str = ""
    vpp_host_subnet: str = ""
    host_vpp_address: str = ""
    host_linux_address: str = ""
    vxlan_address: str = ""
    main_vrf_id: int = 0
    pod_vrf_id: int = 0
    config: Mapping[str, str] = field(default_factory=dict)
    allocations: tuple[IpAllocationView, ...] = ()


@dataclass(frozen=True, slots=True)
class CliOutput:
    """VPP's answer to a CLI command (ok False: VPP refused it, text says why)."""

    text: str
    ok: bool


@dataclass(frozen=True, slots=True)
class NatSessionView:
    """One NAT44-ED session as VPP reports it (protocol: "tcp", "udp", "icmp" or a number;
    ext_host_nat_*: the peer's address as the inside sees it, "" unless twice-NAT)."""

    inside_ip: str
    inside_port: int
    outside_ip: str
    outside_port: int
    protocol: str
    inside_vrf: int
    ext_host_ip: str
    ext_host_port: int
    twice_nat: bool = False
    ext_host_nat_ip: str = ""
    ext_host_nat_port: int = 0
    static: bool = False
    idle_seconds: int = 0
    timed_out: bool = False
    total_bytes: int = 0
    total_packets: int = 0


@dataclass(frozen=True, slots=True)
class NatSessionsView:
    """The NAT44-ED sessions of this node's VPP and how many users (inside addresses) hold
    them; max_sessions is VPP's limit per thread."""

    sessions: tuple[NatSessionView, ...] = ()
    users: int = 0
    max_sessions: int = 0


class NatNotEnabledError(Exception):
    """NAT44-ED is not enabled on this node's VPP: there are no sessions to show."""


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

    def pod_views(self) -> Sequence[PodView]:
        """The pods wired on this node; AgentNotReadyError while starting."""

    def node_views(self) -> Sequence[NodeView]:
        """Every node with an ID; AgentNotReadyError while starting."""

    def ipam_view(self) -> IpamView:
        """This node's address plan and allocations; AgentNotReadyError while starting."""

    async def vpp_cli(self, command: str) -> CliOutput:
        """Run one VPP CLI command (VppError when VPP cannot be asked)."""

    async def nat_sessions(self) -> NatSessionsView:
        """The NAT44-ED sessions VPP holds (NatNotEnabledError when NAT44-ED is off,
        VppError when VPP cannot be asked, AgentNotReadyError while starting)."""

    def set_log_level(self, level: str) -> str:
        """Change the log level now; the previous one (ValueError for an unknown level)."""
