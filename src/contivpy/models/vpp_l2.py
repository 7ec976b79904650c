"""Desired VPP L2 state: bridge domains, their forwarding tables, cross-connects.

In: nothing (plain data). Out: frozen values :class:`BridgeDomain` (with its members as
:class:`BDInterface`), :class:`L2FIB` and :class:`XConnect`. Interfaces and bridge domains
are referred to by name; MACs are strings ``"02:fe:00:00:00:01"``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BDInterface:
    """A member of a bridge domain."""

    name: str
    #: the bridge domain's routed interface (at most one per domain)
    bvi: bool = False
    #: members of one non-zero group do not forward to each other
    split_horizon_group: int = 0


@dataclass(frozen=True, slots=True)
class BridgeDomain:
    """A bridge domain. Each member is applied as a derived value of its own, so the domain
    exists even while some member interfaces do not.

    The desired value, by name; VPP's own view of a domain (its ``bd_id``, the name only as a
    tag, no members) is ``vppcalls.bridge_domains.BridgeDomain``, which the bridge-domain
    descriptor translates to and from."""

    name: str
    flood: bool = True
    unknown_unicast_flood: bool = True
    forward: bool = True
    learn: bool = True
    arp_termination: bool = False
    #: minutes before a learnt MAC ages out; 0 never
    mac_age: int = 0
    interfaces: tuple[BDInterface, ...] = ()


class L2FIBAction(enum.Enum):
    """What a static L2 FIB entry does with frames to its MAC."""

    FORWARD = "forward"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class L2FIB:
    """A static MAC entry of a bridge domain's forwarding table."""

    bridge_domain: str
    phys_address: str
    #: the member interface frames to the MAC leave through ("" for DROP)
    outgoing_interface: str = ""
    static: bool = True
    bvi: bool = False
    action: L2FIBAction = L2FIBAction.FORWARD


@dataclass(frozen=True, slots=True)
class XConnect:
    """Every frame received on ``receive_interface`` leaves through ``transmit_interface``
    (one direction; a pair needs two values)."""

    receive_interface: str
    transmit_interface: str
