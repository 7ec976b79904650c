"""Values derived from VPP base values: the parts of an interface, bridge domain or proxy ARP
that are ordered and applied on their own.

In: nothing (plain data; built only by the descriptors' ``derived``, from a base value desired
or found in VPP). Out: frozen values, one per derived key (see ``vpp_keys``):

- :class:`InterfaceAddress` — one address of an interface;
- :class:`InterfaceVrf` — an interface bound to a VRF for one address family;
- :class:`InheritedVrf` — an unnumbered interface takes the VRF of the numbered one
  (a property: no VPP call of its own);
- :class:`InterfaceHasAddress` — an interface has at least one address (a property);
- :class:`InterfaceTagRewrite` — a sub-interface pops its VLAN tag in L2 (and pushes it back);
- :class:`UnnumberedBinding` — an interface borrows another's addresses;
- :class:`BridgeDomainMember` — an interface in a bridge domain;
- :class:`ProxyARPInterface` — an interface answering proxy ARP.

Addresses are in canonical form (``str(ipaddress.ip_interface(...))``), so the same value is
derived from a desired base and from one read back from VPP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """``address`` ("a.b.c.d/len", canonical) is configured on ``interface``."""

    interface: str
    address: str


@dataclass(frozen=True, slots=True)
class InterfaceVrf:
    """``interface`` is in VRF ``vrf`` for IPv4 (or IPv6 when ``ipv6``)."""

    interface: str
    vrf: int
    ipv6: bool


@dataclass(frozen=True, slots=True)
class InheritedVrf:
    """Unnumbered ``interface`` is in whatever VRF ``numbered`` is in."""

    interface: str
    numbered: str


@dataclass(frozen=True, slots=True)
class InterfaceHasAddress:
    """``interface`` has at least one address applied."""

    interface: str


@dataclass(frozen=True, slots=True)
class InterfaceTagRewrite:
    """Sub-interface ``interface`` pops ``pop_tags`` VLAN tags on L2 input and pushes its own
    back on L2 output (VPP's L2 VLAN tag rewrite), while it is in L2 mode."""

    interface: str
    pop_tags: int


@dataclass(frozen=True, slots=True)
class UnnumberedBinding:
    """``interface`` uses the addresses of ``numbered``."""

    interface: str
    numbered: str


@dataclass(frozen=True, slots=True)
class BridgeDomainMember:
    """``interface`` is a member of ``bridge_domain``: one ``BDInterface`` of the domain's
    value, as a value of its own (it needs the domain's name for its key and dependencies)."""

    bridge_domain: str
    interface: str
    bvi: bool = False
    split_horizon_group: int = 0


@dataclass(frozen=True, slots=True)
class ProxyARPInterface:
    """``interface`` answers ARP for the proxy ARP ranges."""

    interface: str
