"""NAT44-ED mappings: load-balanced static mappings, single static mappings, identities.

In: :class:`LbMapping`, :class:`StaticMapping`, :class:`IdentityMapping`. Out: the mappings
VPP holds, as VPP 26.06 dumps them (one pool of mappings; each dump lists its kind in pool
order, a freed slot reused by the next mapping).

Facts of a real VPP 26.06:

- A load-balanced mapping needs at least two locals (one: INVALID_VALUE) and, unless it is
  OUT2IN_ONLY, an external address in the pool (else NO_SUCH_ENTRY). A mapping whose
  external (address, port, protocol) is taken by any mapping is VALUE_EXIST; deleting needs
  only that external triple (NO_SUCH_ENTRY when there is none).
- ``nat44_lb_static_mapping_add_del_local`` appends a local (VALUE_EXIST when one with the same
  address, port and VRF is there) or removes one, keeping the others' order (NO_SUCH_ENTRY when
  absent; UNSPECIFIED when fewer than two would remain).
- The dumps report ``affinity`` as 0 whatever it was set to, drop ADDR_ONLY from a
  load-balanced mapping and report TWICE_NAT alone when both twice-NAT flags were given.
- An OUT2IN_ONLY static mapping is deleted by its external triple; the local one is ignored.
- An identity mapping (address-only, or with protocol and port) is one mapping per (address,
  protocol, port) with a VRF list: the same identity in another VRF joins it (the first tag
  stays), each VRF is listed as its own details message; one that exists is VALUE_EXIST.
- A VRF given for a local or identity makes VPP create that FIB table.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.nat44 import NatFlags
from contivpy.vppcalls.wire import NO_INDEX

IPv4 = ipaddress.IPv4Address


@dataclass(frozen=True)
class LbLocal:
    """One backend of a load-balanced mapping."""

    ip: IPv4
    port: int
    probability: int = 1
    vrf_id: int = 0


@dataclass(frozen=True)
class LbMapping:
    """Traffic to (external_ip, external_port, protocol) goes to one of ``locals``."""

    external_ip: IPv4
    external_port: int
    protocol: int
    locals: tuple[LbLocal, ...]
    flags: NatFlags = NatFlags.OUT2IN_ONLY
    affinity: int = 0
    tag: str = ""


@dataclass(frozen=True)
class StaticMapping:
    """Traffic to (external_ip, external_port, protocol) goes to (local_ip, local_port) in
    VRF ``vrf_id``."""

    external_ip: IPv4
    external_port: int
    protocol: int
    local_ip: IPv4
    local_port: int
    vrf_id: int = 0
    flags: NatFlags = NatFlags.OUT2IN_ONLY
    tag: str = ""


@dataclass(frozen=True)
class IdentityMapping:
    """Traffic to ``ip`` (address-only), or to (ip, protocol, port), in VRF ``vrf_id`` is not
    translated."""

    ip: IPv4
    vrf_id: int = 0
    protocol: int = 0
    port: int = 0
    addr_only: bool = True
    tag: str = ""


def _local_wire(local: LbLocal) -> dict[str, object]:
    return {
        "addr": local.ip.packed,
        "port": local.port,
        "probability": local.probability,
        "vrf_id": local.vrf_id,
    }


def _local_of(d: Message) -> LbLocal:
    return LbLocal(
        IPv4(d.get_bytes("addr")), d.get_int("port"), d.get_int("probability"), d.get_int("vrf_id")
    )


# --- load-balanced -------------------------------------------------------------------------


async def add_lb_mapping(vpp: ApiChannel, mapping: LbMapping) -> None:
    """Add the mapping with its locals."""
    await vpp.call(
        "nat44_add_del_lb_static_mapping",
        {
            "is_add": True,
            "flags": int(mapping.flags),
            "external_addr": mapping.external_ip.packed,
            "external_port": mapping.external_port,
            "protocol": mapping.protocol,
            "affinity": mapping.affinity,
            "tag": mapping.tag,
            "local_num": len(mapping.locals),
            "locals": [_local_wire(local) for local in mapping.locals],
        },
    )


async def delete_lb_mapping(vpp: ApiChannel, external_ip: IPv4, port: int, protocol: int) -> None:
    """Delete the mapping of the external triple."""
    await vpp.call(
        "nat44_add_del_lb_static_mapping",
        {
            "is_add": False,
            "external_addr": external_ip.packed,
            "external_port": port,
            "protocol": protocol,
            "local_num": 0,
            "locals": [],
        },
    )


async def add_lb_local(vpp: ApiChannel, mapping: LbMapping, local: LbLocal) -> None:
    """Add a local to an existing load-balanced mapping."""
    await _lb_local(vpp, mapping, local, True)


async def delete_lb_local(vpp: ApiChannel, mapping: LbMapping, local: LbLocal) -> None:
    """Remove a local (by address, port and VRF) from a load-balanced mapping."""
    await _lb_local(vpp, mapping, local, False)


async def _lb_local(vpp: ApiChannel, mapping: LbMapping, local: LbLocal, is_add: bool) -> None:
    await vpp.call(
        "nat44_lb_static_mapping_add_del_local",
        {
            "is_add": is_add,
            "external_addr": mapping.external_ip.packed,
            "external_port": mapping.external_port,
            "protocol": mapping.protocol,
            "local": _local_wire(local),
        },
    )


async def dump_lb_mappings(vpp: ApiChannel) -> list[LbMapping]:
    """Every load-balanced mapping (affinity always reads 0)."""
    return [
        LbMapping(
            external_ip=IPv4(d.get_bytes("external_addr")),
            external_port=d.get_int("external_port"),
            protocol=d.get_int("protocol"),
            locals=tuple(_local_of(local) for local in d.get_structs("locals")),
            flags=NatFlags(d.get_int("flags")),
            affinity=d.get_int("affinity"),
            tag=d.get_str("tag"),
        )
        for d in await vpp.dump("nat44_lb_static_mapping_dump")
    ]


# --- static (one local) --------------------------------------------------------------------


def _static_wire(mapping: StaticMapping, is_add: bool) -> dict[str, object]:
    return {
        "is_add": is_add,
        "match_pool": False,
        "flags": int(mapping.flags),
        "pool_ip_address": bytes(4),
        "local_ip_address": mapping.local_ip.packed,
        "external_ip_address": mapping.external_ip.packed,
        "protocol": mapping.protocol,
        "local_port": mapping.local_port,
        "external_port": mapping.external_port,
        "external_sw_if_index": NO_INDEX,
        "vrf_id": mapping.vrf_id,
        "tag": mapping.tag,
    }


async def add_static_mapping(vpp: ApiChannel, mapping: StaticMapping) -> None:
    """Add a one-local static mapping."""
    await vpp.call("nat44_add_del_static_mapping_v2", _static_wire(mapping, True))


async def delete_static_mapping(vpp: ApiChannel, mapping: StaticMapping) -> None:
    """Delete a static mapping (an OUT2IN_ONLY one by its external triple)."""
    await vpp.call("nat44_add_del_static_mapping_v2", _static_wire(mapping, False))


async def dump_static_mappings(vpp: ApiChannel) -> list[StaticMapping]:
    """Every static mapping that is neither load-balanced nor an identity."""
    return [
        StaticMapping(
            external_ip=IPv4(d.get_bytes("external_ip_address")),
            external_port=d.get_int("external_port"),
            protocol=d.get_int("protocol"),
            local_ip=IPv4(d.get_bytes("local_ip_address")),
            local_port=d.get_int("local_port"),
            vrf_id=d.get_int("vrf_id"),
            flags=NatFlags(d.get_int("flags")),
            tag=d.get_str("tag"),
        )
        for d in await vpp.dump("nat44_static_mapping_dump")
    ]


# --- identity ------------------------------------------------------------------------------


def _identity_wire(mapping: IdentityMapping, is_add: bool) -> dict[str, object]:
    return {
        "is_add": is_add,
        "flags": int(NatFlags.ADDR_ONLY if mapping.addr_only else NatFlags.NONE),
        "ip_address": mapping.ip.packed,
        "protocol": 0 if mapping.addr_only else mapping.protocol,
        "port": 0 if mapping.addr_only else mapping.port,
        "sw_if_index": NO_INDEX,
        "vrf_id": mapping.vrf_id,
        "tag": mapping.tag,
    }


async def add_identity_mapping(vpp: ApiChannel, mapping: IdentityMapping) -> None:
    """Exempt the address (or address, protocol and port) from translation in a VRF."""
    await vpp.call("nat44_add_del_identity_mapping", _identity_wire(mapping, True))


async def delete_identity_mapping(vpp: ApiChannel, mapping: IdentityMapping) -> None:
    """Remove the identity in that VRF."""
    await vpp.call("nat44_add_del_identity_mapping", _identity_wire(mapping, False))


async def dump_identity_mappings(vpp: ApiChannel) -> list[IdentityMapping]:
    """Every identity, one per VRF."""
    out = []
    for d in await vpp.dump("nat44_identity_mapping_dump"):
        addr_only = bool(d.get_int("flags") & NatFlags.ADDR_ONLY)
        out.append(
            IdentityMapping(
                ip=IPv4(d.get_bytes("ip_address")),
                vrf_id=d.get_int("vrf_id"),
                protocol=0 if addr_only else d.get_int("protocol"),
                port=0 if addr_only else d.get_int("port"),
                addr_only=addr_only,
                tag=d.get_str("tag"),
            )
        )
    return out
