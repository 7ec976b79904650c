"""The scenario the debug API tests share: test descriptors, the desired state, a fake agent.

After its first full resync the scheduler holds base values A (with a derived child) and B
(depends on A), C (pending: its dependency never exists), a memif-like value M with a
secret, an enum and bytes, and a foreign object found southbound (obtained, not ours).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contivpy.api.introspection import (
    AgentStatus,
    CliOutput,
    IpAllocationView,
    IpamView,
    NatNotEnabledError,
    NatSessionsView,
    NatSessionView,
    NodeView,
    PodInterfaceView,
    PodView,
)
from contivpy.events.history import EventHistory
from contivpy.scheduler import DescriptorBase, Key, Retrieved, Scheduler
from doubles.southbound import Item, base_key

A, B, C = base_key("a"), base_key("b"), base_key("c")
FOREIGN = base_key("foreign")
MEMIF = "t/memif/"
M = MEMIF + "m1"
NOW = 1_000_000.0  # the service's clock in these tests
STARTED = NOW - 125.0


class Mode(enum.Enum):
    ETHERNET = 1
    IP = 2


@dataclass(frozen=True)
class Memif:
    name: str
    mode: Mode
    mac: bytes
    secret: str
    queues: tuple[int, ...] = (1,)


class MemifDescriptor(DescriptorBase):
    """Values with a secret, an enum and bytes, kept in a dict southbound."""

    name = "test-memif"
    key_prefix = MEMIF

    def __init__(self) -> None:
        self.objects: dict[Key, Memif] = {}

    async def create(self, key: Key, value: Memif) -> None:
        self.objects[key] = value

    async def update(self, key: Key, old: Memif, new: Memif, metadata: Any) -> None:
        self.objects[key] = new

    async def delete(self, key: Key, value: Memif, metadata: Any) -> None:
        del self.objects[key]

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        return [Retrieved(k, v) for k, v in self.objects.items()]


DESIRED: dict[Key, object] = {
    A: Item("a", children=(("c", "x"),)),
    B: Item("b", deps=(A,)),
    C: Item("c", deps=(base_key("never"),)),
    M: Memif("m1", Mode.IP, b"\x02\x00\x00\x00\x00\x01", secret="hunter2"),
}


@dataclass
class FakeAgent:
    """AgentIntrospection for tests: a real scheduler and history, a fixed status."""

    scheduler: Scheduler
    event_history: EventHistory
    status: AgentStatus = field(
        default_factory=lambda: AgentStatus(
            node_name="node-1",
            version="0.1.0-test",
            started_at=STARTED,
            vpp_connected=True,
            vpp_pid=4242,
            vpp_last_restart=STARTED + 5.0,
            vpp_restarts=1,
            event_queue_depth=3,
            event_queue_capacity=1000,
            event_queue_overflows=2,
            counters={"events.DBResync": 1},
        )
    )

    #: what vpp_cli raises (a VPP that cannot be asked), else it echoes the command
    vpp_error: Exception | None = None
    log_levels: list[str] = field(default_factory=lambda: ["info"])
    #: False: nat_sessions finds NAT44-ED off; else it answers one hairpin (twice-NAT) session
    nat_enabled: bool = True

    def agent_status(self) -> AgentStatus:
        return self.status

    def pod_views(self) -> list[PodView]:
        return [
            PodView(
                "default",
                "web",
                "node-1",
                "c1",
                "/var/run/netns/c1",
                ips=("10.1.1.2",),
                interfaces=(
                    PodInterfaceView("eth0", "vpp-tap-c1", "tap", ip="10.1.1.2", sw_if_index=3),
                    PodInterfaceView("m1", "memif-m1-c1", "memif", network="net1"),
                ),
            )
        ]

    def node_views(self) -> list[NodeView]:
        return [NodeView(1, "node-1", True, vpp_addresses=("192.168.16.1/24",))]

    def ipam_view(self) -> IpamView:
        return IpamView(
            "node-1",
            True,
            node_id=1,
            pod_subnet="10.1.1.0/24",
            allocations=(IpAllocationView("10.1.1.2", "default/web"),),
        )

    async def vpp_cli(self, command: str) -> CliOutput:
        if self.vpp_error is not None:
            raise self.vpp_error
        return CliOutput(f"ran {command}\n", ok=not command.startswith("bad"))

    async def nat_sessions(self) -> NatSessionsView:
        if self.vpp_error is not None:
            raise self.vpp_error
        if not self.nat_enabled:
            raise NatNotEnabledError("NAT44-ED is not enabled on this node's VPP")
        hairpin = NatSessionView(
            inside_ip="10.1.1.2",
            inside_port=8080,
            outside_ip="10.96.0.10",
            outside_port=80,
            protocol="tcp",
            inside_vrf=1,
            ext_host_ip="10.1.1.2",
            ext_host_port=40000,
            twice_nat=True,
            ext_host_nat_ip="10.1.1.254",
            ext_host_nat_port=40000,
            static=True,
            idle_seconds=7,
            total_packets=3,
        )
        return NatSessionsView((hairpin,), users=1, max_sessions=64512)

    def set_log_level(self, level: str) -> str:
        self.log_levels.append(level)
        return self.log_levels[-2]
