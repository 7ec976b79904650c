"""Which packets could flow: a packet walk over the forwarding state of simulated VPPs.

In: a :class:`Fabric` of named nodes, each a :class:`~contivpy.sim.vpp.state.VppState`, and
a packet: ingress node, ingress interface (VPP's name or its tag, e.g. a pod's tap), source
and destination IP (IPv4 or IPv6). Out: a :class:`~contivpy.sim.vpp.forwarding_trace.Trace`:
the hops and a verdict, DELIVERED (node, interface) or DROPPED (node, reason). No packet is
sent: the walk reads what VPP holds, as faucet's FakeOFTable does for OpenFlow tables.

The walk, as VPP's graph would forward:

- rx on an L3 interface: its VRF (an unnumbered interface uses its own binding), after
  checking it is up and IP is enabled on it (an address, or unnumbered);
- longest-prefix match (``forwarding_fib``); the first path of a multipath route is followed
  and the hop says it was multipath; a path into another table (inter-VRF) or to a next hop
  without an interface is looked up again; DROP, ICMP-unreachable/prohibit and VPP's
  default drop routes drop; a local route delivers to VPP itself;
- out of a tap or af_packet: delivered (a pod, or the host); out of a NIC to an address
  another node of the fabric owns: received there; otherwise it leaves the fabric
  (delivered at the NIC); out of a loopback in no bridge domain (a connected route on
  podGwLoop): dropped, nobody answers ARP there;
- out of a memif connected to a memif of another node of the fabric (``memif_links``: a
  vswitch and a CNF's VPP): the frame crosses (a ``memif`` hop naming both ends) and
  arrives there: bridged, cross-connected on (so a walk goes CNF1 -> vswitch -> CNF2 and
  through CNF2's xconnect on), or into L3, where it must be for that memif: the MAC the
  sender resolved must be the memif's, and without one (the sender ARPs) the memif must
  hold the next hop (or answer it by proxy ARP) - nothing else answers; an IP-mode memif
  takes any packet. A memif connected to a VPP outside the fabric, or to the control API's
  stand-in peer, delivers there;
- out of a BVI: the next hop's MAC from the neighbour table, then the bridge domain's L2
  FIB: to a VXLAN tunnel (encapsulated; the sender needs an underlay route to the
  destination, which the node holding that address in the tunnel's encap VRF receives and
  decapsulates with its tunnel of mirrored endpoints and the same VNI), to the BVI (back to
  L3 in its VRF), or to an ordinary member (delivered, bridged);
- the underlay route of an encapsulated packet is followed like any other (through
  inter-VRF and recursive lookups) until it names an interface; when that interface leads
  back into the overlay (a BVI, a VXLAN tunnel), the outer packet is walked on: reaching
  the tunnel it is inside is a forwarding loop (VPP encapsulates its own VXLAN packets again
  and again; two real VPPs crashed so), reaching another tunnel is VXLAN in VXLAN, which
  is not modelled;
- L2 cross-connects (``sw_interface_set_l2_xconnect``): a frame received on the rx side
  leaves by the tx side whatever its MAC (an ARP broadcast too); into a VXLAN tunnel it is
  encapsulated and, on the node that decapsulates it, follows that tunnel's own
  cross-connect (or bridge domain); out of a tap it reaches the tap's Linux end, out of a
  NIC or its sub-interface the wire;
- 802.1Q tags (``forwarding_vlan``): a tagged frame arriving on a port (NIC, tap, memif)
  goes to the sub-interface of its VLAN, else to the port only while the port is in L2 mode
  (VPP drops it as an unknown VLAN otherwise); the tag stays on the frame through
  cross-connects, bridge domains, memifs and VXLAN, and an L3 sub-interface puts its own tag
  on what it sends. VPP rewrites tags in L2 only where an interface has a VLAN tag rewrite:
  a sub-interface with "pop 1" takes the tag off a frame it receives into a cross-connect or
  bridge domain and pushes its own VLAN onto one it sends out of them; without one a frame
  leaves a sub-interface with the tag it came with;
- every interface met must be admin up with its link up;
- ACLs (``forwarding_acl``): a packet entering L3 on an interface passes its input ACLs, one
  leaving by L3 output its output ACLs (first match wins, nothing matching denies, a
  permit+reflect rule leaves a session its replies pass by); an encapsulated packet on its own
  node is not looked at;
- NAT44-ED (``forwarding_nat``): after the input ACL an interface's NAT features translate
  the packet (a service's DNAT to a backend, a session's reply back), after the output ACL
  the output feature source-NATs it; a translation is a ``nat`` hop, and what follows is
  walked with the translated addresses and ports;
- L2 rules kept from VPP: no flooding (a FIB miss drops, flooding is not modelled), filter
  entries and reflection drop, unicast from a BVI has its split-horizon group cleared (as
  l2-input does), a frame entering from a non-zero group is dropped towards a member of the
  same group, frames to a BVI skip that check (l2-fwd hands them straight to the BVI).

A frame entering on a bridged port from outside is taken to be addressed to the BVI (the
gateway); its real destination MAC is not known from IPs alone (so is a frame crossing a
memif into a bridge domain without a resolved MAC: the BVI must answer its ARP).
``Fabric.trace_from_vpp`` walks a packet a node's VPP sends itself (a ``ping`` in vppctl):
looked up in a table, from local0. ``Fabric.trace_frame`` walks an Ethernet frame sent into
VPP by the far end of an interface (a pod's custom tap, the wire of a NIC, with an 802.1Q
tag or not): an ARP request when the sender does not know the MAC, else a unicast frame.
A hop limit stops routing loops. Both kinds of loop end the walk DROPPED with
``Verdict.loop`` set and a reason that starts with "loop:".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace

from contivpy.sim.vpp.fib_view import PATH_DROP, PATH_LOCAL, PATH_NORMAL
from contivpy.sim.vpp.forwarding_acl import Flow, denied
from contivpy.sim.vpp.forwarding_fib import (
    PATH_TYPE_NAMES,
    FibMatch,
    find_interface,
    lookup,
    path_taken,
)
from contivpy.sim.vpp.forwarding_fib import interface_ref as _ref
from contivpy.sim.vpp.forwarding_nat import NatDrop, arriving, leaving
from contivpy.sim.vpp.forwarding_trace import (
    ArpLookup,
    FibLookup,
    Hop,
    L2Lookup,
    MemifCross,
    Outcome,
    Rx,
    Trace,
    Tx,
    Verdict,
    VxlanDecap,
    VxlanEncap,
)
from contivpy.sim.vpp.forwarding_vlan import (
    MAX_VLAN,
    MIN_VLAN,
    TagDrop,
    UnknownVlan,
    after_l2_input,
    after_l2_output,
    receiving_interface,
    vlan_of,
)
from contivpy.sim.vpp.memif_links import MEMIF_LINKS, MemifLinks
from contivpy.sim.vpp.model import BridgeDomain, Interface, Kind, Path, PortType, VxlanInfo
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.wire import NO_INDEX, IpAddress

__all__ = ["DEFAULT_MAX_HOPS", "Fabric", "find_interface"]

#: Hops before a walk counts as a routing loop (a pod-to-pod path across VXLAN takes ~13).
DEFAULT_MAX_HOPS = 64
#: Interfaces whose far end is a pod or the host (a memif: unless another node of the fabric
#: is on its other end): a packet sent out of them has arrived.
_ENDPOINT_KINDS = {Kind.TAP, Kind.MEMIF, Kind.AF_PACKET}
#: memif_mode IP: no Ethernet header, no ARP
_MEMIF_MODE_IP = 1
#: Interfaces onto a physical network, where other nodes of the fabric may listen.
_WIRE_KINDS = {Kind.ETHERNET, Kind.SUB}


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{octet:02x}" for octet in mac)


class _Dropped(Exception):
    """The walk ends: the packet is dropped at ``node`` (``loop``: in a forwarding loop)."""

    def __init__(self, node: str, reason: str, *, loop: bool = False) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason
        self.loop = loop


@dataclass(frozen=True)
class _Frame:
    """What the walk knows of a frame on the wire: its destination MAC, or (without one) the
    address the sender is asking for by ARP; neither: a frame from outside the fabric.
    ``vlan``: its 802.1Q tag, which it keeps through L2 (VPP rewrites no tag unless told)."""

    dst_mac: bytes | None = None
    arp_for: IpAddress | None = None
    vlan: int | None = None


_FROM_OUTSIDE = _Frame()


@dataclass(frozen=True)
class _MemifPeer:
    """The far end of a connected memif: its node in the fabric (None: a VPP outside it)."""

    node: str | None
    interface: Interface
    socket: str


@dataclass(frozen=True)
class _Outer:
    """A VXLAN packet being routed on its own node: the tunnel that made it."""

    node: str
    tunnel: Interface
    dst: IpAddress


class Fabric:
    """Named simulated VPPs joined by an underlay (a node receives what is sent to an address
    one of its interfaces holds) and by memif connections (``memif_links``, the process's
    unless given others). States are read at each trace, so a test can change them between
    traces."""

    def __init__(
        self,
        nodes: Mapping[str, VppState],
        *,
        max_hops: int = DEFAULT_MAX_HOPS,
        memif_links: MemifLinks | None = None,
    ) -> None:
        self.nodes = dict(nodes)
        self.max_hops = max_hops
        self.memif_links = MEMIF_LINKS if memif_links is None else memif_links

    def memif_peer(self, node: str, iface: Interface) -> _MemifPeer | None:
        """The far end of memif ``iface`` of ``node`` when it is a simulated VPP's memif."""
        state = self.state(node)
        found = self.memif_links.peer_of(state, iface)
        if found is None:
            return None
        peer_state, peer_iface = found
        peer_node = next((n for n, s in self.nodes.items() if s is peer_state), None)
        return _MemifPeer(peer_node, peer_iface, self.memif_links.path_of(state, iface))

    def state(self, node: str) -> VppState:
        """The node's VPP state; ValueError for a node the fabric does not have."""
        try:
            return self.nodes[node]
        except KeyError:
            raise ValueError(f"no node {node!r} (nodes: {', '.join(self.nodes)})") from None

    def owners(self, address: IpAddress, table_id: int) -> list[tuple[str, Interface]]:
        """(node, interface) holding ``address`` in table ``table_id``: the underlay."""
        found = []
        for node, state in self.nodes.items():
            for iface in state.interfaces.values():
                holds = any(a.ip == address for a in iface.addresses)
                if holds and iface.table_id(address.version) == table_id:
                    found.append((node, iface))
        return found

    def trace(
        self,
        node: str,
        ingress_interface: str,
        src: str | IpAddress,
        dst: str | IpAddress,
        *,
        protocol: int = 0,
        src_port: int = 0,
        dst_port: int = 0,
    ) -> Trace:
        """Walk a packet from ``src`` to ``dst`` entering ``node`` on ``ingress_interface``;
        ``protocol`` and ports are what ACLs look at (``forwarding_acl``)."""
        flow = _flow(src, dst, protocol, src_port, dst_port)
        src_ip, dst_ip = flow.src, flow.dst
        walk = _Walk(self, dst_ip, flow)
        try:
            iface = find_interface(self.state(node), ingress_interface)
            if iface is None:
                raise _Dropped(node, f"no interface {ingress_interface!r}")
            verdict = walk.receive(node, iface)
        except _Dropped as drop:
            verdict = Verdict(Outcome.DROPPED, drop.node, None, drop.reason, drop.loop)
        return Trace(src_ip, dst_ip, node, ingress_interface, tuple(walk.hops), verdict)

    def trace_frame(
        self,
        node: str,
        interface: str,
        src: str | IpAddress,
        dst: str | IpAddress,
        *,
        dst_mac: str | None = None,
        vlan: int | None = None,
        protocol: int = 0,
        src_port: int = 0,
        dst_port: int = 0,
    ) -> Trace:
        """Walk an Ethernet frame that the far end of ``interface`` (VPP's name or its tag)
        of ``node`` sends into VPP: the Linux end of a tap (a pod's custom ``tap1`` as much
        as its ``eth0``), the wire behind a NIC, the application on a memif.

        ``src`` and ``dst`` are the sender's and the destination's IPs. Without ``dst_mac``
        the sender does not know ``dst``'s MAC and broadcasts an ARP request for it (a
        neighbour solicitation for IPv6): a cross-connect carries it on to the other side,
        while an L3 interface (or a bridge domain's BVI) must hold ``dst`` or proxy it to
        answer, after which the packet itself is walked on. With ``dst_mac``
        ("02:fe:00:00:00:01") the frame is a unicast to that MAC carrying a packet for
        ``dst``.

        ``protocol`` and ports are what ACLs look at (``forwarding_acl``).

        ``vlan``: the frame's 802.1Q tag (1..4094); VPP hands a tagged frame to the
        sub-interface of that VLAN (``forwarding_vlan``). Naming a sub-interface such as
        ``GigabitEthernet0/a/0.200`` means a frame tagged with its VLAN arriving on its
        parent. ValueError for a VLAN out of range, a malformed MAC, or IPs of different
        families.
        """
        flow = _flow(src, dst, protocol, src_port, dst_port)
        src_ip, dst_ip = flow.src, flow.dst
        if vlan is not None and not MIN_VLAN <= vlan <= MAX_VLAN:
            raise ValueError(f"vlan {vlan} is not an 802.1Q VLAN id ({MIN_VLAN}..{MAX_VLAN})")
        mac = None if dst_mac is None else _parse_mac(dst_mac)
        walk = _Walk(self, dst_ip, flow)
        description = _describe_frame(src_ip, dst_ip, dst_mac, vlan)
        try:
            state = self.state(node)
            iface = find_interface(state, interface)
            if iface is None:
                raise _Dropped(node, f"no interface {interface!r}")
            if iface.sub is not None and iface.sub.parent in state.interfaces:
                # a frame "on a sub-interface" is a frame with its tag on the parent's wire
                vlan = vlan_of(iface) if vlan is None else vlan
                description = _describe_frame(src_ip, dst_ip, dst_mac, vlan)
                iface = state.interfaces[iface.sub.parent]
            frame = _Frame(mac, None if mac is not None else dst_ip, vlan)
            verdict = walk.arrive(node, iface, frame)
        except _Dropped as drop:
            verdict = Verdict(Outcome.DROPPED, drop.node, None, drop.reason, drop.loop)
        return Trace(src_ip, dst_ip, node, interface, tuple(walk.hops), verdict, frame=description)

    def trace_from_vpp(
        self,
        node: str,
        src: str | IpAddress,
        dst: str | IpAddress,
        *,
        table: int = 0,
        protocol: int = 0,
        src_port: int = 0,
        dst_port: int = 0,
    ) -> Trace:
        """Walk a packet ``node``'s VPP sends itself (as ``ping``), looked up in ``table``;
        the trace names local0 as where it came from, as VPP marks such packets."""
        flow = _flow(src, dst, protocol, src_port, dst_port)
        src_ip, dst_ip = flow.src, flow.dst
        walk = _Walk(self, dst_ip, flow)
        try:
            verdict = walk.route(node, table, dst_ip)
        except _Dropped as drop:
            verdict = Verdict(Outcome.DROPPED, drop.node, None, drop.reason, drop.loop)
        return Trace(src_ip, dst_ip, node, "local0", tuple(walk.hops), verdict)


