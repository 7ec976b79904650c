"""The 6-tuple rule every policy table is made of, its total order, and port sets.

In: nothing (value types). Out: :class:`Rule` {action, source network, destination network,
protocol, source port range, destination port range}, ``order_key`` — the total order tables
are sorted by (more specific first) — and :class:`PortSet`, the sets of ports the table
builder intersects.

The order (Contiv's ``ContivRule.Compare``): source network, then destination network, then
protocol, source ports, destination ports, action; a network with a longer prefix before a
shorter one and any network (``None``) last; a named protocol before ``ANY``; a narrower port
range before a wider one; PERMIT before DENY. With it, first-match over a sorted table gives
what the rules mean as long as a DENY is never more specific than a PERMIT it must not hide:
every rule set built here is PERMITs and one catch-all DENY, or per-source blocks whose
DENYs follow that source's PERMITs (see ``tables``).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

Net: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

MIN_PORT = 0
MAX_PORT = 65535


class Action(enum.Enum):
    """What a matching rule does to a packet."""

    PERMIT = "permit"
    DENY = "deny"


class Proto(enum.Enum):
    """A rule's L4 protocol; ``ANY`` matches every protocol (ICMP included)."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"
    ANY = "any"


#: The protocols a policy port may name (the ones with ports).
PORT_PROTOCOLS = (Proto.TCP, Proto.UDP, Proto.SCTP)

_PROTO_RANK = {Proto.TCP: 0, Proto.UDP: 1, Proto.SCTP: 2, Proto.ANY: 3}

_NetKey: TypeAlias = tuple[int, int, int, int]
_OrderKey: TypeAlias = tuple[_NetKey, _NetKey, int, tuple[int, int], tuple[int, int], int]


def _net_key(net: Net | None) -> _NetKey:
    if net is None:
        return (1, 0, 0, 0)
    return (0, -net.prefixlen, net.version, int(net.network_address))


@dataclass(frozen=True, slots=True)
class PortRange:
    """Ports ``first`` to ``last``, both included."""

    first: int = MIN_PORT
    last: int = MAX_PORT

    @property
    def is_all(self) -> bool:
        return self.first == MIN_PORT and self.last == MAX_PORT

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def __str__(self) -> str:
        if self.is_all:
            return "*"
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


ALL_PORTS = PortRange()


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of a table. ``src``/``dst`` ``None``: any address of any family."""

    action: Action
    src: Net | None = None
    dst: Net | None = None
    protocol: Proto = Proto.ANY
    src_ports: PortRange = ALL_PORTS
    dst_ports: PortRange = ALL_PORTS
    # Tables sort and deduplicate many rules: the key and hash are computed once.
    key: _OrderKey = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (
            _net_key(self.src),
            _net_key(self.dst),
            _PROTO_RANK[self.protocol],
            (self.src_ports.last - self.src_ports.first, self.src_ports.first),
            (self.dst_ports.last - self.dst_ports.first, self.dst_ports.first),
            0 if self.action is Action.PERMIT else 1,
        )
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        # the key holds every field: comparing it skips comparing ipaddress objects
        return self is other or (
            isinstance(other, Rule) and self._hash == other._hash and self.key == other.key
        )

    def __str__(self) -> str:
        return (
            f"{self.action.value} {self.src or 'any'} -> {self.dst or 'any'} "
            f"{self.protocol.value} {self.src_ports} -> {self.dst_ports}"
        )

    @property
    def matches_all(self) -> bool:
        """Whether it matches every packet."""
        return (
            self.src is None
            and self.dst is None
            and self.protocol is Proto.ANY
            and self.src_ports.is_all
            and self.dst_ports.is_all
        )


PERMIT_ALL = Rule(Action.PERMIT)
DENY_ALL = Rule(Action.DENY)


def order_key(rule: Rule) -> _OrderKey:
    """The total order of rules in a table (see the module doc)."""
    return rule.key


def sorted_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """The rules, without duplicates, in table order."""
    return tuple(sorted(set(rules), key=_key_of))


def _key_of(rule: Rule) -> _OrderKey:
    return rule.key


@functools.lru_cache(maxsize=65536)
def host_net(ip: Address) -> Net:
    """The /32 (/128) of one address."""
    return ipaddress.ip_network(ip)


def net_contains(net: Net | None, ip: Address) -> bool:
    """Whether ``ip`` is in ``net`` (``None``: any address)."""
    return net is None or (net.version == ip.version and ip in net)


def subtract(block: Net, excepts: Iterable[Net]) -> tuple[Net, ...]:
    """``block`` without the ``excepts``, as the fewest CIDRs, sorted (an ipBlock's except)."""
    parts: list[Net] = [block]
    for cut in excepts:
        kept: list[Net] = []
        for part in parts:
            if cut.version != part.version or not part.overlaps(cut):
                kept.append(part)
            elif cut.prefixlen > part.prefixlen:  # the cut lies inside this part
                kept.extend(part.address_exclude(cut))  # type: ignore[arg-type]
            # else the part lies inside the cut: gone
        parts = kept
    return tuple(sorted(parts, key=lambda n: (n.version, int(n.network_address), n.prefixlen)))


class PortSet:
    """A set of ports as sorted, disjoint, non-adjacent ranges (immutable)."""

    __slots__ = ("ranges",)

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[tuple[int, int]] = []
        for first, last in sorted(ranges):
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        self.ranges: tuple[tuple[int, int], ...] = tuple(merged)

    @classmethod
    def everything(cls) -> PortSet:
        return cls([(MIN_PORT, MAX_PORT)])

    @classmethod
    def of(cls, ports: PortRange) -> PortSet:
        return cls([(ports.first, ports.last)])

    @property
    def is_all(self) -> bool:
        return self.ranges == ((MIN_PORT, MAX_PORT),)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash(self.ranges)

    def __repr__(self) -> str:
        return f"PortSet({list(self.ranges)})"

    def __iter__(self) -> Iterator[PortRange]:
        return (PortRange(first, last) for first, last in self.ranges)

    def __or__(self, other: PortSet) -> PortSet:
        return PortSet(self.ranges + other.ranges)

    def __and__(self, other: PortSet) -> PortSet:
        found: list[tuple[int, int]] = []
        i = j = 0
        while i < len(self.ranges) and j < len(other.ranges):
            (a1, a2), (b1, b2) = self.ranges[i], other.ranges[j]
            if max(a1, b1) <= min(a2, b2):
                found.append((max(a1, b1), min(a2, b2)))
            if a2 < b2:
                i += 1
            else:
                j += 1
        return PortSet(found)

    def __sub__(self, other: PortSet) -> PortSet:
        found: list[tuple[int, int]] = []
        for first, last in self.ranges:
            start = first
            for b1, b2 in other.ranges:
                if b2 < start or b1 > last:
                    continue
                if b1 > start:
                    found.append((start, b1 - 1))
                start = b2 + 1
                if start > last:
                    break
            if start <= last:
                found.append((start, last))
        return PortSet(found)
