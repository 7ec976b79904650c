"""What a packet walk found: the hops, the verdict, and a text view of both.

In: hops and a verdict from the walk (``forwarding.py``). Out: frozen dataclasses that tests
can compare: one dataclass per kind of hop (rx, FIB lookup, ARP, L2 lookup, VXLAN
encap/decap, a memif link crossed to another VPP, tx), a :class:`Verdict` (DELIVERED at a
node's interface or DROPPED at a node with a reason), the :class:`Trace` holding them, and
``Trace.render()``, one line per hop::

    10.1.1.2 -> 10.1.2.2 from node1 vpp-tap-pod-a
     1 node1  rx     tap1 (vpp-tap-pod-a) table 1
     2 node1  fib    table 1: 10.1.2.2 matches 10.1.2.0/24 [api] via 192.168.30.2 loop1 (vxlanBVI)
     3 node1  arp    loop1 (vxlanBVI): 192.168.30.2 is 12:2b:00:00:00:02
     4 node1  l2     bd 1 (vxlanBD): 12:2b:00:00:00:02 -> vxlan_tunnel0 (vxlan-default-2)
     5 node1  encap  vxlan_tunnel0 (vxlan-default-2) vni 10 192.168.16.1 -> 192.168.16.2
     ...
    DELIVERED at node2: tap1 (vpp-tap-pod-b)

A walk that began with an Ethernet frame (``Fabric.trace_frame``) names it in the first line
and shows cross-connects and 802.1Q tags (seed 000's chains)::

    1.2.3.4 -> 1.2.3.5 from node1 cnf1-tap1: ARP request who-has 1.2.3.5 tell 1.2.3.4, broadcast
     1 node1  rx     tap0 (cnf1-tap1) l2 xconnect
     2 node1  tx     L2 xconnect tap0 (cnf1-tap1) -> tap1 (cnf2-tap1)
    DELIVERED at node1: tap1 (cnf2-tap1) (cross-connected: to its Linux end tap1 ...)

    ... from vswitch GigabitEthernet0/a/0: ARP request who-has 1.2.3.5 ..., dot1q 200
     1 vswitch  rx     GigabitEthernet0/a/0.200 l2 xconnect dot1q 200
     2 vswitch  tx     L2 xconnect GigabitEthernet0/a/0.200 -> memif1/1 dot1q 200

Interfaces are named by VPP's name and by the tag a control plane gave them (the logical
name), so a trace reads in either vocabulary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from contivpy.vppcalls.wire import IpAddress, IpNetwork


@dataclass(frozen=True)
class InterfaceRef:
    """An interface as a trace shows it: VPP's name and the control plane's tag."""

    name: str
    tag: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.tag})" if self.tag not in ("", self.name) else self.name


class HopKind(enum.Enum):
    """What happened at one hop."""

    RX = "rx"
    FIB = "fib"
    ARP = "arp"
    L2 = "l2"
    ENCAP = "encap"
    DECAP = "decap"
    MEMIF = "memif"
    NAT = "nat"
    TX = "tx"


@dataclass(frozen=True)
class PathTaken:
    """The route path a FIB lookup followed (the first one of a multipath route)."""

    #: fib_path_type name, lower case: normal, local, drop, icmp-unreachable, ...
    type: str
    interface: InterfaceRef | None = None
    next_hop: IpAddress | None = None
    #: a path without an interface looks the destination (or next hop) up in this table
    lookup_table: int | None = None

    def __str__(self) -> str:
        if self.type != "normal":
            return self.type
        if self.interface is None:
            target = f" {self.next_hop}" if self.next_hop is not None else ""
            return f"lookup{target} in table {self.lookup_table}"
        via = f"via {self.next_hop} " if self.next_hop is not None else "attached "
        return f"{via}{self.interface}"


def vlan_text(vlan: int | None) -> str:
    """An 802.1Q tag as a trace shows it (as VPP's CLI writes a sub-interface's match)."""
    return "" if vlan is None else f" dot1q {vlan}"


@dataclass(frozen=True)
class Rx:
    """The packet (or frame) entered ``interface``; ``table`` is its VRF, None in L2 (then
    ``xconnect`` tells a cross-connected interface from a bridged one). ``vlan``: the
    frame's 802.1Q tag (a sub-interface took it, or it travels on in L2); ``popped``: the
    interface's VLAN tag rewrite took it off."""

    kind: ClassVar[HopKind] = HopKind.RX
    node: str
    interface: InterfaceRef
    table: int | None
    xconnect: bool = False
    vlan: int | None = None
    popped: bool = False

    def describe(self) -> str:
        """The hop in words."""
        if self.table is not None:
            where = f"table {self.table}"
        else:
            where = "l2 xconnect" if self.xconnect else "bridged"
        popped = ", tag popped" if self.popped else ""
        return f"{self.interface} {where}{vlan_text(self.vlan)}{popped}"


