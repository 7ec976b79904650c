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

from contivpy.api.introspection import AgentStatus
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

    def agent_status(self) -> AgentStatus:
        return self.status
