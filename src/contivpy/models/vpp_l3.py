"""Desired VPP L3 state: VRF tables, routes, static IP neighbours (ARP) and proxy ARP.

In: nothing (plain data). Out: frozen values :class:`VrfTable`, :class:`Route`,
:class:`IPNeighbor` and :class:`ProxyARP`; the descriptors in ``contivpy.descriptors``
validate them and apply them. Interfaces are referred to by name, addresses and networks are
strings (IPv4 or IPv6), MACs strings ``"02:fe:00:00:00:01"``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class IpProtocol(enum.Enum):
    """The address family of a VRF table."""

    IPV4 = "IPV4"
    IPV6 = "IPV6"


@dataclass(frozen=True, slots=True)
class VrfTable:
    """A routing table of one family. Table 0 of each family always exists and is never
    configured."""

    id: int
    protocol: IpProtocol = IpProtocol.IPV4
    #: VPP's name of the table; "" lets VPP name it (ipv4-VRF:<id>)
    label: str = ""


class RouteType(enum.Enum):
    """How a route forwards."""

    #: to a next hop and/or out of an interface, within the route's VRF
    INTRA_VRF = "intra_vrf"
    #: look the destination (or the next hop) up again in ``via_vrf``
    INTER_VRF = "inter_vrf"
    #: drop the traffic
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Route:
    """A static route: ``dst_network`` in VRF ``vrf``, one path.

    Two routes for the same destination (different next hops or interfaces) are two values
    and become two paths of one VPP route (multipath).
    """

    dst_network: str
    vrf: int = 0
    next_hop: str = ""
    outgoing_interface: str = ""
    #: INTER_VRF: the table the destination (or next hop) is looked up in
    via_vrf: int = 0
    weight: int = 1
    preference: int = 0
    type: RouteType = RouteType.INTRA_VRF


@dataclass(frozen=True, slots=True)
class IPNeighbor:
    """A static ARP (IPv4) or neighbour-discovery (IPv6) entry: ``ip_address`` is at
    ``phys_address`` behind ``interface``."""

    interface: str
    ip_address: str
    phys_address: str
    static: bool = True


@dataclass(frozen=True, slots=True)
class ProxyARPRange:
    """IPv4 addresses ``first_ip`` to ``last_ip`` (inclusive) of VRF ``vrf``."""

    first_ip: str
    last_ip: str
    vrf: int = 0


@dataclass(frozen=True, slots=True)
class ProxyARP:
    """The node-wide proxy ARP: the ranges VPP answers ARP for, and the interfaces (names)
    that answer. Each interface is applied as a derived value of its own."""

    ranges: tuple[ProxyARPRange, ...] = ()
    interfaces: tuple[str, ...] = ()
