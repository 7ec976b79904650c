"""An interface's addresses (``vpp-interface-address``), derived from the interface value.

In: :class:`~contivpy.models.InterfaceAddress` values under
``vpp/interface/<if>/address/static/<ip/len>``. Out: the address added to or removed from the
interface in VPP. Each address waits for the interface's VRF binding of its family
(any key under ``vpp/interface/<if>/vrf/`` for that family, as Ligato does), so VPP always
sees table -> bind -> address, and addresses go before the binding changes. No retrieve:
addresses come back inside the interface's own value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import InterfaceAddress
from contivpy.models.vpp_keys import (
    DERIVED_INTERFACE_PREFIX,
    interface_vrf_prefix,
    parse_interface_address,
    parse_interface_address_key,
)
from contivpy.scheduler import Dependency
from contivpy.vppcalls.interface_ip import add_address, delete_address


def binds_ipv4(key: str) -> bool:
    """A VRF-binding key for IPv4."""
    return key.endswith("/ip-version/v4")


def binds_ipv6(key: str) -> bool:
    """A VRF-binding key for IPv6."""
    return key.endswith("/ip-version/v6")


class InterfaceAddressDescriptor(VppDescriptor):
    """One address of one interface."""

    name: ClassVar[str] = "vpp-interface-address"
    key_prefix: ClassVar[str] = DERIVED_INTERFACE_PREFIX

    def owns(self, key: str) -> bool:
        # A cheap necessary condition first: most keys under the shared prefix are not ours.
        return "/address/static/" in key and parse_interface_address_key(key) is not None

    def dependencies(self, key: str, value: InterfaceAddress) -> Sequence[Dependency]:
        ipv6 = parse_interface_address(value.address).version == 6
        return (
            Dependency(
                f"interface in its IPv{6 if ipv6 else 4} VRF",
                any_of=(interface_vrf_prefix(value.interface),),
                selector=binds_ipv6 if ipv6 else binds_ipv4,
            ),
        )

    async def create(self, key: str, value: InterfaceAddress) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await add_address(self.vpp, sw_if_index, parse_interface_address(value.address))

    async def delete(self, key: str, value: InterfaceAddress, metadata: object) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await delete_address(self.vpp, sw_if_index, parse_interface_address(value.address))