@dataclass(frozen=True)
class FibLookup:
    """``address`` looked up in ``table`` matched ``prefix``; ``path`` was followed."""

    kind: ClassVar[HopKind] = HopKind.FIB
    node: str
    table: int
    address: IpAddress
    prefix: IpNetwork
    path: PathTaken
    #: how many paths the route has (more than one: multipath, the first was followed)
    paths: int
    #: "api" for a route the control plane installed, else what VPP added it for
    #: ("connected", "local", "special")
    origin: str

    @property
    def multipath(self) -> bool:
        """Whether the route had more than one path."""
        return self.paths > 1

    def describe(self) -> str:
        """The hop in words."""
        text = f"table {self.table}: {self.address} matches {self.prefix} [{self.origin}] "
        text += str(self.path)
        if self.multipath:
            text += f" (multipath: first of {self.paths})"
        return text


@dataclass(frozen=True)
class ArpLookup:
    """The IP neighbour table resolved ``ip`` on ``interface`` to ``mac``."""

    kind: ClassVar[HopKind] = HopKind.ARP
    node: str
    interface: InterfaceRef
    ip: IpAddress
    mac: str

    def describe(self) -> str:
        """The hop in words."""
        return f"{self.interface}: {self.ip} is {self.mac}"


@dataclass(frozen=True)
class L2Lookup:
    """The L2 FIB of bridge domain ``bd_id`` sent ``mac`` to ``member``."""

    kind: ClassVar[HopKind] = HopKind.L2
    node: str
    bd_id: int
    bd_tag: str
    mac: str
    member: InterfaceRef
    #: the member is the bridge domain's BVI: the frame goes back to L3
    bvi: bool

    def describe(self) -> str:
        """The hop in words."""
        domain = f"bd {self.bd_id}" + (f" ({self.bd_tag})" if self.bd_tag else "")
        return f"{domain}: {self.mac} -> {self.member}" + (" [bvi]" if self.bvi else "")


@dataclass(frozen=True)
class VxlanEncap:
    """The frame was put into ``tunnel``: VXLAN ``vni`` from ``src`` to ``dst``."""

    kind: ClassVar[HopKind] = HopKind.ENCAP
    node: str
    tunnel: InterfaceRef
    vni: int
    src: IpAddress
    dst: IpAddress

    def describe(self) -> str:
        """The hop in words."""
        return f"{self.tunnel} vni {self.vni} {self.src} -> {self.dst}"


@dataclass(frozen=True)
class VxlanDecap:
    """The frame came out of ``tunnel`` (VXLAN ``vni`` from ``src`` to ``dst``)."""

    kind: ClassVar[HopKind] = HopKind.DECAP
    node: str
    tunnel: InterfaceRef
    vni: int
    src: IpAddress
    dst: IpAddress

    def describe(self) -> str:
        """The hop in words."""
        return f"{self.tunnel} vni {self.vni} {self.src} -> {self.dst}"


@dataclass(frozen=True)
class Tx:
    """The packet left through ``interface`` (towards ``next_hop`` when routed), or the
    frame did, cross-connected from ``xconnect_from``; ``vlan``: the 802.1Q tag the frame
    carries (VPP sends an L2 frame as it is, unless the interface has a VLAN tag rewrite:
    ``pushed`` says its rewrite put the tag on)."""

    kind: ClassVar[HopKind] = HopKind.TX
    node: str
    interface: InterfaceRef
    next_hop: IpAddress | None
    xconnect_from: InterfaceRef | None = None
    vlan: int | None = None
    pushed: bool = False

    def describe(self) -> str:
        """The hop in words."""
        if self.xconnect_from is not None:
            text = f"L2 xconnect {self.xconnect_from} -> {self.interface}"
        else:
            text = str(self.interface) + (f" to {self.next_hop}" if self.next_hop else "")
        return text + vlan_text(self.vlan) + (", tag pushed" if self.pushed else "")


