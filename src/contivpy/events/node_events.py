"""NodeUpdate: another node came, changed its addresses, or left.

In: pushed by nodesync as a follow-up of the reflected change that caused it. Out: ipnet
re-renders the connectivity to that node (VXLAN tunnel, routes, ARP, FIB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from contivpy.events.types import Event


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What other controllers know of a node."""

    id: int
    name: str
    vpp_addresses: tuple[str, ...] = ()  # CIDR, the node's VPP main-interface addresses
    mgmt_addresses: tuple[str, ...] = ()  # InternalIP / ExternalIP of the Kubernetes node
    pod_cidr: str = ""


@dataclass(frozen=True, eq=False)
class NodeUpdate(Event):
    """A node's info changed (``new`` None: it left; ``prev`` None: it joined)."""

    name: ClassVar[str] = "NodeUpdate"
    node: str
    prev: NodeInfo | None
    new: NodeInfo | None

    def describe(self) -> str:
        verb = "left" if self.new is None else ("joined" if self.prev is None else "changed")
        return f"node {self.node} {verb}"
