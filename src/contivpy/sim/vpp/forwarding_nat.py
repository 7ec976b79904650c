"""NAT44-ED translation for the packet walk: what VPP's nat44-ed nodes do to a packet.

In: a VPP's :class:`~contivpy.sim.vpp.nat44_state.Nat44State`, the interface a packet
arrives on (``arriving``, after the input ACL, before routing) or leaves by (``leaving``,
after the output ACL), and the packet's :class:`~contivpy.sim.vpp.forwarding_acl.Flow`.
Out: None when NAT leaves the packet alone, else the rewritten flow and the
:class:`~contivpy.sim.vpp.forwarding_trace.NatHop` that shows it; :class:`NatDrop` (its
reason) when VPP drops it. Sessions made land in the state's session table, so later
walks (the flow's next packets, its replies) and the session dumps see them.

VPP's order, which the walk keeps: input ACL -> nat44-out2in -> routing -> output ACL ->
nat44-in2out-output. On arrival:

- an interface with the outside feature (or the output feature, which on VPP 26.06 also
  translates what arrives) looks the packet up as an out2in flow of a session, then in the
  mappings by (address, port, protocol), then address-only: an identity leaves the packet
  alone; a static mapping sends it to its local, a load-balanced one to a local drawn by
  the locals' probabilities (``nat44_sessions``; with affinity the client's last backend),
  making a session. Twice-NAT (mapping flag TWICE_NAT, or SELF_TWICE_NAT when the backend
  drawn is the client itself: a hairpin) also rewrites the source to the twice-NAT pool's
  first address. Nothing matching passes untranslated with forwarding on, and is dropped
  without (VPP's "no translation");
- an interface with the inside feature translates the in2out flows of sessions (the
  replies: source back to the frontend, destination back to the client). Replies arriving
  on an interface without it are not translated, as in VPP.

On leaving by an interface with the output feature: an in2out flow of a session is
translated; a new flow whose source is not an identity is source-NATed to the pool address
of the interface's VRF (or of every VRF), keeping its port when free, making a session the
replies arriving there match.

Not modelled: dynamic source NAT of new flows from inside interfaces to outside ones (only
the output feature source-NATs), static mappings translating their local's own flows
(services' mappings are out2in-only), the per-VRF rules of sessions and identities, the
session limit, byte counts, TCP states (a TCP session lives for the established timeout).
"""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.forwarding_acl import Flow
from contivpy.sim.vpp.forwarding_trace import InterfaceRef, NatHop
from contivpy.sim.vpp.nat44_sessions import Endpoint, FlowKey, NatSession, SessionTable
from contivpy.sim.vpp.nat44_state import Nat44State, NatMapping
from contivpy.vppcalls.nat44 import NatFlags
from contivpy.vppcalls.wire import NO_INDEX

IPv4 = ipaddress.IPv4Address
OUT2IN, IN2OUT, OUTPUT = "nat44-out2in", "nat44-in2out", "nat44-in2out-output"


class NatDrop(Exception):
    """VPP's NAT drops the packet (the message is why)."""


def _ends(flow: Flow) -> tuple[Endpoint, Endpoint]:
    return Endpoint(IPv4(flow.src), flow.src_port), Endpoint(IPv4(flow.dst), flow.dst_port)


def _key(flow: Flow) -> FlowKey:
    src, dst = _ends(flow)
    return (flow.protocol, src, dst)


def _rewrite(
    flow: Flow,
    src: Endpoint,
    dst: Endpoint,
    where: tuple[str, InterfaceRef, str],
    session: str,
    note: str = "",
) -> tuple[Flow, NatHop]:
    node, iface, stage = where
    new = Flow(src.ip, dst.ip, flow.protocol, src.port, dst.port, flow.tcp_flags)
    hop = NatHop(
        node,
        iface,
        stage,
        (flow.src, flow.src_port),
        (flow.dst, flow.dst_port),
        (src.ip, src.port),
        (dst.ip, dst.port),
        session,
        note,
    )
    return new, hop


def _heard(table: SessionTable, session: NatSession) -> None:
    session.last_heard = table.clock()
    session.packets += 1


def _find_mapping(nat: Nat44State, protocol: int, dst: Endpoint) -> NatMapping | None:
    exact = nat.find((dst.ip, dst.port, protocol, False))
    return exact if exact is not None else nat.find((dst.ip, 0, 0, True))


