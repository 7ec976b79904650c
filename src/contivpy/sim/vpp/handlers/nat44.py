"""NAT44-ED (nat44_ed plugin) messages: the plugin, interface features, pool and mappings.

In: the nat44 requests contivpy uses and the VPP state's :class:`~contivpy.sim.vpp.
nat44_state.Nat44State`. Out: replies and details as a real VPP 26.06 gives them (its rules
are in ``nat44_state``): UNSUPPORTED for configuration while the plugin is disabled,
INVALID_SW_IF_INDEX for an unknown interface, VALUE_EXIST / NO_SUCH_ENTRY for objects that
are (not) there. Sessions are what the packet walk's translations made (``forwarding_nat``):
the user dump lists each inside address (and VRF) with sessions, the session dump a user's
sessions, and ``nat44_del_session`` deletes one by its inside or outside end and its
external host (ED needs the host: without EXT_HOST_VALID it is UNSUPPORTED).
"""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.nat44_sessions import Endpoint, NatSession
from contivpy.sim.vpp.nat44_state import NatLocal, NatMapping
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.nat44 import NatFlags
from contivpy.vppcalls.retvals import Retval

IPv4 = ipaddress.IPv4Address
#: the flags a mapping keeps (VPP drops the rest, and keeps TWICE_NAT alone of the two)
_MAPPING_FLAGS = NatFlags.TWICE_NAT | NatFlags.SELF_TWICE_NAT | NatFlags.OUT2IN_ONLY


def _ip(msg: Message, field: str) -> IPv4:
    return IPv4(msg.get_bytes(field))


def _mapping_flags(flags: int) -> int:
    kept = flags & _MAPPING_FLAGS
    if kept & NatFlags.TWICE_NAT:
        kept &= ~NatFlags.SELF_TWICE_NAT
    return int(kept)


# --- plugin ----------------------------------------------------------------------------------


