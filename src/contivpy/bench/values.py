"""The values the benchmark's descriptors manage, and the keys they live under.

In: names and numbers. Out: frozen, hashable values shaped like the agent's (an interface;
a bridge domain whose members become derived values, one per member) and their keys. Keys of
the three kinds never share a prefix, so each has exactly one descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.scheduler import Key

INTERFACE_PREFIX = "bench/interface/"
BRIDGE_DOMAIN_PREFIX = "bench/bridge-domain/"
BD_MEMBER_PREFIX = "bench/bd-member/"


@dataclass(frozen=True, slots=True)
class Interface:
    """An interface: a southbound object of its own, updatable in place except its kind."""

    name: str
    kind: str = "tap"
    mtu: int = 1500
    enabled: bool = True
    mac: str = ""
    ip_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BridgeDomain:
    """A bridge domain. ``members`` are interface names; each becomes a derived ``BdMember``
    value with its own descriptor, so the bridge domain itself never depends on them."""

    name: str
    flood: bool = True
    learn: bool = True
    forward: bool = True
    members: tuple[str, ...] = ()

    def settings(self) -> tuple[bool, bool, bool]:
        """What the bridge domain's own southbound object holds (members aside)."""
        return (self.flood, self.learn, self.forward)


@dataclass(frozen=True, slots=True)
class BdMember:
    """One interface's membership of one bridge domain (a derived value)."""

    bridge_domain: str
    interface: str


def interface_key(name: str) -> Key:
    """Key of the interface called ``name``."""
    return INTERFACE_PREFIX + name


def bridge_domain_key(name: str) -> Key:
    """Key of the bridge domain called ``name``."""
    return BRIDGE_DOMAIN_PREFIX + name


def bd_member_key(bridge_domain: str, interface: str) -> Key:
    """Key of the derived value that puts ``interface`` into ``bridge_domain``."""
    return f"{BD_MEMBER_PREFIX}{bridge_domain}/{interface}"
