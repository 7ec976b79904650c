"""Unnumbered interfaces (``vpp-unnumbered``), derived from the interface value.

In: :class:`~contivpy.models.UnnumberedBinding` values under
``vpp/interface/unnumbered/<if>``. Out: the interface set to use the numbered interface's
addresses, or no longer. VPP 26.06 moves neither interface and refuses
(UNEXPECTED_INTF_STATE) unless the unnumbered one is already in the numbered one's IPv4 and
IPv6 tables: so this waits until the numbered interface has an address applied (its
has-IP-address property) and the inherited VRF binding (``vpp/interface/<if>/vrf/
from-interface/<numbered>``, see ``interface_vrf``) has put the interface into those tables.
Clearing unnumbered leaves the interface in its tables; the inherited binding, deleted after
this, takes it back to table 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import UnnumberedBinding
from contivpy.models.vpp_keys import UNNUMBERED_PREFIX, has_ip_address_key, inherited_vrf_key
from contivpy.scheduler import Dependency
from contivpy.vppcalls.interface_ip import clear_unnumbered, set_unnumbered


class UnnumberedDescriptor(VppDescriptor):
    """One interface borrowing another's addresses."""

    name: ClassVar[str] = "vpp-unnumbered"
    key_prefix: ClassVar[str] = UNNUMBERED_PREFIX

    def dependencies(self, key: str, value: UnnumberedBinding) -> Sequence[Dependency]:
        return (
            Dependency("numbered interface has an address", key=has_ip_address_key(value.numbered)),
            Dependency(
                "in the numbered interface's VRFs",
                key=inherited_vrf_key(value.interface, value.numbered),
            ),
        )

    async def create(self, key: str, value: UnnumberedBinding) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        numbered = self.interfaces.sw_if_index(value.numbered)
        await set_unnumbered(self.vpp, sw_if_index, numbered)

    async def delete(self, key: str, value: UnnumberedBinding, metadata: object) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        numbered = self.interfaces.sw_if_index(value.numbered)
        await clear_unnumbered(self.vpp, sw_if_index, numbered)