def plugin_enable_disable(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    if msg.get_bool("enable"):
        nat.enable(msg.get_int("sessions"), msg.get_int("inside_vrf"), msg.get_int("outside_vrf"))
    else:
        nat.disable()
    return {}


def forwarding_enable_disable(state: VppState, msg: Message) -> Fields:
    state.nat44.forwarding = msg.get_bool("enable")  # accepted even while disabled
    return {}


def show_running_config(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    udp, established, transitory, icmp = nat.timeouts
    return {
        "inside_vrf": nat.inside_vrf,
        "outside_vrf": nat.outside_vrf,
        "sessions": nat.sessions,
        "translation_buckets": nat.translation_buckets,
        "forwarding_enabled": nat.forwarding,
        "ipfix_logging_enabled": True,
        "timeouts": {
            "udp": udp,
            "tcp_established": established,
            "tcp_transitory": transitory,
            "icmp": icmp,
        },
        "flags": 1,  # endpoint-dependent, the only mode 26.06 has
    }


# --- interfaces ------------------------------------------------------------------------------


def interface_add_del_feature(state: VppState, msg: Message) -> Fields:
    state.nat44.require_enabled()
    sw_if_index = msg.get_int("sw_if_index")
    state.interface(sw_if_index)
    inside = bool(msg.get_int("flags") & NatFlags.INSIDE)
    if msg.get_bool("is_add"):
        state.nat44.add_feature(sw_if_index, inside)
    else:
        state.nat44.delete_feature(sw_if_index, inside)
    return {}


def interface_dump(state: VppState, msg: Message) -> list[Fields]:
    out: list[Fields] = []
    for f in state.nat44.features:
        flags = (NatFlags.INSIDE if f.inside else 0) | (NatFlags.OUTSIDE if f.outside else 0)
        out.append({"sw_if_index": f.sw_if_index, "flags": int(flags)})
    return out


def add_del_output_interface(state: VppState, msg: Message) -> Fields:
    state.nat44.require_enabled()
    sw_if_index = msg.get_int("sw_if_index")
    state.interface(sw_if_index)
    if msg.get_bool("is_add"):
        state.nat44.add_output(sw_if_index)
    else:
        state.nat44.delete_output(sw_if_index)
    return {}


def output_interface_get(state: VppState, msg: Message) -> list[Fields]:
    return [{"sw_if_index": o.sw_if_index} for o in state.nat44.outputs]


# --- address pool ----------------------------------------------------------------------------


def add_del_address_range(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    first = int(_ip(msg, "first_ip_address"))
    last = int(_ip(msg, "last_ip_address"))
    twice_nat = bool(msg.get_int("flags") & NatFlags.TWICE_NAT)
    vrf_id = msg.get_int("vrf_id")
    # VPP counts (last - first + 1) in 32 bits: an inverted range by one is 0 addresses; a
    # more inverted one would wrap to billions, which the simulator does not attempt.
    for value in range(first, last + 1):
        if msg.get_bool("is_add"):
            nat.add_address(IPv4(value), vrf_id, twice_nat)
        else:
            nat.delete_address(IPv4(value), twice_nat)
    return {}


def address_dump(state: VppState, msg: Message) -> list[Fields]:
    nat = state.nat44
    return [
        {"ip_address": ip.packed, "vrf_id": vrf_id, "flags": int(twice)}
        for twice, pool in (
            (NatFlags.NONE, nat.addresses),
            (NatFlags.TWICE_NAT, nat.twice_nat_addresses),
        )
        for ip, vrf_id in pool
    ]


# --- mappings --------------------------------------------------------------------------------


def _local(fields: Message) -> NatLocal:
    return NatLocal(
        IPv4(fields.get_bytes("addr")),
        fields.get_int("port"),
        fields.get_int("probability"),
        fields.get_int("vrf_id"),
    )


def add_del_lb_static_mapping(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    external = _ip(msg, "external_addr")
    port, protocol = msg.get_int("external_port"), msg.get_int("protocol")
    if not msg.get_bool("is_add"):
        found = nat.find((external, port, protocol, False))
        if found is None or found.kind != "lb":
            raise SimError(Retval.NO_SUCH_ENTRY, "no such load-balanced mapping")
        nat.delete_mapping(found)
        return {}
    locals_ = [_local(local) for local in msg.get_structs("locals")]
    if len(locals_) < 2:
        raise SimError(Retval.INVALID_VALUE, "a load-balanced mapping needs two locals")
    flags = msg.get_int("flags")
    if not flags & NatFlags.OUT2IN_ONLY and all(a != external for a, _ in nat.addresses):
        raise SimError(Retval.NO_SUCH_ENTRY, "external address not in the pool")
    nat.add_mapping(
        NatMapping(
            "lb",
            external,
            port,
            protocol,
            _mapping_flags(flags),
            locals_,
            affinity=msg.get_int("affinity"),
            tag=msg.get_str("tag"),
        )
    )
    return {}


def lb_static_mapping_add_del_local(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    key = (_ip(msg, "external_addr"), msg.get_int("external_port"), msg.get_int("protocol"), False)
    found = nat.find(key)
    if found is None or found.kind != "lb":
        raise SimError(Retval.NO_SUCH_ENTRY, "no such load-balanced mapping")
    local = _local(msg.get_struct("local"))
    present = next((x for x in found.locals if x.same(local)), None)
    if msg.get_bool("is_add"):
        if present is not None:
            raise SimError(Retval.VALUE_EXIST, "local exists")
        found.locals.append(local)
        return {}
    if present is None:
        raise SimError(Retval.NO_SUCH_ENTRY, "no such local")
    if len(found.locals) <= 2:
        raise SimError(Retval.UNSPECIFIED, "a load-balanced mapping keeps two locals")
    found.locals.remove(present)
    return {}


def lb_static_mapping_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {
            "external_addr": m.external_ip.packed,
            "external_port": m.external_port,
            "protocol": m.protocol,
            "flags": m.flags,
            "affinity": 0,  # VPP 26.06 does not report it
            "tag": m.tag,
            "local_num": len(m.locals),
            "locals": [
                {
                    "addr": x.ip.packed,
                    "port": x.port,
                    "probability": x.probability,
                    "vrf_id": x.vrf_id,
                }
                for x in m.locals
            ],
        }
        for m in state.nat44.mappings
        if m.kind == "lb"
    ]


def add_del_static_mapping_v2(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    flags = msg.get_int("flags")
    addr_only = bool(flags & NatFlags.ADDR_ONLY)
    local = NatLocal(
        _ip(msg, "local_ip_address"),
        0 if addr_only else msg.get_int("local_port"),
        0,
        msg.get_int("vrf_id"),
    )
    mapping = NatMapping(
        "static",
        _ip(msg, "external_ip_address"),
        0 if addr_only else msg.get_int("external_port"),
        0 if addr_only else msg.get_int("protocol"),
        int(flags & (_MAPPING_FLAGS | NatFlags.ADDR_ONLY)),
        [local],
        tag=msg.get_str("tag"),
    )
    if msg.get_bool("is_add"):
        nat.add_mapping(mapping)
        return {}
    if flags & NatFlags.OUT2IN_ONLY:  # found by its external triple
        found = nat.find(mapping.key())
    else:  # found by its local end
        found = next(
            (
                m
                for m in nat.mappings
                if m.kind == "static" and m.protocol == mapping.protocol and m.locals[0].same(local)
            ),
            None,
        )
    if found is None or found.kind != "static":
        raise SimError(Retval.NO_SUCH_ENTRY, "no such static mapping")
    nat.delete_mapping(found)
    return {}


def static_mapping_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {
            "flags": m.flags,
            "local_ip_address": m.locals[0].ip.packed,
            "external_ip_address": m.external_ip.packed,
            "protocol": m.protocol,
            "local_port": m.locals[0].port,
            "external_port": m.external_port,
            "external_sw_if_index": 0xFFFFFFFF,
            "vrf_id": m.locals[0].vrf_id,
            "tag": m.tag,
        }
        for m in state.nat44.mappings
        if m.kind == "static"
    ]


def add_del_identity_mapping(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    addr_only = bool(msg.get_int("flags") & NatFlags.ADDR_ONLY)
    ip = _ip(msg, "ip_address")
    key = (
        (ip, 0, 0, True) if addr_only else (ip, msg.get_int("port"), msg.get_int("protocol"), False)
    )
    if msg.get_bool("is_add"):
        nat.add_identity(key, msg.get_int("vrf_id"), msg.get_str("tag"))
    else:
        nat.delete_identity(key, msg.get_int("vrf_id"))
    return {}


def identity_mapping_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {
            "flags": m.flags,
            "ip_address": m.external_ip.packed,
            "protocol": m.protocol,
            "port": m.external_port,
            "sw_if_index": 0xFFFFFFFF,
            "vrf_id": local.vrf_id,
            "tag": m.tag,
        }
        for m in state.nat44.mappings
        if m.kind == "identity"
        for local in m.locals
    ]


# --- sessions --------------------------------------------------------------------------------


def user_dump(state: VppState, msg: Message) -> list[Fields]:
    users: dict[tuple[IPv4, int], list[NatSession]] = {}
    for session in state.nat44.table:
        users.setdefault((session.inside.ip, session.inside_vrf), []).append(session)
    return [
        {
            "vrf_id": vrf_id,
            "ip_address": ip.packed,
            "nsessions": sum(not s.static for s in sessions),
            "nstaticsessions": sum(s.static for s in sessions),
        }
        for (ip, vrf_id), sessions in users.items()
    ]


def _session_flags(session: NatSession) -> int:
    flags = NatFlags.EXT_HOST_VALID
    if session.static:
        flags |= NatFlags.STATIC
    if session.twice_nat:
        flags |= NatFlags.TWICE_NAT
    return int(flags)


def user_session_v3_dump(state: VppState, msg: Message) -> list[Fields]:
    table = state.nat44.table
    user, vrf_id = _ip(msg, "ip_address"), msg.get_int("vrf_id")
    now = table.clock()
    return [
        {
            "outside_ip_address": s.outside.ip.packed,
            "outside_port": s.outside.port,
            "inside_ip_address": s.inside.ip.packed,
            "inside_port": s.inside.port,
            "protocol": s.protocol,
            "flags": _session_flags(s),
            "last_heard": int(s.last_heard),
            "time_since_last_heard": int(now - s.last_heard),
            "total_bytes": 0,  # a walk has no packet sizes
            "total_pkts": s.packets,
            "ext_host_address": s.ext_host.ip.packed,
            "ext_host_port": s.ext_host.port,
            "ext_host_nat_address": s.ext_host_nat.ip.packed,
            "ext_host_nat_port": s.ext_host_nat.port,
            "is_timed_out": table.timed_out(s),
        }
        for s in table
        if s.inside.ip == user and s.inside_vrf == vrf_id
    ]


def del_session(state: VppState, msg: Message) -> Fields:
    nat = state.nat44
    nat.require_enabled()
    flags = msg.get_int("flags")
    if not flags & NatFlags.EXT_HOST_VALID:
        raise SimError(Retval.UNSUPPORTED, "an endpoint-dependent session needs its external host")
    end = Endpoint(_ip(msg, "address"), msg.get_int("port"))
    host = Endpoint(_ip(msg, "ext_host_address"), msg.get_int("ext_host_port"))
    protocol, vrf_id = msg.get_int("protocol"), msg.get_int("vrf_id")
    if flags & NatFlags.INSIDE:  # the in2out flow: the inside sees the host as ext_host_nat
        found = nat.table.from_inside((protocol, end, host))
        found = found if found is not None and found.inside_vrf == vrf_id else None
    else:
        found = nat.table.from_outside((protocol, host, end))
    if found is None:
        raise SimError(Retval.NO_SUCH_ENTRY, "no such session")
    nat.table.remove(found)
    return {}


HANDLERS: dict[str, Handler] = {
    "nat44_ed_plugin_enable_disable": plugin_enable_disable,
    "nat44_forwarding_enable_disable": forwarding_enable_disable,
    "nat44_show_running_config": show_running_config,
    "nat44_interface_add_del_feature": interface_add_del_feature,
    "nat44_interface_dump": interface_dump,
    "nat44_ed_add_del_output_interface": add_del_output_interface,
    "nat44_ed_output_interface_get": output_interface_get,
    "nat44_add_del_address_range": add_del_address_range,
    "nat44_address_dump": address_dump,
    "nat44_add_del_lb_static_mapping": add_del_lb_static_mapping,
    "nat44_lb_static_mapping_add_del_local": lb_static_mapping_add_del_local,
    "nat44_lb_static_mapping_dump": lb_static_mapping_dump,
    "nat44_add_del_static_mapping_v2": add_del_static_mapping_v2,
    "nat44_static_mapping_dump": static_mapping_dump,
    "nat44_add_del_identity_mapping": add_del_identity_mapping,
    "nat44_identity_mapping_dump": identity_mapping_dump,
    "nat44_user_dump": user_dump,
    "nat44_user_session_v3_dump": user_session_v3_dump,
    "nat44_del_session": del_session,
}
