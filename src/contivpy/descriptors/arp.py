"""Static IP neighbours (``vpp-arp``): ``config/vpp/v2/arp/<if>/<ip>``.

In: :class:`~contivpy.models.IPNeighbor` values. Out: neighbour entries added, changed (a new
MAC or static flag is written over the old entry) and removed in VPP; the entries VPP has
(retrieve: static ones, and dynamic ones only where desired; an entry on an interface that is
not ours is obtained). Depends on the interface.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import check_interface_name, check_ip, check_key, check_mac
from contivpy.models.vpp_keys import ARP_PREFIX, arp_key, canonical_mac, interface_key
from contivpy.models.vpp_l3 import IPNeighbor
from contivpy.scheduler import Dependency, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import neighbors as vpp_neighbors


class ArpDescriptor(VppDescriptor):
    """One static neighbour on one interface."""

    name: ClassVar[str] = "vpp-arp"
    key_prefix: ClassVar[str] = ARP_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, IPNeighbor):
            raise InvalidValueError("value", f"expected an IPNeighbor, got {type(value).__name__}")
        check_interface_name("interface", value.interface)
        check_ip("ip_address", value.ip_address)
        check_mac("phys_address", value.phys_address, optional=False)
        check_key(key, arp_key(value.interface, value.ip_address))

    def dependencies(self, key: str, value: IPNeighbor) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.interface)),)

    def equivalent(self, key: str, old: IPNeighbor, new: IPNeighbor) -> bool:
        return _normalized(old) == _normalized(new)

    async def create(self, key: str, value: IPNeighbor) -> None:
        await vpp_neighbors.add_neighbor(self.vpp, self._entry(value))

    async def update(self, key: str, old: IPNeighbor, new: IPNeighbor, metadata: object) -> None:
        await vpp_neighbors.add_neighbor(self.vpp, self._entry(new))

    async def delete(self, key: str, value: IPNeighbor, metadata: object) -> None:
        await vpp_neighbors.delete_neighbor(self.vpp, self._entry(value))

    def _entry(self, value: IPNeighbor) -> vpp_neighbors.IpNeighbor:
        return vpp_neighbors.IpNeighbor(
            sw_if_index=self.interfaces.sw_if_index(value.interface),
            ip=ipaddress.ip_address(value.ip_address),
            mac=value.phys_address,
            static=value.static,
        )

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        v4, v6 = await asyncio.gather(
            vpp_neighbors.dump_neighbors(self.vpp, False),
            vpp_neighbors.dump_neighbors(self.vpp, True),
        )
        interfaces = self.interfaces.by_sw_if_index()
        found: list[Retrieved] = []
        for entry in (*v4, *v6):
            known = interfaces.get(entry.sw_if_index)
            if known is None:
                continue
            name, meta = known
            key = arp_key(name, str(entry.ip))
            desired = correlate.get(key)
            if not entry.static and desired is None:
                continue  # learnt by VPP
            value = IPNeighbor(name, str(entry.ip), entry.mac, entry.static)
            if isinstance(desired, IPNeighbor) and _normalized(desired) == _normalized(value):
                value = desired
            ours = desired is not None or meta.owned
            found.append(Retrieved(key, value, origin=Origin.NB if ours else Origin.SB))
        return found


def _normalized(value: IPNeighbor) -> tuple[object, ...]:
    try:
        return (
            value.interface,
            ipaddress.ip_address(value.ip_address),
            canonical_mac(value.phys_address),
            value.static,
        )
    except ValueError:
        return (value.interface, value.ip_address, value.phys_address, value.static)
