"""What the NAT44-ED descriptors share: field checks and the dependencies every NAT value has.

In: NAT values' fields. Out: :class:`~contivpy.scheduler.InvalidValueError` naming the field,
parsed IPv4 addresses, and the dependencies on the plugin and on VRF tables.
"""

from __future__ import annotations

import ipaddress

from contivpy.descriptors.value_checks import check_range, check_vrf
from contivpy.models.vpp_keys import NAT44_GLOBAL_KEY, vrf_table_key
from contivpy.models.vpp_l3 import IpProtocol
from contivpy.models.vpp_nat import NatProtocol
from contivpy.scheduler import Dependency, InvalidValueError

#: VPP keeps mapping tags in 64 bytes with the terminating NUL
MAX_TAG = 63
#: NAT needs the plugin enabled before anything else is accepted (VPP: UNSUPPORTED)
PLUGIN = Dependency("NAT44 plugin enabled", key=NAT44_GLOBAL_KEY)


def check_ipv4(field: str, ip: str) -> ipaddress.IPv4Address:
    """An IPv4 address; the parsed address."""
    try:
        return ipaddress.IPv4Address(ip)
    except (ValueError, TypeError):
        raise InvalidValueError(field, "not an IPv4 address") from None


def check_port(field: str, port: int) -> None:
    """An L4 port (0 allowed: VPP takes it as "any")."""
    check_range(field, port, 0, 0xFFFF)


def check_protocol(field: str, protocol: object) -> NatProtocol:
    """One of TCP, UDP, SCTP."""
    if not isinstance(protocol, NatProtocol):
        raise InvalidValueError(field, "must be TCP, UDP or SCTP")
    return protocol


def check_tag(field: str, tag: str) -> None:
    """A tag VPP can keep."""
    if not isinstance(tag, str) or len(tag.encode()) > MAX_TAG:
        raise InvalidValueError(field, f"must be text of at most {MAX_TAG} bytes")


def vrf_dependencies(*vrfs: int) -> list[Dependency]:
    """The IPv4 tables of the VRFs other than 0 (VPP would create a missing one itself,
    unnamed, and never remove it)."""
    return [
        Dependency(f"VRF table {vrf}", key=vrf_table_key(vrf, IpProtocol.IPV4))
        for vrf in sorted(set(vrfs))
        if vrf != 0
    ]


def check_local_vrf(field: str, vrf: int) -> None:
    """A VRF of a local or identity."""
    check_vrf(field, vrf)
