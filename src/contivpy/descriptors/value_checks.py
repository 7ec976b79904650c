"""Field checks shared by the VPP descriptors' ``validate``.

In: a field path (``"link.vni"``, ``"ip_addresses[1]"``) and the field's value. Out: nothing
when the value is acceptable, else :class:`~contivpy.scheduler.InvalidValueError` naming the
field and saying what is wrong, in the words a user of the value would use.
"""

from __future__ import annotations

import ipaddress
import re

from contivpy.models.vpp_keys import (
    bridge_domain_name_problem,
    canonical_interface_address,
    canonical_network,
    interface_name_problem,
    parse_address,
    parse_network,
)
from contivpy.scheduler import InvalidValueError

#: VPP's ~0 means "none" wherever a table id or index is expected
MAX_TABLE_ID = 0xFFFFFFFE
#: a MAC as ``models.vpp_keys.canonical_mac`` reads one: six groups of one or two hex
#: digits, separated by ':' or '-'; the first group is captured (its low bit: multicast)
_MAC = re.compile(r"([0-9A-Fa-f]{1,2})(?:[:-][0-9A-Fa-f]{1,2}){5}")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_key(key: str, expected: str) -> None:
    """The key must be the one the value belongs under."""
    if key != expected:
        raise InvalidValueError("key", f"does not match the value (expected {expected!r})")


def check_interface_name(field: str, name: str) -> None:
    """A name usable for an interface in keys and VPP tags."""
    problem = interface_name_problem(name)
    if problem:
        raise InvalidValueError(field, problem)


def check_bridge_domain_name(field: str, name: str) -> None:
    """A name usable for a bridge domain in keys and VPP tags."""
    problem = bridge_domain_name_problem(name)
    if problem:
        raise InvalidValueError(field, problem)


def check_range(field: str, value: int, low: int, high: int) -> None:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValueError(field, f"must be {low}..{high}")


def check_vrf(field: str, vrf: int) -> None:
    """A VRF table id (0 is the default table)."""
    check_range(field, vrf, 0, MAX_TABLE_ID)


def check_mac(field: str, mac: str, *, optional: bool = True) -> None:
    """A unicast MAC address ("" allowed when optional: VPP picks one)."""
    if optional and mac == "":
        return
    # One pattern, not canonical_mac (a pattern per group, then formatting): every MAC of
    # every interface is checked again on each transaction that touches it.
    match = _MAC.fullmatch(mac) if isinstance(mac, str) else None
    if match is None:
        raise InvalidValueError(field, "not a MAC address")
    if int(match[1], 16) & 1:
        raise InvalidValueError(field, "a multicast MAC cannot be an interface's address")


def check_ip(field: str, ip: str) -> IpAddress:
    """An IPv4 or IPv6 address; the parsed address."""
    try:
        return parse_address(ip)
    except ValueError:
        raise InvalidValueError(field, "not an IP address") from None


def check_interface_address(field: str, address: str) -> str:
    """An address with its prefix length ("10.1.1.1/24"); the canonical form."""
    try:
        return canonical_interface_address(address)
    except (ValueError, TypeError):
        raise InvalidValueError(field, "not an IP network") from None


def check_network(field: str, network: str) -> IpNetwork:
    """A network ("10.1.0.0/16") with its host bits clear; the parsed network."""
    try:
        return parse_network(canonical_network(network))
    except (ValueError, TypeError):
        raise InvalidValueError(field, "not an IP network with its host bits clear") from None


def check_power_of_two(field: str, value: int, high: int) -> None:
    """A power of 2 no larger than ``high`` (ring sizes)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise InvalidValueError(field, f"must be a power of 2 up to {high}")
    if value > high:
        raise InvalidValueError(field, f"must be a power of 2 up to {high}")