@dataclass(frozen=True)
class MemifCross:
    """The frame left ``interface`` of ``node`` over a connected memif and arrives on
    ``peer_interface`` of ``peer_node`` (memif ``id`` on the socket file ``socket``)."""

    kind: ClassVar[HopKind] = HopKind.MEMIF
    node: str
    interface: InterfaceRef
    peer_node: str
    peer_interface: InterfaceRef
    socket: str
    id: int

    def describe(self) -> str:
        """The hop in words."""
        return (
            f"{self.interface} -> {self.peer_node} {self.peer_interface} "
            f"(memif id {self.id} on {self.socket})"
        )


@dataclass(frozen=True)
class NatHop:
    """NAT44-ED's ``stage`` (nat44-out2in, nat44-in2out, nat44-in2out-output) on
    ``interface`` rewrote the packet from ``src`` -> ``dst`` to ``new_src`` -> ``new_dst``
    (address, port); ``session``: "new", "existing" or "identity" (exempt, nothing
    rewritten); ``note``: e.g. "self-twice-NAT", "affinity"."""

    kind: ClassVar[HopKind] = HopKind.NAT
    node: str
    interface: InterfaceRef
    stage: str
    src: tuple[IpAddress, int]
    dst: tuple[IpAddress, int]
    new_src: tuple[IpAddress, int]
    new_dst: tuple[IpAddress, int]
    session: str
    note: str = ""

    def describe(self) -> str:
        """The hop in words."""
        rewrites = [
            f"{what} {_endpoint(old)} -> {_endpoint(new)}"
            for what, old, new in (("dst", self.dst, self.new_dst), ("src", self.src, self.new_src))
            if old != new
        ]
        what = ", ".join(rewrites) or f"{_endpoint(self.dst)} not translated"
        extra = f", {self.note}" if self.note else ""
        return f"{self.stage} on {self.interface}: {what} (session {self.session}{extra})"


def _endpoint(endpoint: tuple[IpAddress, int]) -> str:
    ip, port = endpoint
    return f"{ip}:{port}" if port else str(ip)


Hop = Rx | FibLookup | ArpLookup | L2Lookup | VxlanEncap | VxlanDecap | MemifCross | NatHop | Tx


class Outcome(enum.Enum):
    """Whether the packet got somewhere."""

    DELIVERED = "DELIVERED"
    DROPPED = "DROPPED"


@dataclass(frozen=True)
class Verdict:
    """Where the walk ended. DELIVERED: at ``interface`` of ``node`` (a pod's tap, the host,
    a NIC leaving the fabric, or VPP itself for its own address); DROPPED: at ``node``, for
    ``reason``. ``loop``: dropped because the packet was caught in a forwarding loop (it
    re-entered the VXLAN tunnel it was inside, or went past the hop limit)."""

    outcome: Outcome
    node: str
    interface: InterfaceRef | None
    reason: str
    loop: bool = False
    #: the 802.1Q tag of a frame DELIVERED in L2 (onto a wire, to a tap's Linux end, to a
    #: memif application), as it left VPP; None: untagged, or a routed packet
    vlan: int | None = None

    def __str__(self) -> str:
        where = f"{self.outcome.value} at {self.node}"
        if self.interface is not None:
            where += f": {self.interface}"
        return f"{where} ({self.reason})" if self.reason else where


@dataclass(frozen=True)
class Trace:
    """One packet's walk through the fabric."""

    src: IpAddress
    dst: IpAddress
    ingress_node: str
    ingress_interface: str
    hops: tuple[Hop, ...]
    verdict: Verdict
    #: what was sent, when the walk began with an Ethernet frame (``Fabric.trace_frame``):
    #: e.g. "ARP request who-has 1.2.3.5 tell 1.2.3.4, broadcast"
    frame: str = ""

    @property
    def delivered(self) -> bool:
        """Whether the packet arrived somewhere."""
        return self.verdict.outcome is Outcome.DELIVERED

    @property
    def looped(self) -> bool:
        """Whether the walk ended in a forwarding loop."""
        return self.verdict.loop

    def steps(self) -> list[tuple[str, HopKind]]:
        """(node, kind) per hop: the shape of the walk, for comparing with an expectation."""
        return [(hop.node, hop.kind) for hop in self.hops]

    def render(self) -> str:
        """One line per hop and one for the verdict."""
        width = max((len(h.node) for h in self.hops), default=0)
        head = f"{self.src} -> {self.dst} from {self.ingress_node} {self.ingress_interface}"
        lines = [head + (f": {self.frame}" if self.frame else "")]
        for number, hop in enumerate(self.hops, 1):
            lines.append(f"{number:>2} {hop.node:<{width}}  {hop.kind.value:<6} {hop.describe()}")
        lines.append(str(self.verdict))
        return "\n".join(lines) + "\n"
