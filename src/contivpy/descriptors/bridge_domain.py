"""Bridge domains (``vpp-bridge-domain``): ``config/vpp/l2/v2/bridge-domain/<name>``.

In: :class:`~contivpy.models.BridgeDomain` values. Out: bridge domains created in VPP (VPP
picks the id; the name goes into the domain's tag, which is how an agent restart recognises
it), deleted, and read back (retrieve: tagged domains are ours, untagged ones obtained as
``UNTAGGED-BD-<id>``; members in the desired order). Metadata:
:class:`~contivpy.descriptors.indexes.BridgeDomainMeta` (bd_id).

Each member is a derived value (``vpp/bd/<bd>/interface/<if>``, see ``bd_member``), so the
domain exists while some member interfaces do not, and equivalence ignores the members.
VPP's API cannot change a domain's settings in place: every settings change re-creates it
(its members and L2 FIB entries depend on it and follow), as Ligato does for all but the
ARP-termination table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.indexes import BridgeDomainMeta
from contivpy.descriptors.value_checks import (
    check_bridge_domain_name,
    check_interface_name,
    check_key,
    check_range,
)
from contivpy.models.vpp_derived import BridgeDomainMember
from contivpy.models.vpp_keys import BRIDGE_DOMAIN_PREFIX, bd_member_key, bridge_domain_key
from contivpy.models.vpp_l2 import BDInterface, BridgeDomain
from contivpy.scheduler import KV, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import bridge_domains as vpp_bd
from contivpy.vppcalls.wire import NO_INDEX

UNTAGGED_BD_PREFIX = "UNTAGGED-BD-"


class BridgeDomainDescriptor(VppDescriptor):
    """A bridge domain's settings; members are derived values."""

    name: ClassVar[str] = "vpp-bridge-domain"
    key_prefix: ClassVar[str] = BRIDGE_DOMAIN_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, BridgeDomain):
            raise InvalidValueError("value", f"expected a BridgeDomain, got {type(value).__name__}")
        check_bridge_domain_name("name", value.name)
        check_key(key, bridge_domain_key(value.name))
        check_range("mac_age", value.mac_age, 0, 255)
        seen: set[str] = set()
        bvi = 0
        for i, member in enumerate(value.interfaces):
            check_interface_name(f"interfaces[{i}].name", member.name)
            if member.name in seen:
                raise InvalidValueError(f"interfaces[{i}].name", f"{member.name} is listed twice")
            seen.add(member.name)
            check_range(f"interfaces[{i}].split_horizon_group", member.split_horizon_group, 0, 255)
            bvi += member.bvi
            if bvi > 1:
                raise InvalidValueError(f"interfaces[{i}].bvi", "a bridge domain has one BVI")

    def derived(self, key: str, value: BridgeDomain) -> Sequence[KV]:
        return [
            KV(
                bd_member_key(value.name, m.name),
                BridgeDomainMember(value.name, m.name, m.bvi, m.split_horizon_group),
            )
            for m in value.interfaces
        ]

    def equivalent(self, key: str, old: BridgeDomain, new: BridgeDomain) -> bool:
        return replace(old, interfaces=()) == replace(new, interfaces=())

    async def create(self, key: str, value: BridgeDomain) -> BridgeDomainMeta:
        return BridgeDomainMeta(await vpp_bd.add_bridge_domain(self.vpp, _to_vpp(value)))

    async def delete(self, key: str, value: BridgeDomain, metadata: BridgeDomainMeta) -> None:
        await vpp_bd.delete_bridge_domain(self.vpp, metadata.bd_id)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        interfaces = self.interfaces.by_sw_if_index()
        found: list[Retrieved] = []
        for details in await vpp_bd.dump_bridge_domains(self.vpp):
            domain = details.domain
            name = domain.tag or f"{UNTAGGED_BD_PREFIX}{domain.bd_id}"
            members = []
            for member in details.members:
                known = interfaces.get(member.sw_if_index)
                if known is not None:
                    bvi = member.sw_if_index == details.bvi_sw_if_index
                    members.append(BDInterface(known[0], bvi, member.shg))
            key = bridge_domain_key(name)
            desired = correlate.get(key)
            if isinstance(desired, BridgeDomain):
                members = _in_desired_order(members, desired.interfaces)
            value = _from_vpp(name, domain, members)
            origin = Origin.NB if domain.tag else Origin.SB
            found.append(Retrieved(key, value, BridgeDomainMeta(domain.bd_id), origin))
        return found


# The desired value (models.BridgeDomain: a name, members by interface name) and VPP's settings
# (vppcalls.bridge_domains.BridgeDomain: VPP's bd_id, the name as a tag) are two models of one
# domain on purpose; these two functions are the only places that translate between them.


def _to_vpp(value: BridgeDomain) -> vpp_bd.BridgeDomain:
    """The settings to create ``value`` with: VPP picks the id, the name goes into the tag."""
    return vpp_bd.BridgeDomain(
        bd_id=NO_INDEX,
        flood=value.flood,
        uu_flood=value.unknown_unicast_flood,
        forward=value.forward,
        learn=value.learn,
        arp_term=value.arp_termination,
        mac_age=value.mac_age,
        tag=value.name,
    )


def _from_vpp(
    name: str, domain: vpp_bd.BridgeDomain, members: Sequence[BDInterface]
) -> BridgeDomain:
    """The value a domain read back from VPP stands for."""
    return BridgeDomain(
        name=name,
        flood=domain.flood,
        unknown_unicast_flood=domain.uu_flood,
        forward=domain.forward,
        learn=domain.learn,
        arp_termination=domain.arp_term,
        mac_age=domain.mac_age,
        interfaces=tuple(members),
    )


def _in_desired_order(
    found: list[BDInterface], desired: Sequence[BDInterface]
) -> list[BDInterface]:
    rank = {m.name: i for i, m in enumerate(desired)}
    return sorted(found, key=lambda m: rank.get(m.name, len(rank)))
