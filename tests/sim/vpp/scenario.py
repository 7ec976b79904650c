"""The pods the packet-walk tests place, and how the tests name what a trace shows.

In: nothing (constants), or a :class:`~sim.cluster.Cluster`. Out: node plans, pod names and
IPs (A and A2 on node 1, B on node 2, C on node 3), the hop kinds as short names, the shape
of a pod-to-pod walk across two nodes, and helpers: the trace name of a tagged interface,
and a trace from pod A.
"""

from __future__ import annotations

from contivpy.controllers import naming
from contivpy.sim.vpp.forwarding import find_interface
from contivpy.sim.vpp.forwarding_trace import HopKind, InterfaceRef, Trace
from sim.vpp.cluster import Cluster
from sim.vpp.vswitch import NodePlan

RX, FIB, ARP, L2 = HopKind.RX, HopKind.FIB, HopKind.ARP, HopKind.L2
ENCAP, DECAP, TX = HopKind.ENCAP, HopKind.DECAP, HopKind.TX
NODE1, NODE2, NODE3 = NodePlan(1), NodePlan(2), NodePlan(3)
POD_A, POD_A2, POD_B, POD_C = "pod-a", "pod-a2", "pod-b", "pod-c"
IP_A, IP_A2, IP_B, IP_C = NODE1.pod_ip(1), NODE1.pod_ip(2), NODE2.pod_ip(1), NODE3.pod_ip(1)
TAP_A, TAP_B = naming.pod_vpp_tap(POD_A), naming.pod_vpp_tap(POD_B)

#: pod A on node 1 to pod B on node 2: routed to the BVI, bridged into the tunnel, carried
#: over the underlay, bridged to node 2's BVI, routed to B's tap
ACROSS_TWO_NODES = [
    *[("node1", kind) for kind in (RX, FIB, ARP, L2, ENCAP, FIB)],
    *[("node2", kind) for kind in (RX, DECAP, L2, RX, FIB, ARP, TX)],
]


def ref(cluster: Cluster, node: str, logical: str) -> InterfaceRef:
    """How a trace names the interface tagged ``logical`` on ``node``."""
    iface = find_interface(cluster.fabric.state(node), logical)
    assert iface is not None, f"{logical} not on {node}"
    return InterfaceRef(iface.name, iface.tag)


def trace_a(cluster: Cluster, dst: object) -> Trace:
    """A packet from pod A (node 1) to ``dst``."""
    return cluster.fabric.trace("node1", TAP_A, IP_A, str(dst))
