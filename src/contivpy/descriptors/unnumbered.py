"""Unnumbered interfaces (``vpp-unnumbered``), derived from the interface value.

In: :class:`~contivpy.models.UnnumberedBinding` values under
``vpp/interface/unnumbered/<if>``. Out: the interface set to use the numbered interface's
addresses (VPP also moves it into that interface's VRF), or no longer. Waits until the
numbered interface has an address applied (its has-IP-address property) and its VRF is known
(the inherited-VRF property under ``vpp/interface/<if>/vrf/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import UnnumberedBinding
from contivpy.models.vpp_keys import UNNUMBERED_PREFIX, has_ip_address_key, interface_vrf_prefix
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
                "in the numbered interface's VRF", any_of=(interface_vrf_prefix(value.interface),)
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
