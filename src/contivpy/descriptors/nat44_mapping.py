"""NAT44-ED service mappings (``vpp-nat44-mapping``):
``config/vpp/nat/v2/nat44-mapping/<PROTO>/<external ip>/<external port>``.

In: :class:`~contivpy.models.Nat44Mapping` values. Out: one out2in-only mapping per value: a
load-balanced static mapping with every local (VPP needs two or more), or a plain static
mapping for a single local; and the mappings VPP has (retrieve). Depends on the plugin and the
VRF tables of its locals.

Changes: a load-balanced mapping that stays load-balanced with the same twice-NAT, affinity
and tag changes its locals in place (new ones added before old ones go, so two always remain
and no session of a kept backend is lost); a local whose probability changes is removed and
added again while at least three remain. Anything else re-creates the mapping.

VPP does not report affinity (it reads 0) and a plain static mapping has no probability: those
are taken from the desired value when the rest matches; the order of locals is not compared.
A mapping that is not out2in-only or is address-only is not contivpy's (obtained).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.nat44_checks import (
    PLUGIN,
    check_ipv4,
    check_local_vrf,
    check_port,
    check_protocol,
    check_tag,
    vrf_dependencies,
)
from contivpy.descriptors.value_checks import check_key, check_range
from contivpy.models.vpp_keys import NAT44_MAPPING_PREFIX, nat44_mapping_key
from contivpy.models.vpp_nat import Nat44Local, Nat44Mapping, NatProtocol, TwiceNat
from contivpy.scheduler import Dependency, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import nat44_mappings as vpp_maps
from contivpy.vppcalls.nat44 import NatFlags

IPv4 = ipaddress.IPv4Address
_TWICE_FLAGS = {
    TwiceNat.DISABLED: NatFlags.NONE,
    TwiceNat.ENABLED: NatFlags.TWICE_NAT,
    TwiceNat.SELF: NatFlags.SELF_TWICE_NAT,
}


class Nat44MappingDescriptor(VppDescriptor):
    """One service mapping: an external triple to its backends."""

    name: ClassVar[str] = "vpp-nat44-mapping"
    key_prefix: ClassVar[str] = NAT44_MAPPING_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-nat44-global",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Nat44Mapping):
            raise InvalidValueError("value", f"expected a Nat44Mapping, got {type(value).__name__}")
        check_ipv4("external_ip", value.external_ip)
        check_port("external_port", value.external_port)
        protocol = check_protocol("protocol", value.protocol)
        if not isinstance(value.locals, tuple) or not value.locals:
            raise InvalidValueError("locals", "must name at least one backend")
        seen: set[tuple[IPv4, int, int]] = set()
        for i, local in enumerate(value.locals):
            if not isinstance(local, Nat44Local):
                raise InvalidValueError(f"locals[{i}]", "expected a Nat44Local")
            ip = check_ipv4(f"locals[{i}].ip", local.ip)
            check_port(f"locals[{i}].port", local.port)
            check_range(f"locals[{i}].probability", local.probability, 0, 0xFF)
            check_local_vrf(f"locals[{i}].vrf", local.vrf)
            if (ip, local.port, local.vrf) in seen:
                raise InvalidValueError(f"locals[{i}]", "names a backend twice")
            seen.add((ip, local.port, local.vrf))
        if not isinstance(value.twice_nat, TwiceNat):
            raise InvalidValueError("twice_nat", "must be DISABLED, ENABLED or SELF")
        check_range("affinity", value.affinity, 0, 0xFFFFFFFF)
        check_tag("tag", value.tag)
        check_key(key, nat44_mapping_key(protocol.name, value.external_ip, value.external_port))

    def dependencies(self, key: str, value: Nat44Mapping) -> Sequence[Dependency]:
        return (PLUGIN, *vrf_dependencies(*(local.vrf for local in value.locals)))

    def equivalent(self, key: str, old: Nat44Mapping, new: Nat44Mapping) -> bool:
        return _normal(old) == _normal(new)

    def needs_recreate(self, key: str, old: Nat44Mapping, new: Nat44Mapping) -> bool:
        if len(old.locals) < 2 or len(new.locals) < 2:
            return True
        return replace(old, locals=()) != replace(new, locals=())

    async def create(self, key: str, value: Nat44Mapping) -> None:
        if len(value.locals) == 1:
            await vpp_maps.add_static_mapping(self.vpp, _static(value))
        else:
            await vpp_maps.add_lb_mapping(self.vpp, _lb(value))

    async def update(
        self, key: str, old: Nat44Mapping, new: Nat44Mapping, metadata: object
    ) -> None:
        mapping = _lb(new)
        before = {_backend(x): x for x in old.locals}
        after = {_backend(x): x for x in new.locals}
        changed = [b for b in after if b in before and before[b] != after[b]]
        if changed and len(after) < 3:
            # a probability change removes the local first: fewer than two would remain
            await self.delete(key, old, metadata)
            await self.create(key, new)
            return
        for backend in after.keys() - before.keys():
            await vpp_maps.add_lb_local(self.vpp, mapping, _local(after[backend]))
        for backend in before.keys() - after.keys():
            await vpp_maps.delete_lb_local(self.vpp, mapping, _local(before[backend]))
        for backend in changed:
            await vpp_maps.delete_lb_local(self.vpp, mapping, _local(before[backend]))
            await vpp_maps.add_lb_local(self.vpp, mapping, _local(after[backend]))

    async def delete(self, key: str, value: Nat44Mapping, metadata: object) -> None:
        if len(value.locals) == 1:
            await vpp_maps.delete_static_mapping(self.vpp, _static(value))
        else:
            external = IPv4(value.external_ip)
            await vpp_maps.delete_lb_mapping(
                self.vpp, external, value.external_port, value.protocol.value
            )

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        found: list[Retrieved] = []
        for lb in await vpp_maps.dump_lb_mappings(self.vpp):
            locals_ = tuple(
                Nat44Local(str(x.ip), x.port, x.probability, x.vrf_id) for x in lb.locals
            )
            found += _found(
                correlate, lb.external_ip, lb.external_port, lb.protocol, lb.flags, locals_, lb.tag
            )
        for sm in await vpp_maps.dump_static_mappings(self.vpp):
            local = Nat44Local(str(sm.local_ip), sm.local_port, 1, sm.vrf_id)
            found += _found(
                correlate, sm.external_ip, sm.external_port, sm.protocol, sm.flags, (local,), sm.tag
            )
        return found


def _found(
    correlate: Mapping[str, Any],
    external_ip: IPv4,
    port: int,
    protocol_number: int,
    flags: NatFlags,
    locals_: tuple[Nat44Local, ...],
    tag: str,
) -> list[Retrieved]:
    try:
        protocol = NatProtocol(protocol_number)
    except ValueError:
        return []  # ICMP or address-only: contivpy makes none
    if flags & NatFlags.ADDR_ONLY:
        return []
    twice = TwiceNat.DISABLED
    if flags & NatFlags.TWICE_NAT:
        twice = TwiceNat.ENABLED
    elif flags & NatFlags.SELF_TWICE_NAT:
        twice = TwiceNat.SELF
    key = nat44_mapping_key(protocol.name, str(external_ip), port)
    value = Nat44Mapping(str(external_ip), port, protocol, locals_, twice, 0, tag)
    desired = correlate.get(key)
    if isinstance(desired, Nat44Mapping):
        # what VPP does not report: affinity; a single local's probability
        value = replace(value, affinity=desired.affinity)
        if len(locals_) == 1 and len(desired.locals) == 1:
            value = replace(
                value, locals=(replace(locals_[0], probability=desired.locals[0].probability),)
            )
        if _normal(value) == _normal(desired):
            value = desired
    origin = Origin.NB if flags & NatFlags.OUT2IN_ONLY else Origin.SB
    return [Retrieved(key, value, origin=origin)]


def _backend(local: Nat44Local) -> tuple[str, int, int]:
    """What VPP tells locals apart by."""
    return (str(IPv4(local.ip)), local.port, local.vrf)


def _normal(value: Nat44Mapping) -> object:
    """The value as compared: locals as a multiset; a single local's probability unused."""
    locals_ = value.locals
    if len(locals_) == 1:
        locals_ = (replace(locals_[0], probability=1),)
    normal_locals = Counter((str(IPv4(x.ip)), x.port, x.probability, x.vrf) for x in locals_)
    return (replace(value, locals=(), external_ip=str(IPv4(value.external_ip))), normal_locals)


def _flags(value: Nat44Mapping) -> NatFlags:
    return NatFlags.OUT2IN_ONLY | _TWICE_FLAGS[value.twice_nat]


def _local(local: Nat44Local) -> vpp_maps.LbLocal:
    return vpp_maps.LbLocal(IPv4(local.ip), local.port, local.probability, local.vrf)


def _lb(value: Nat44Mapping) -> vpp_maps.LbMapping:
    return vpp_maps.LbMapping(
        IPv4(value.external_ip),
        value.external_port,
        value.protocol.value,
        tuple(_local(x) for x in value.locals),
        _flags(value),
        value.affinity,
        value.tag,
    )


def _static(value: Nat44Mapping) -> vpp_maps.StaticMapping:
    (local,) = value.locals
    return vpp_maps.StaticMapping(
        IPv4(value.external_ip),
        value.external_port,
        value.protocol.value,
        IPv4(local.ip),
        local.port,
        local.vrf,
        _flags(value),
        value.tag,
    )
