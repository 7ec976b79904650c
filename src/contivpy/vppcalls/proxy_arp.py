"""Proxy ARP: address ranges VPP answers ARP for, and the interfaces that do it.

In: :class:`ProxyArpRange`, or a sw_if_index. Out: proxy_arp_dump and proxy_arp_intfc_dump.
A range's VRF must exist.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel


@dataclass(frozen=True)
class ProxyArpRange:
    """IPv4 addresses ``low`` to ``high`` in VRF ``table_id``."""

    low: ipaddress.IPv4Address
    high: ipaddress.IPv4Address
    table_id: int = 0


def _wire(entry: ProxyArpRange, is_add: bool) -> dict[str, object]:
    proxy = {"table_id": entry.table_id, "low": entry.low.packed, "hi": entry.high.packed}
    return {"is_add": is_add, "proxy": proxy}


async def add_proxy_arp_range(vpp: ApiChannel, entry: ProxyArpRange) -> None:
    """Answer ARP for the range."""
    await vpp.call("proxy_arp_add_del", _wire(entry, True))


async def delete_proxy_arp_range(vpp: ApiChannel, entry: ProxyArpRange) -> None:
    """Stop answering ARP for the range."""
    await vpp.call("proxy_arp_add_del", _wire(entry, False))


async def dump_proxy_arp_ranges(vpp: ApiChannel) -> list[ProxyArpRange]:
    """Every proxy ARP range."""
    ranges = [d.get_struct("proxy") for d in await vpp.dump("proxy_arp_dump")]
    return [
        ProxyArpRange(
            ipaddress.IPv4Address(r.get_bytes("low")),
            ipaddress.IPv4Address(r.get_bytes("hi")),
            r.get_int("table_id"),
        )
        for r in ranges
    ]


async def set_proxy_arp(vpp: ApiChannel, sw_if_index: int, enable: bool) -> None:
    """Turn proxy ARP on or off on an interface."""
    await vpp.call("proxy_arp_intfc_enable_disable", {"sw_if_index": sw_if_index, "enable": enable})


async def dump_proxy_arp_interfaces(vpp: ApiChannel) -> list[int]:
    """The interfaces with proxy ARP on."""
    return [d.get_int("sw_if_index") for d in await vpp.dump("proxy_arp_intfc_dump")]
