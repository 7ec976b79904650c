"""Proxy ARP: the node-wide ranges (``vpp-proxy-arp``, ``config/vpp/v2/proxyarp-global``) and
each interface that answers (``vpp-proxy-arp-interface``, derived:
``vpp/proxyarp/interface/<if>``).

In: one :class:`~contivpy.models.ProxyARP` value. Out: ranges added and removed in VPP (an
update adds and removes only the ranges that changed), proxy ARP switched on and off per
interface, and what VPP has (retrieve: the ranges and the interfaces with proxy ARP on, as
one value). The ranges depend on their VRF tables; each interface value on its interface.
Equivalence compares the ranges as a set and ignores the interfaces (their own keys).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import check_interface_name, check_vrf
from contivpy.models.vpp_derived import ProxyARPInterface
from contivpy.models.vpp_keys import (
    PROXY_ARP_GLOBAL_KEY,
    PROXY_ARP_INTERFACE_PREFIX,
    interface_key,
    proxy_arp_interface_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol, ProxyARP, ProxyARPRange
from contivpy.scheduler import KV, Dependency, InvalidValueError, Retrieved
from contivpy.vppcalls import proxy_arp as vpp_proxy_arp


class ProxyArpDescriptor(VppDescriptor):
    """The proxy ARP ranges (one value per node)."""

    name: ClassVar[str] = "vpp-proxy-arp"
    key_prefix: ClassVar[str] = PROXY_ARP_GLOBAL_KEY
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface",)

    def owns(self, key: str) -> bool:
        return key == PROXY_ARP_GLOBAL_KEY

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, ProxyARP):
            raise InvalidValueError("value", f"expected a ProxyARP, got {type(value).__name__}")
        for i, entry in enumerate(value.ranges):
            first = _ipv4(f"ranges[{i}].first_ip", entry.first_ip)
            last = _ipv4(f"ranges[{i}].last_ip", entry.last_ip)
            if last < first:
                raise InvalidValueError(f"ranges[{i}].last_ip", "comes before first_ip")
            check_vrf(f"ranges[{i}].vrf", entry.vrf)
        for i, name in enumerate(value.interfaces):
            check_interface_name(f"interfaces[{i}]", name)
            if name in value.interfaces[:i]:
                raise InvalidValueError(f"interfaces[{i}]", f"{name} is listed twice")

    def dependencies(self, key: str, value: ProxyARP) -> Sequence[Dependency]:
        vrfs = sorted({r.vrf for r in value.ranges if r.vrf})
        return [Dependency(f"VRF table {v}", key=vrf_table_key(v, IpProtocol.IPV4)) for v in vrfs]

    def derived(self, key: str, value: ProxyARP) -> Sequence[KV]:
        return [
            KV(proxy_arp_interface_key(name), ProxyARPInterface(name)) for name in value.interfaces
        ]

    def equivalent(self, key: str, old: ProxyARP, new: ProxyARP) -> bool:
        return _ranges(old) == _ranges(new)

    async def create(self, key: str, value: ProxyARP) -> None:
        await self._change(set(), _ranges(value))

    async def update(self, key: str, old: ProxyARP, new: ProxyARP, metadata: object) -> None:
        await self._change(_ranges(old), _ranges(new))

    async def delete(self, key: str, value: ProxyARP, metadata: object) -> None:
        await self._change(_ranges(value), set())

    async def _change(
        self, old: set[vpp_proxy_arp.ProxyArpRange], new: set[vpp_proxy_arp.ProxyArpRange]
    ) -> None:
        for entry in sorted(old - new, key=_order):
            await vpp_proxy_arp.delete_proxy_arp_range(self.vpp, entry)
        for entry in sorted(new - old, key=_order):
            await vpp_proxy_arp.add_proxy_arp_range(self.vpp, entry)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        ranges, enabled = await asyncio.gather(
            vpp_proxy_arp.dump_proxy_arp_ranges(self.vpp),
            vpp_proxy_arp.dump_proxy_arp_interfaces(self.vpp),
        )
        desired = correlate.get(PROXY_ARP_GLOBAL_KEY)
        # With nothing in VPP the value exists only if it asks for no ranges (an empty set of
        # ranges is trivially there); one with ranges is missing, not "present but empty".
        if not ranges and not enabled and (not isinstance(desired, ProxyARP) or desired.ranges):
            return ()
        interfaces = self.interfaces.by_sw_if_index()
        names = [interfaces[i][0] for i in enabled if i in interfaces]
        value = ProxyARP(
            tuple(ProxyARPRange(str(r.low), str(r.high), r.table_id) for r in ranges),
            tuple(names),
        )
        if isinstance(desired, ProxyARP):
            value = _as_desired(value, desired)
        return (Retrieved(PROXY_ARP_GLOBAL_KEY, value),)


class ProxyArpInterfaceDescriptor(VppDescriptor):
    """Proxy ARP switched on for one interface."""

    name: ClassVar[str] = "vpp-proxy-arp-interface"
    key_prefix: ClassVar[str] = PROXY_ARP_INTERFACE_PREFIX

    def dependencies(self, key: str, value: ProxyARPInterface) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.interface)),)

    async def create(self, key: str, value: ProxyARPInterface) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await vpp_proxy_arp.set_proxy_arp(self.vpp, sw_if_index, True)

    async def delete(self, key: str, value: ProxyARPInterface, metadata: object) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await vpp_proxy_arp.set_proxy_arp(self.vpp, sw_if_index, False)


def _ipv4(field: str, ip: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(ip)
    except ValueError:
        raise InvalidValueError(field, "not an IPv4 address") from None


def _ranges(value: ProxyARP) -> set[vpp_proxy_arp.ProxyArpRange]:
    return {
        vpp_proxy_arp.ProxyArpRange(
            ipaddress.IPv4Address(r.first_ip), ipaddress.IPv4Address(r.last_ip), r.vrf
        )
        for r in value.ranges
    }


def _order(entry: vpp_proxy_arp.ProxyArpRange) -> tuple[int, int, int]:
    return (entry.table_id, int(entry.low), int(entry.high))


def _as_desired(found: ProxyARP, desired: ProxyARP) -> ProxyARP:
    """The found ranges and interfaces in the desired order and spelling, the others after."""
    found_ranges = {_one(r): r for r in found.ranges}
    ranges = [r for r in desired.ranges if _one(r) in found_ranges]
    wanted = {_one(r) for r in ranges}
    ranges += [r for key, r in found_ranges.items() if key not in wanted]
    names = [n for n in desired.interfaces if n in found.interfaces]
    names += [n for n in found.interfaces if n not in desired.interfaces]
    return ProxyARP(tuple(ranges), tuple(names))


def _one(entry: ProxyARPRange) -> vpp_proxy_arp.ProxyArpRange:
    return vpp_proxy_arp.ProxyArpRange(
        ipaddress.IPv4Address(entry.first_ip), ipaddress.IPv4Address(entry.last_ip), entry.vrf
    )
