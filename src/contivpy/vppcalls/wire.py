"""Conversions between Python values and VPP's wire types for addresses, prefixes and MACs.

In: ``ipaddress`` objects and MAC strings (``"02:fe:00:00:00:01"``), or decoded
:class:`~contivpy.vppcalls.codec.Message` structs. Out: the dicts the codec packs
(``vl_api_address_t`` is ``{"af": 0, "un": {"ip4": b"…"}}``) and the Python values back.
"""

from __future__ import annotations

import ipaddress

from contivpy.vppcalls.message import Message

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

#: address_family enum values
AF_IP4 = 0
AF_IP6 = 1
#: VPP's ~0: "no interface", "any table", "pick one for me"
NO_INDEX = 0xFFFFFFFF


def address_to_wire(ip: IpAddress) -> dict[str, object]:
    """vl_api_address_t."""
    if ip.version == 6:
        return {"af": AF_IP6, "un": {"ip6": ip.packed}}
    return {"af": AF_IP4, "un": {"ip4": ip.packed}}


def union_to_wire(ip: IpAddress | None) -> dict[str, object]:
    """vl_api_address_union_t (the family is carried elsewhere); zeros for None."""
    if ip is None:
        return {"ip6": bytes(16)}
    return {"ip6": ip.packed} if ip.version == 6 else {"ip4": ip.packed}


def union_from_wire(union: Message, is_ip6: bool) -> IpAddress:
    """An address from a vl_api_address_union_t whose family is known."""
    if is_ip6:
        return ipaddress.IPv6Address(union.get_bytes("ip6"))
    return ipaddress.IPv4Address(union.get_bytes("ip4"))


def address_from_wire(address: Message) -> IpAddress:
    """An address from a vl_api_address_t."""
    return union_from_wire(address.get_struct("un"), address.get_int("af") == AF_IP6)


def prefix_to_wire(network: IpNetwork) -> dict[str, object]:
    """vl_api_prefix_t for a network."""
    return {"address": address_to_wire(network.network_address), "len": network.prefixlen}


def prefix_from_wire(prefix: Message) -> IpNetwork:
    """A network from a vl_api_prefix_t (host bits masked off, as VPP does)."""
    address = address_from_wire(prefix.get_struct("address"))
    return ipaddress.ip_network((address, prefix.get_int("len")), strict=False)


def interface_address_to_wire(address: IpInterface) -> dict[str, object]:
    """vl_api_address_with_prefix_t: an address and its prefix length."""
    return {"address": address_to_wire(address.ip), "len": address.network.prefixlen}


def interface_address_from_wire(prefix: Message) -> IpInterface:
    """An interface address from a vl_api_address_with_prefix_t."""
    address = address_from_wire(prefix.get_struct("address"))
    return ipaddress.ip_interface((address, prefix.get_int("len")))


def ip4_prefix_to_wire(address: ipaddress.IPv4Interface | None) -> dict[str, object]:
    """vl_api_ip4_address_with_prefix_t (zeros for None)."""
    if address is None:
        return {"address": bytes(4), "len": 0}
    return {"address": address.ip.packed, "len": address.network.prefixlen}


def ip6_prefix_to_wire(address: ipaddress.IPv6Interface | None) -> dict[str, object]:
    """vl_api_ip6_address_with_prefix_t (zeros for None)."""
    if address is None:
        return {"address": bytes(16), "len": 0}
    return {"address": address.ip.packed, "len": address.network.prefixlen}


def ip4_prefix_from_wire(prefix: Message) -> ipaddress.IPv4Interface | None:
    """An IPv4 interface address, or None when the field is all zeros."""
    raw = prefix.get_bytes("address")
    if raw == bytes(4) and prefix.get_int("len") == 0:
        return None
    return ipaddress.IPv4Interface((raw, prefix.get_int("len")))


def ip6_prefix_from_wire(prefix: Message) -> ipaddress.IPv6Interface | None:
    """An IPv6 interface address, or None when the field is all zeros."""
    raw = prefix.get_bytes("address")
    if raw == bytes(16) and prefix.get_int("len") == 0:
        return None
    return ipaddress.IPv6Interface((raw, prefix.get_int("len")))


def mac_to_wire(mac: str | None) -> bytes:
    """A MAC string as 6 bytes; all zeros for None (VPP's "not given")."""
    if mac is None:
        return bytes(6)
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes(int(part, 16) for part in parts)


def mac_from_wire(raw: bytes) -> str:
    """6 bytes as a lower-case colon-separated MAC string."""
    return ":".join(f"{b:02x}" for b in raw)
