"""NAT44-ED identity mappings (``vpp-nat44-identity``):
``config/vpp/nat/v2/nat44-identity/vrf/<vrf>/<ip>[/<PROTO>/<port>]``.

In: :class:`~contivpy.models.Nat44IdentityMapping` values. Out: the address (every port, or
one protocol and port) exempt from translation in a VRF, and the identities VPP has
(retrieve). Any change re-creates it. Depends on the plugin and the VRF table (VRF 0 always
exists). VPP keeps one tag per (address, protocol, port) for all its VRFs (the first one
given), so the tag is taken from the desired value when the rest matches.
"""

from __future__ import annotations

import ipaddress
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
from contivpy.descriptors.value_checks import check_key
from contivpy.models.vpp_keys import NAT44_IDENTITY_PREFIX, nat44_identity_key
from contivpy.models.vpp_nat import Nat44IdentityMapping, NatProtocol
from contivpy.scheduler import Dependency, InvalidValueError, Retrieved
from contivpy.vppcalls import nat44_mappings as vpp_maps

IPv4 = ipaddress.IPv4Address


class Nat44IdentityDescriptor(VppDescriptor):
    """One identity in one VRF."""

    name: ClassVar[str] = "vpp-nat44-identity"
    key_prefix: ClassVar[str] = NAT44_IDENTITY_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-nat44-global",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Nat44IdentityMapping):
            raise InvalidValueError(
                "value", f"expected a Nat44IdentityMapping, got {type(value).__name__}"
            )
        check_ipv4("ip", value.ip)
        check_local_vrf("vrf", value.vrf)
        if value.protocol is not None:
            check_protocol("protocol", value.protocol)
            check_port("port", value.port)
        elif value.port:
            raise InvalidValueError("port", "needs a protocol")
        check_tag("tag", value.tag)
        check_key(key, _key(value))

    def dependencies(self, key: str, value: Nat44IdentityMapping) -> Sequence[Dependency]:
        return (PLUGIN, *vrf_dependencies(value.vrf))

    async def create(self, key: str, value: Nat44IdentityMapping) -> None:
        await vpp_maps.add_identity_mapping(self.vpp, _identity(value))

    async def delete(self, key: str, value: Nat44IdentityMapping, metadata: object) -> None:
        await vpp_maps.delete_identity_mapping(self.vpp, _identity(value))

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        found: list[Retrieved] = []
        for identity in await vpp_maps.dump_identity_mappings(self.vpp):
            protocol: NatProtocol | None = None
            if not identity.addr_only:
                try:
                    protocol = NatProtocol(identity.protocol)
                except ValueError:
                    continue  # ICMP: contivpy makes none
            value = Nat44IdentityMapping(
                str(identity.ip), identity.vrf_id, protocol, identity.port, identity.tag
            )
            key = _key(value)
            desired = correlate.get(key)
            if isinstance(desired, Nat44IdentityMapping) and replace(
                desired, ip=str(IPv4(desired.ip)), tag=""
            ) == replace(value, tag=""):
                value = desired
            found.append(Retrieved(key, value))
        return found


def _key(value: Nat44IdentityMapping) -> str:
    if value.protocol is None:
        return nat44_identity_key(value.vrf, value.ip)
    return nat44_identity_key(value.vrf, value.ip, value.protocol.name, value.port)


def _identity(value: Nat44IdentityMapping) -> vpp_maps.IdentityMapping:
    return vpp_maps.IdentityMapping(
        IPv4(value.ip),
        value.vrf,
        value.protocol.value if value.protocol is not None else 0,
        value.port,
        addr_only=value.protocol is None,
        tag=value.tag,
    )
