"""An interface's VRF binding per address family (``vpp-interface-vrf``), derived from the
interface value.

In: :class:`~contivpy.models.InterfaceVrf` values under
``vpp/interface/<if>/vrf/<id>/ip-version/<v4|v6>``. Out: the interface put into the VRF (and
back into table 0 on delete). A binding to a non-zero VRF waits for that table's key. VPP
refuses to move an interface that has addresses of the family; the addresses depend on the
binding, so they are removed first and added after. Interfaces start in table 0, so binding
to VRF 0 needs no call. The inherited form (``.../vrf/from-interface/<numbered>``) is a
property: VPP moves an unnumbered interface into its numbered interface's VRF by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import InterfaceVrf
from contivpy.models.vpp_keys import (
    DERIVED_INTERFACE_PREFIX,
    parse_interface_vrf_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol
from contivpy.scheduler import Dependency
from contivpy.vppcalls.interface_ip import set_interface_vrf


class InterfaceVrfDescriptor(VppDescriptor):
    """One interface in one VRF for one address family."""

    name: ClassVar[str] = "vpp-interface-vrf"
    key_prefix: ClassVar[str] = DERIVED_INTERFACE_PREFIX

    def owns(self, key: str) -> bool:
        return parse_interface_vrf_key(key) is not None

    def dependencies(self, key: str, value: InterfaceVrf) -> Sequence[Dependency]:
        if value.vrf == 0:
            return ()
        protocol = IpProtocol.IPV6 if value.ipv6 else IpProtocol.IPV4
        return (Dependency("VRF table", key=vrf_table_key(value.vrf, protocol)),)

    async def create(self, key: str, value: InterfaceVrf) -> None:
        if value.vrf != 0:
            sw_if_index = self.interfaces.sw_if_index(value.interface)
            await set_interface_vrf(self.vpp, sw_if_index, value.vrf, value.ipv6)

    async def delete(self, key: str, value: InterfaceVrf, metadata: object) -> None:
        if value.vrf != 0:
            sw_if_index = self.interfaces.sw_if_index(value.interface)
            await set_interface_vrf(self.vpp, sw_if_index, 0, value.ipv6)
