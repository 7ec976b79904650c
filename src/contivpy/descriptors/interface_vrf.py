"""An interface's VRF bindings (``vpp-interface-vrf``), derived from the interface value.

In: :class:`~contivpy.models.InterfaceVrf` values under
``vpp/interface/<if>/vrf/<id>/ip-version/<v4|v6>``, and :class:`~contivpy.models.InheritedVrf`
values under ``vpp/interface/<if>/vrf/from-interface/<numbered>``. Out: the interface put into
the VRF (and back into table 0 on delete).

- One family's binding waits for that VRF table's key (VRF 0 always exists). VPP refuses to
  move an interface that has addresses of the family; the addresses depend on the binding, so
  they are removed first and added after. Interfaces start in table 0, so binding to VRF 0
  needs no call.
- The inherited binding of an unnumbered interface: VPP 26.06 sets unnumbered only when the
  interface is already in the very tables (IPv4 and IPv6) of the numbered one, and moves
  neither (UNEXPECTED_INTF_STATE otherwise). So this binding reads the numbered interface's
  tables from VPP and puts the unnumbered one into both; the unnumbered binding depends on it
  (created after, deleted before: VPP refuses to move an interface while it borrows
  addresses). It waits until the numbered interface has an address (its addresses wait for
  its own VRF bindings, so those are done) and one of its VRF bindings exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import InheritedVrf, InterfaceVrf
from contivpy.models.vpp_keys import (
    DERIVED_INTERFACE_PREFIX,
    has_ip_address_key,
    interface_vrf_prefix,
    parse_inherited_vrf_key,
    parse_interface_vrf_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol
from contivpy.scheduler import Dependency
from contivpy.vppcalls.interface_ip import get_interface_vrf, set_interface_vrf

_FAMILIES = (False, True)


class InterfaceVrfDescriptor(VppDescriptor):
    """One interface in one VRF for one address family, or in its numbered one's VRFs."""

    name: ClassVar[str] = "vpp-interface-vrf"
    key_prefix: ClassVar[str] = DERIVED_INTERFACE_PREFIX

    def owns(self, key: str) -> bool:
        # "/vrf/" first: most keys under the shared prefix are not ours, and the test is
        # cheaper than parsing them (both key forms contain it).
        if "/vrf/" not in key:
            return False
        return parse_interface_vrf_key(key) is not None or parse_inherited_vrf_key(key) is not None

    def dependencies(self, key: str, value: InterfaceVrf | InheritedVrf) -> Sequence[Dependency]:
        if isinstance(value, InheritedVrf):
            return (
                Dependency(
                    "numbered interface has an address", key=has_ip_address_key(value.numbered)
                ),
                Dependency(
                    "numbered interface in its VRF", any_of=(interface_vrf_prefix(value.numbered),)
                ),
            )
        if value.vrf == 0:
            return ()
        protocol = IpProtocol.IPV6 if value.ipv6 else IpProtocol.IPV4
        return (Dependency("VRF table", key=vrf_table_key(value.vrf, protocol)),)

    async def create(self, key: str, value: InterfaceVrf | InheritedVrf) -> None:
        if isinstance(value, InheritedVrf):
            sw_if_index = self.interfaces.sw_if_index(value.interface)
            numbered = self.interfaces.sw_if_index(value.numbered)
            # Four reads in one round trip (the client pipelines), then only what differs.
            tables = await asyncio.gather(
                *(
                    get_interface_vrf(self.vpp, index, ipv6)
                    for ipv6 in _FAMILIES
                    for index in (numbered, sw_if_index)
                )
            )
            # and the moves in one more (independent per family)
            await asyncio.gather(
                *(
                    set_interface_vrf(self.vpp, sw_if_index, tables[2 * n], ipv6)
                    for n, ipv6 in enumerate(_FAMILIES)
                    if tables[2 * n] != tables[2 * n + 1]
                )
            )
        elif value.vrf != 0:
            sw_if_index = self.interfaces.sw_if_index(value.interface)
            await set_interface_vrf(self.vpp, sw_if_index, value.vrf, value.ipv6)

    async def delete(self, key: str, value: InterfaceVrf | InheritedVrf, metadata: object) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        if isinstance(value, InheritedVrf):
            tables = await asyncio.gather(
                *(get_interface_vrf(self.vpp, sw_if_index, ipv6) for ipv6 in _FAMILIES)
            )
            await asyncio.gather(
                *(
                    set_interface_vrf(self.vpp, sw_if_index, 0, ipv6)
                    for ipv6, current in zip(_FAMILIES, tables, strict=True)
                    if current != 0
                )
            )
        elif value.vrf != 0:
            await set_interface_vrf(self.vpp, sw_if_index, 0, value.ipv6)