def _flow(
    src: str | IpAddress, dst: str | IpAddress, protocol: int, src_port: int, dst_port: int
) -> Flow:
    """The walked packet's flow; ValueError for addresses of different families."""
    src_ip, dst_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if src_ip.version != dst_ip.version:
        raise ValueError(f"{src_ip} and {dst_ip} are of different families")
    return Flow(src_ip, dst_ip, protocol, src_port, dst_port)


def _parse_mac(text: str) -> bytes:
    octets = text.replace("-", ":").split(":")
    try:
        mac = bytes(int(octet, 16) for octet in octets)
    except ValueError:
        mac = b""
    if len(octets) != 6 or len(mac) != 6 or any(len(octet) != 2 for octet in octets):
        raise ValueError(f"dst_mac {text!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return mac


def _describe_frame(src: IpAddress, dst: IpAddress, dst_mac: str | None, vlan: int | None) -> str:
    if dst_mac is not None:
        text = f"frame to {dst_mac.lower()}"
    elif dst.version == 6:
        text = f"neighbour solicitation for {dst} from {src}, multicast"
    else:
        text = f"ARP request who-has {dst} tell {src}, broadcast"
    return text + ("" if vlan is None else f", dot1q {vlan}")


class _Walk:
    """One packet's way through the fabric: each step records its hop and either hands the
    packet on (returning the final verdict) or raises :class:`_Dropped`."""

    def __init__(self, fabric: Fabric, dst: IpAddress, flow: Flow | None = None) -> None:
        self.fabric = fabric
        #: what the ACLs see of the (inner) packet
        self.flow = flow
        #: the destination of the packet being routed (the outer one while a VXLAN packet
        #: is routed on the node that encapsulated it)
        self.dst = dst
        self.hops: list[Hop] = []
        #: VXLAN packets being routed on their own node, innermost last
        self.outer: list[_Outer] = []
        #: nodes whose NAT already translated the packet (the output feature leaves it be)
        self.natted: set[str] = set()

    @property
    def is_ip6(self) -> bool:
        return self.dst.version == 6

    def add(self, hop: Hop) -> None:
        if len(self.hops) >= self.fabric.max_hops:
            raise _Dropped(hop.node, f"loop: more than {self.fabric.max_hops} hops", loop=True)
        self.hops.append(hop)

    def state(self, node: str) -> VppState:
        return self.fabric.state(node)

    def vrf(self, iface: Interface) -> int:
        return iface.table_id(self.dst.version)

    def require_up(self, node: str, iface: Interface) -> None:
        if not iface.admin_up:
            raise _Dropped(node, f"{_ref(iface)} is admin down")
        if not self.state(node).link_up(iface):
            raise _Dropped(node, f"{_ref(iface)} link is down")

    def acl_check(self, node: str, iface: Interface, *, is_input: bool) -> None:
        """The interface's input or output ACLs must let the packet through (``forwarding_acl``);
        an encapsulated packet routed on its own node is not what they would look at."""
        if self.flow is None or self.outer:
            return
        reason = denied(self.state(node).acl, iface.sw_if_index, is_input, self.flow)
        if reason is not None:
            raise _Dropped(node, f"{_ref(iface)}: {reason}")

    def nat(self, node: str, iface: Interface, *, on_arrival: bool) -> None:
        """NAT44-ED on ``iface`` (``forwarding_nat``): the packet walks on translated."""
        if self.flow is None or self.outer or self.is_ip6:
            return
        nat = self.state(node).nat44
        if not nat.enabled or (not on_arrival and node in self.natted):
            return
        try:
            if on_arrival:
                done = arriving(nat, node, _ref(iface), iface.sw_if_index, self.flow)
            else:
                vrf = iface.vrf4
                done = leaving(nat, node, _ref(iface), iface.sw_if_index, vrf, self.flow)
        except NatDrop as drop:
            raise _Dropped(node, f"{_ref(iface)}: {drop}") from None
        if done is None:
            return
        self.flow, hop = done
        self.add(hop)
        self.dst = self.flow.dst
        if hop.session != "identity":
            self.natted.add(node)

    # -- L3 -----------------------------------------------------------------------------

    def receive(self, node: str, iface: Interface) -> Verdict:
        """A packet from outside VPP (a pod, the host, the wire) arrives on ``iface``."""
        self.require_up(node, iface)
        if iface.bd_id is not None:
            bd = self.state(node).bridge_domains[iface.bd_id]
            bvi = None if bd.bvi is None else self.state(node).interfaces.get(bd.bvi)
            if bvi is None:
                raise _Dropped(
                    node,
                    f"{_ref(iface)} is bridged in bd {bd.bd_id} without a BVI: "
                    "the frame's destination MAC is unknown",
                )
            self.add(Rx(node, _ref(iface), None))
            return self.bridge(node, bd, iface, self.state(node).mac_of(bvi), from_bvi=False)
        if iface.xconnect_to is not None:
            self.add(Rx(node, _ref(iface), None, xconnect=True))
            return self.cross_connect(node, iface, _FROM_OUTSIDE)
        return self.route_in(node, iface)

    def route_in(self, node: str, iface: Interface, vlan: int | None = None) -> Verdict:
        """The packet enters L3 on ``iface`` (a sub-interface: tagged ``vlan``): look it up
        in the interface's VRF."""
        table = self.vrf(iface)
        self.add(Rx(node, _ref(iface), table, vlan=vlan))
        if not self.ip_enabled(node, iface):
            family = "IPv6" if self.is_ip6 else "IPv4"
            raise _Dropped(
                node,
                f"{family} is not enabled on {_ref(iface)} (no address, not unnumbered)",
            )
        self.acl_check(node, iface, is_input=True)
        self.nat(node, iface, on_arrival=True)
        return self.route(node, table, self.dst)

    def ip_enabled(self, node: str, iface: Interface) -> bool:
        if self.is_ip6 and iface.ip6_enabled:
            return True
        if iface.unnumbered_of is not None and iface.unnumbered_of in self.state(node).interfaces:
            return True
        return any(a.version == self.dst.version for a in iface.addresses)

    def route(self, node: str, table: int, address: IpAddress) -> Verdict:
        """Look ``address`` (the destination, or a next hop to resolve) up in ``table``."""
        match, path = self.fib_lookup(node, table, address)
        return self.follow(node, table, address, match, path)

    def fib_lookup(self, node: str, table: int, address: IpAddress) -> tuple[FibMatch, Path]:
        """The route for ``address`` and the path followed (the first), recorded as a hop."""
        match = lookup(self.state(node), address.version == 6, table, address)
        if match is None:
            raise _Dropped(node, f"no table {table} for {address}")
        path = match.paths[0]
        taken = path_taken(self.state(node), path)
        self.add(
            FibLookup(node, table, address, match.prefix, taken, len(match.paths), match.origin)
        )
        return match, path

    def follow(
        self, node: str, table: int, address: IpAddress, match: FibMatch, path: Path
    ) -> Verdict:
        state = self.state(node)
        if path.type == PATH_DROP:
            if match.origin == "api":
                raise _Dropped(node, f"DROP route {match.prefix} in table {table}")
            raise _Dropped(
                node, f"no route to {address} in table {table} (VPP's {match.prefix} drop)"
            )
        if path.type == PATH_LOCAL:
            own = state.interfaces.get(path.sw_if_index)
            return Verdict(
                Outcome.DELIVERED,
                node,
                None if own is None else _ref(own),
                "local: for VPP itself",
            )
        if path.type != PATH_NORMAL:
            name = PATH_TYPE_NAMES.get(path.type, str(path.type))
            raise _Dropped(node, f"{name} route {match.prefix} in table {table}")
        if path.sw_if_index == NO_INDEX:
            # No interface: look up again in the path's table, the destination (inter-VRF)
            # or the next hop (recursive resolution).
            return self.route(node, path.table_id, path.next_hop or address)
        egress = state.interfaces.get(path.sw_if_index)
        if egress is None:
            raise _Dropped(node, f"route {match.prefix} leaves by a missing interface")
        return self.send(node, egress, path.next_hop or address)

    def send(self, node: str, egress: Interface, next_hop: IpAddress) -> Verdict:
        """L3 output through ``egress`` towards ``next_hop``."""
        state = self.state(node)
        self.require_up(node, egress)
        self.acl_check(node, egress, is_input=False)
        self.nat(node, egress, on_arrival=False)
        if egress.bd_id is not None:
            bd = state.bridge_domains[egress.bd_id]
            if bd.members[egress.sw_if_index].port_type != PortType.BVI:
                raise _Dropped(node, f"{_ref(egress)} is a bridged port, not an L3 interface")
            mac = self.resolve(node, egress, next_hop, required=True)
            return self.bridge(node, bd, egress, mac, from_bvi=True)
        if egress.xconnect_to is not None:
            raise _Dropped(node, f"{_ref(egress)} is cross-connected, not an L3 interface")
        if egress.kind == Kind.VXLAN:
            mac = self.resolve(node, egress, next_hop, required=True)
            return self.encapsulate(node, egress, _Frame(mac))
        if egress.kind == Kind.LOOPBACK:
            raise _Dropped(
                node,
                f"{_ref(egress)} is a loopback in no bridge domain: "
                f"nothing there answers ARP for {next_hop}",
            )
        # a sub-interface sends through its parent's device, with its tag in the header
        port = state.interfaces.get(egress.sup_sw_if_index, egress)
        vlan = vlan_of(egress)
        if port.kind not in _ENDPOINT_KINDS | _WIRE_KINDS:
            raise _Dropped(node, f"{_ref(egress)} cannot send")
        mac = self.resolve(node, egress, next_hop, required=False)
        self.add(Tx(node, _ref(egress), next_hop, vlan=vlan))
        if port.kind == Kind.MEMIF:
            frame = _Frame(mac, vlan=vlan) if mac else _Frame(arp_for=next_hop, vlan=vlan)
            return self.through_memif(node, port, frame)
        if port.kind in _WIRE_KINDS:
            owners = [o for o in self.fabric.owners(next_hop, self.vrf(egress)) if o[0] != node]
            if len(owners) == 1:
                peer, nic = owners[0]
                return self.receive(peer, nic)
            if owners:
                raise _Dropped(node, f"{next_hop} is held by several nodes")
            return Verdict(Outcome.DELIVERED, node, _ref(egress), f"leaves towards {next_hop}")
        return Verdict(Outcome.DELIVERED, node, _ref(egress), "")

    def resolve(self, node: str, iface: Interface, ip: IpAddress, *, required: bool) -> bytes:
        """The next hop's MAC from the neighbour table. A tap's pod answers ARP itself, so
        only where nothing would (a BVI with flooding off, a tunnel) a missing entry drops."""
        neighbor = self.state(node).neighbors.get((iface.sw_if_index, ip))
        if neighbor is None:
            if required:
                raise _Dropped(node, f"no ARP entry for {ip} on {_ref(iface)}")
            return b""
        self.add(ArpLookup(node, _ref(iface), ip, _mac_text(neighbor.mac)))
        return neighbor.mac

    # -- L2 -----------------------------------------------------------------------------

    def bridge(
        self,
        node: str,
        bd: BridgeDomain,
        ingress: Interface,
        mac: bytes,
        *,
        from_bvi: bool,
        vlan: int | None = None,
    ) -> Verdict:
        """A frame for ``mac`` (tagged ``vlan``) entered bridge domain ``bd`` on ``ingress``."""
        state = self.state(node)
        mac_text = _mac_text(mac)
        settings = bd.settings
        where = f"bd {bd.bd_id}" + (f" ({settings.tag})" if settings.tag else "")
        if not settings.forward:
            raise _Dropped(node, f"forwarding is off in {where}")
        entry = state.l2fib.get((bd.bd_id, mac))
        if entry is None:
            flooding = (
                "flooding is not modelled" if settings.uu_flood else "unknown-unicast flood off"
            )
            raise _Dropped(node, f"no L2 FIB entry for {mac_text} in {where} ({flooding})")
        if entry.filter:
            raise _Dropped(node, f"L2 FIB filters {mac_text} in {where}")
        member_iface = state.interfaces.get(entry.sw_if_index)
        member = bd.members.get(entry.sw_if_index)
        if member_iface is None or member is None:
            raise _Dropped(node, f"L2 FIB sends {mac_text} to a non-member of {where}")
        to_bvi = entry.bvi or member.port_type == PortType.BVI
        self.add(L2Lookup(node, bd.bd_id, settings.tag, mac_text, _ref(member_iface), to_bvi))
        if member_iface.sw_if_index == ingress.sw_if_index:
            raise _Dropped(node, f"reflection: {mac_text} is behind {_ref(ingress)} itself")
        if to_bvi:
            if state.mac_of(member_iface) != mac:
                raise _Dropped(node, f"{mac_text} is not the MAC of BVI {_ref(member_iface)}")
            self.require_up(node, member_iface)
            return self.route_in(node, member_iface)
        # l2-input clears the group of unicast from a BVI; others keep their port's group.
        group = 0 if from_bvi else bd.members[ingress.sw_if_index].shg
        if group and group == member.shg:
            raise _Dropped(
                node,
                f"split horizon: {_ref(ingress)} and {_ref(member_iface)} "
                f"are both in group {group} of {where}",
            )
        self.require_up(node, member_iface)
        frame = self.l2_output(node, member_iface, _Frame(mac, vlan=vlan))
        if member_iface.kind == Kind.VXLAN:
            return self.encapsulate(node, member_iface, frame)
        pushed = frame.vlan != vlan
        self.add(Tx(node, _ref(member_iface), None, vlan=frame.vlan, pushed=pushed))
        if member_iface.kind == Kind.MEMIF:
            return self.through_memif(node, member_iface, frame, "bridged")
        return self.leave(node, member_iface, frame, "bridged")

    def cross_connect(self, node: str, ingress: Interface, frame: _Frame) -> Verdict:
        """A frame received on ``ingress`` leaves by the interface it is cross-connected to
        (l2-input's xconnect: no lookup, whatever the MAC; a broadcast too)."""
        peer = self.state(node).interfaces.get(ingress.xconnect_to or NO_INDEX)
        if peer is None:
            raise _Dropped(node, f"{_ref(ingress)} is cross-connected to a missing interface")
        self.require_up(node, peer)
        sent = self.l2_output(node, peer, frame)
        pushed = sent.vlan != frame.vlan
        frame = sent
        self.add(
            Tx(node, _ref(peer), None, xconnect_from=_ref(ingress), vlan=frame.vlan, pushed=pushed)
        )
        if peer.kind == Kind.VXLAN:
            return self.encapsulate(node, peer, frame)
        if peer.kind == Kind.MEMIF:
            return self.through_memif(node, peer, frame, "cross-connected")
        return self.leave(node, peer, frame, "cross-connected")

    def l2_input(self, node: str, iface: Interface, frame: _Frame) -> _Frame:
        """``frame`` once ``iface``'s VLAN tag rewrite has done its input part (pop)."""
        vlan = after_l2_input(iface, frame.vlan)
        if isinstance(vlan, TagDrop):
            raise _Dropped(node, vlan.reason)
        return frame if vlan == frame.vlan else replace(frame, vlan=vlan)

    def l2_output(self, node: str, iface: Interface, frame: _Frame) -> _Frame:
        """``frame`` once ``iface``'s VLAN tag rewrite has done its output part (push)."""
        vlan = after_l2_output(iface, frame.vlan)
        if isinstance(vlan, TagDrop):
            raise _Dropped(node, vlan.reason)
        return frame if vlan == frame.vlan else replace(frame, vlan=vlan)

    def leave(self, node: str, iface: Interface, frame: _Frame, how: str) -> Verdict:
        """An L2 frame leaves VPP by ``iface``: to the Linux end of a tap (a pod, the host),
        to an af_packet's host link, or onto the wire of a NIC, with the tag it carries."""
        state = self.state(node)
        where = ""
        if iface.kind in _WIRE_KINDS:
            port = state.interfaces.get(iface.sup_sw_if_index, iface)
            tag = "untagged" if frame.vlan is None else f"tagged dot1q {frame.vlan}"
            where = f": onto the wire of {port.name}, {tag}"
            own_vlan = vlan_of(iface)
            if iface.sub is not None and own_vlan != frame.vlan:
                where += (
                    f" (not {iface.name}'s VLAN {own_vlan}: VPP pushes no tag on L2 output "
                    "without a VLAN tag rewrite)"
                )
        elif iface.tap is not None:
            namespace = f" in {iface.tap.host_namespace}" if iface.tap.host_namespace else ""
            where = f": to its Linux end {iface.tap.host_if_name}{namespace}"
        return Verdict(Outcome.DELIVERED, node, _ref(iface), how + where, vlan=frame.vlan)

    def frame_in(self, node: str, iface: Interface, frame: _Frame) -> Verdict:
        """``frame`` came out of a tunnel (``iface``): VXLAN hands it to l2-input as it is
        (no ethernet-input, so no sub-interface match)."""
        if iface.bd_id is not None:
            bd = self.state(node).bridge_domains[iface.bd_id]
            mac = frame.dst_mac or self.bvi_answers(node, bd, iface, frame)
            return self.bridge(node, bd, iface, mac, from_bvi=False, vlan=frame.vlan)
        if iface.xconnect_to is not None:
            return self.cross_connect(node, iface, frame)
        if frame.dst_mac is not None and frame.dst_mac != self.state(node).mac_of(iface):
            raise _Dropped(
                node,
                f"{_ref(iface)} is in no bridge domain and {_mac_text(frame.dst_mac)} "
                "is not its MAC",
            )
        self.arp_answered(node, iface, frame)
        return self.route_in(node, iface)

    # -- memif --------------------------------------------------------------------------

    def through_memif(self, node: str, iface: Interface, frame: _Frame, how: str = "") -> Verdict:
        """``frame`` was sent out of memif ``iface``: on to the node at its other end."""
        peer = self.fabric.memif_peer(node, iface)
        if peer is None:  # a memif application (or the control API's stand-in)
            return Verdict(Outcome.DELIVERED, node, _ref(iface), how, vlan=frame.vlan)
        if peer.node is None:
            return Verdict(
                Outcome.DELIVERED,
                node,
                _ref(iface),
                f"to {peer.interface.name} of a VPP outside the fabric",
                vlan=frame.vlan,
            )
        memif_id = iface.memif.id if iface.memif is not None else 0
        self.add(
            MemifCross(node, _ref(iface), peer.node, _ref(peer.interface), peer.socket, memif_id)
        )
        return self.arrive(peer.node, peer.interface, frame)

    def arrive(self, node: str, iface: Interface, frame: _Frame) -> Verdict:
        """``frame`` arrives on port ``iface`` from whatever is at its other end (a memif's
        peer, a tap's Linux end, the wire): ethernet-input gives it to the sub-interface
        its tag matches (or the port), then it is bridged, cross-connected or routed."""
        state = self.state(node)
        if iface.memif is None or iface.memif.mode != _MEMIF_MODE_IP:
            taker = receiving_interface(state, iface, frame.vlan)
            if isinstance(taker, UnknownVlan):
                self.require_up(node, iface)
                raise _Dropped(node, taker.reason())
            iface = taker
        self.require_up(node, iface)
        if iface.bd_id is not None:
            bd = state.bridge_domains[iface.bd_id]
            mac = frame.dst_mac or self.bvi_answers(node, bd, iface, frame)
            inner = self.l2_input(node, iface, frame)
            popped = inner.vlan != frame.vlan
            self.add(Rx(node, _ref(iface), None, vlan=frame.vlan, popped=popped))
            return self.bridge(node, bd, iface, mac, from_bvi=False, vlan=inner.vlan)
        if iface.xconnect_to is not None:
            inner = self.l2_input(node, iface, frame)
            popped = inner.vlan != frame.vlan
            self.add(Rx(node, _ref(iface), None, xconnect=True, vlan=frame.vlan, popped=popped))
            return self.cross_connect(node, iface, inner)
        if iface.memif is not None and iface.memif.mode == _MEMIF_MODE_IP:
            return self.route_in(node, iface)  # no Ethernet header to be for anyone else
        own_mac = state.mac_of(iface)
        if frame.dst_mac is not None and frame.dst_mac != own_mac:
            raise _Dropped(
                node,
                f"{_ref(iface)} is an L3 interface and {_mac_text(frame.dst_mac)} "
                f"is not its MAC ({_mac_text(own_mac)})",
            )
        self.arp_answered(node, iface, frame)
        return self.route_in(node, iface, frame.vlan)

    def arp_answered(self, node: str, iface: Interface, frame: _Frame) -> None:
        """A frame without a known MAC reached L3 interface ``iface``: its ARP request must
        be answered there (the reply is recorded as a hop) before the packet follows."""
        if frame.dst_mac is not None or frame.arp_for is None:
            return
        if not self.answers_arp(node, iface, frame.arp_for):
            raise _Dropped(
                node,
                f"nothing answers ARP for {frame.arp_for}: {_ref(iface)} does not hold it",
            )
        mac = _mac_text(self.state(node).mac_of(iface))
        self.add(ArpLookup(node, _ref(iface), frame.arp_for, mac))

    def bvi_answers(self, node: str, bd: BridgeDomain, iface: Interface, frame: _Frame) -> bytes:
        """A frame without a known MAC entered a bridge domain: it is for the BVI (which
        must hold the address asked for by ARP, if any); flooding to other members is not
        modelled."""
        state = self.state(node)
        bvi = None if bd.bvi is None else state.interfaces.get(bd.bvi)
        if bvi is None:
            raise _Dropped(
                node,
                f"{_ref(iface)} is bridged in bd {bd.bd_id} without a BVI: "
                "the frame's destination MAC is unknown",
            )
        if frame.arp_for is not None and not self.answers_arp(node, bvi, frame.arp_for):
            raise _Dropped(
                node,
                f"ARP for {frame.arp_for} in bd {bd.bd_id}: BVI {_ref(bvi)} does not hold it "
                "(flooding to the other members is not modelled)",
            )
        return state.mac_of(bvi)

    def answers_arp(self, node: str, iface: Interface, ip: IpAddress) -> bool:
        """Whether VPP answers ARP (or ND) for ``ip`` on ``iface``: an address it holds
        (borrowed too, when unnumbered) or a proxy-ARP range of its VRF."""
        state = self.state(node)
        source = None if iface.unnumbered_of is None else state.interfaces.get(iface.unnumbered_of)
        held = [*iface.addresses, *(source.addresses if source is not None else [])]
        if any(address.ip == ip for address in held):
            return True
        if not iface.proxy_arp or not isinstance(ip, ipaddress.IPv4Address):
            return False
        return any(
            r.table_id == iface.vrf4 and r.low <= ip <= r.high for r in state.proxy_arp_ranges
        )

    # -- VXLAN --------------------------------------------------------------------------

    def encapsulate(self, node: str, tunnel: Interface, frame: _Frame) -> Verdict:
        """Send ``frame`` through a VXLAN tunnel to the node that decapsulates it."""
        info = tunnel.vxlan
        if info is None:
            raise _Dropped(node, f"{_ref(tunnel)} has no VXLAN settings")
        self.add(VxlanEncap(node, _ref(tunnel), info.vni, info.src, info.dst))
        self.refuse_nesting(node, tunnel)
        self.underlay_route(node, tunnel, info)
        owners = self.fabric.owners(info.dst, info.encap_vrf_id)
        if not owners:
            raise _Dropped(
                node, f"no node holds {info.dst} (table {info.encap_vrf_id}): tunnel goes nowhere"
            )
        if len(owners) > 1:
            holders = ", ".join(f"{n} {_ref(i)}" for n, i in owners)
            raise _Dropped(node, f"{info.dst} is held by several nodes: {holders}")
        peer, nic = owners[0]
        self.require_up(peer, nic)
        self.add(Rx(peer, _ref(nic), info.encap_vrf_id))
        decap = self.matching_tunnel(peer, info, nic.table_id(info.dst.version))
        self.add(VxlanDecap(peer, _ref(decap), info.vni, info.src, info.dst))
        self.require_up(peer, decap)
        return self.frame_in(peer, decap, frame)

    def refuse_nesting(self, node: str, tunnel: Interface) -> None:
        """A VXLAN packet routed on its own node must not be put into a tunnel again."""
        if not self.outer:
            return
        outer = self.outer[-1]
        here = (node, tunnel.sw_if_index)
        inside = next((o for o in self.outer if (o.node, o.tunnel.sw_if_index) == here), None)
        if inside is not None:
            raise _Dropped(
                node,
                f"loop: the VXLAN packet to {inside.dst} re-enters {_ref(tunnel)}, the tunnel "
                "it came from (VPP would encapsulate it inside itself again and again)",
                loop=True,
            )
        raise _Dropped(
            node,
            f"the VXLAN packet of {_ref(outer.tunnel)} to {outer.dst} enters "
            f"{_ref(tunnel)}: VXLAN in VXLAN is not modelled",
        )

    def underlay_route(self, node: str, tunnel: Interface, info: VxlanInfo) -> None:
        """The encapsulated packet must have a way out of the sending node that does not
        lead back into the overlay. Its route is resolved like any other: a path without an
        interface (inter-VRF, recursive) is looked up again."""
        table, address = info.encap_vrf_id, info.dst
        while True:
            match, path = self.fib_lookup(node, table, address)
            if path.type != PATH_NORMAL:
                raise _Dropped(node, f"no underlay route to {info.dst} in table {table}")
            if path.sw_if_index != NO_INDEX:
                break
            table, address = path.table_id, path.next_hop or address
        egress = self.state(node).interfaces.get(path.sw_if_index)
        if egress is None:
            raise _Dropped(node, f"route {match.prefix} leaves by a missing interface")
        self.require_up(node, egress)
        if egress.kind == Kind.VXLAN or egress.bd_id is not None:
            self.route_outer(node, tunnel, info.dst, egress, path.next_hop or address)

    def route_outer(
        self, node: str, tunnel: Interface, dst: IpAddress, egress: Interface, next_hop: IpAddress
    ) -> None:
        """The underlay route of ``tunnel``'s packets leads into the overlay: walk the outer
        packet there (a loop when it reaches ``tunnel`` again). Where it leaves the overlay
        by an ordinary port, it is taken to reach the underlay."""
        inner_dst = self.dst
        self.outer.append(_Outer(node, tunnel, dst))
        self.dst = dst
        try:
            self.send(node, egress, next_hop)
        finally:
            self.dst = inner_dst
            self.outer.pop()

    def matching_tunnel(self, peer: str, sent: VxlanInfo, arrival_table: int) -> Interface:
        """The peer's tunnel for what a tunnel with ``sent`` sends: mirrored endpoints, same
        VNI and port, in the table the packet arrived in (VPP's vxlan-input key)."""
        for iface in self.state(peer).of_kind(Kind.VXLAN):
            info = iface.vxlan
            if (
                info is not None
                and (info.src, info.dst, info.vni) == (sent.dst, sent.src, sent.vni)
                and info.dst_port == sent.dst_port
                and info.encap_vrf_id == arrival_table
            ):
                return iface
        raise _Dropped(
            peer, f"no VXLAN tunnel {sent.dst} -> {sent.src} with VNI {sent.vni} to decapsulate"
        )