def arriving(
    nat: Nat44State, node: str, iface: InterfaceRef, sw_if_index: int, flow: Flow
) -> tuple[Flow, NatHop] | None:
    """What nat44-out2in / nat44-in2out do to ``flow`` arriving on ``sw_if_index``."""
    feature = nat.feature(sw_if_index)
    outside = nat.output(sw_if_index) is not None or (feature is not None and feature.outside)
    inside = feature is not None and feature.inside
    if not (outside or inside):
        return None
    table, key = nat.table, _key(flow)
    if outside and (session := table.from_outside(key)) is not None:
        _heard(table, session)
        return _rewrite(
            flow, session.ext_host_nat, session.inside, (node, iface, OUT2IN), "existing"
        )
    if inside and (session := table.from_inside(key)) is not None:
        _heard(table, session)
        return _rewrite(flow, session.outside, session.ext_host, (node, iface, IN2OUT), "existing")
    if not outside:
        return None
    src, dst = _ends(flow)
    mapping = _find_mapping(nat, flow.protocol, dst)
    if mapping is None:
        if nat.forwarding:
            return None
        raise NatDrop(f"{OUT2IN}: no translation for {dst} (forwarding is disabled)")
    if mapping.kind == "identity":
        return _rewrite(flow, src, dst, (node, iface, OUT2IN), "identity")
    return _dnat(nat, mapping, flow, (node, iface, OUT2IN))


def _dnat(
    nat: Nat44State, mapping: NatMapping, flow: Flow, where: tuple[str, InterfaceRef, str]
) -> tuple[Flow, NatHop]:
    """A new session for ``flow`` to ``mapping``'s external end: to one of its locals."""
    table = nat.table
    src, dst = _ends(flow)
    kept = False
    if mapping.kind == "lb":
        candidates = [(local, local.probability) for local in mapping.locals]
        local, kept = table.choose(src.ip, mapping.key(), candidates, mapping.affinity)
    else:
        local = mapping.locals[0]
    inside = Endpoint(local.ip, dst.port if mapping.addr_only else local.port)
    notes = ["affinity"] if kept else []
    ext_host_nat = src
    twice = bool(mapping.flags & NatFlags.TWICE_NAT)
    if not twice and mapping.flags & NatFlags.SELF_TWICE_NAT and local.ip == src.ip:
        twice = True
        notes.insert(0, "self-twice-NAT")
    elif twice:
        notes.insert(0, "twice-NAT")
    if twice:
        if not nat.twice_nat_addresses:
            raise NatDrop(f"{OUT2IN}: twice-NAT to {inside} but the twice-NAT pool is empty")
        address = nat.twice_nat_addresses[0][0]
        port = src.port
        if port:
            free = table.free_port(table.inside_taken(flow.protocol, inside, address), port)
            if free is None:
                raise NatDrop(f"{OUT2IN}: out of ports on twice-NAT address {address}")
            port = free
        ext_host_nat = Endpoint(address, port)
    session = NatSession(
        flow.protocol,
        inside=inside,
        outside=dst,
        ext_host=src,
        ext_host_nat=ext_host_nat,
        inside_vrf=local.vrf_id,
        static=True,
        twice_nat=twice,
        last_heard=table.clock(),
        packets=1,
    )
    table.add(session)
    return _rewrite(flow, ext_host_nat, inside, where, "new", ", ".join(notes))


def _identity_of_source(nat: Nat44State, protocol: int, src: Endpoint) -> bool:
    exact = nat.find((src.ip, src.port, protocol, False))
    found = exact if exact is not None else nat.find((src.ip, 0, 0, True))
    return found is not None and found.kind == "identity"


def leaving(
    nat: Nat44State, node: str, iface: InterfaceRef, sw_if_index: int, vrf: int, flow: Flow
) -> tuple[Flow, NatHop] | None:
    """What nat44-in2out-output does to ``flow`` leaving by ``sw_if_index`` (in ``vrf``)."""
    if nat.output(sw_if_index) is None:
        return None
    table, where = nat.table, (node, iface, OUTPUT)
    session = table.from_inside(_key(flow))
    if session is not None:
        _heard(table, session)
        return _rewrite(flow, session.outside, session.ext_host, where, "existing")
    src, dst = _ends(flow)
    if _identity_of_source(nat, flow.protocol, src):
        return _rewrite(flow, src, dst, where, "identity")
    address = next((a for a, v in nat.addresses if v in (NO_INDEX, vrf)), None)
    if address is None:
        raise NatDrop(f"{OUTPUT}: no pool address for VRF {vrf} to translate {src} to")
    port = src.port
    if port:
        free = table.free_port(table.outside_taken(flow.protocol, dst, address), port)
        if free is None:
            raise NatDrop(f"{OUTPUT}: out of ports on {address}")
        port = free
    outside = Endpoint(address, port)
    table.add(
        NatSession(
            flow.protocol,
            inside=src,
            outside=outside,
            ext_host=dst,
            ext_host_nat=dst,
            inside_vrf=vrf,
            static=False,
            twice_nat=False,
            last_heard=table.clock(),
            packets=1,
        )
    )
    return _rewrite(flow, outside, dst, where, "new")
