"""Desired NAT44-ED state: the plugin, interface features, the address pool, mappings.

In: nothing (plain data). Out: frozen values the NAT descriptors (``contivpy.descriptors.
nat44_*``) validate and apply. Addresses are IPv4 strings, interfaces names. Every service
mapping is out2in-only (VPP translates only traffic arriving for the external address, and
needs no pool address for it), as Contiv's were.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: VPP's "every VRF" (~0) for a pool address
ALL_VRFS = 0xFFFFFFFF


class NatProtocol(enum.Enum):
    """The L4 protocols a mapping translates; the value is the IP protocol number."""

    TCP = 6
    UDP = 17
    SCTP = 132


class TwiceNat(enum.Enum):
    """Whether a mapping also translates the source.

    SELF: only when the source is the backend itself (a pod reaching a service it backs:
    hairpin through the twice-NAT pool); ENABLED: always.
    """

    DISABLED = "disabled"
    ENABLED = "enabled"
    SELF = "self"


@dataclass(frozen=True, slots=True)
class Nat44Global:
    """The plugin enabled (endpoint-dependent) with its limits; forwarding lets packets that
    match no mapping or session pass untranslated (Contiv: always on).

    ``sessions`` is the translation limit per thread; 0 is VPP's default (64512). Contiv's
    recommended start-up (``translation hash buckets 1048576``) implies about 2.6 million,
    whose tables VPP allocates up front (1 M sessions took 375 MB of main heap on VPP 26.06).
    """

    sessions: int = 0
    forwarding: bool = True
    inside_vrf: int = 0
    outside_vrf: int = 0


@dataclass(frozen=True, slots=True)
class Nat44Interface:
    """NAT on an interface: the inside and/or outside feature, or the output feature
    (post-routing NAT of what leaves through it), which excludes the other two."""

    name: str
    inside: bool = False
    outside: bool = False
    output: bool = False


@dataclass(frozen=True, slots=True)
class Nat44AddressRange:
    """Pool addresses ``first_ip`` to ``last_ip`` ("" = just ``first_ip``) for dynamic SNAT
    in VRF ``vrf`` (ALL_VRFS: every VRF); the twice-NAT pool when ``twice_nat``."""

    first_ip: str
    last_ip: str = ""
    vrf: int = ALL_VRFS
    twice_nat: bool = False


@dataclass(frozen=True, slots=True)
class Nat44Local:
    """One backend of a mapping: ``ip``:``port`` in VRF ``vrf``, chosen with weight
    ``probability`` among the mapping's locals (unused with a single local)."""

    ip: str
    port: int
    probability: int = 1
    vrf: int = 0


@dataclass(frozen=True, slots=True)
class Nat44Mapping:
    """Destination NAT of (``external_ip``, ``external_port``, ``protocol``) to one of
    ``locals``: a load-balanced static mapping (a plain static mapping when there is one
    local). ``affinity`` (seconds, 0 none) keeps a client on its backend; ``tag`` names the
    owner (Contiv: the service's ``<namespace>/<name>``). The order of ``locals`` does not
    matter."""

    external_ip: str
    external_port: int
    protocol: NatProtocol
    locals: tuple[Nat44Local, ...]
    twice_nat: TwiceNat = TwiceNat.DISABLED
    affinity: int = 0
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Nat44IdentityMapping:
    """``ip`` in VRF ``vrf`` is never translated: every port (``protocol`` None), or only
    (``protocol``, ``port``)."""

    ip: str
    vrf: int = 0
    protocol: NatProtocol | None = None
    port: int = 0
    tag: str = ""
