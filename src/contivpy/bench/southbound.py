"""An in-memory southbound for benchmarks, shaped like the parts of VPP the agent drives.

In: calls from the benchmark's descriptors (create/update/delete of interfaces and bridge
domains, adding and removing bridge-domain members, dumps). Out: the objects held, a count of
writes (every create, update, delete, member add and member remove call) and of reads, and
the peak number of calls in flight. With ``latency`` > 0 every call first sleeps that long
(``asyncio.sleep``), as a round trip to VPP would; with 0 no call ever suspends.

It is strict where VPP is: a call on something missing, a create of something existing, a
member added before its bridge domain or interface exists, or the removal of something still
in use is refused with ``SouthboundRefusal`` (a permanent error). A benchmark that ran in the
wrong order therefore fails instead of measuring nonsense.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field, replace

from contivpy.bench.values import BridgeDomain, Interface
from contivpy.errors import PermanentError


class SouthboundRefusal(PermanentError):
    """The in-memory southbound refused a call VPP would refuse too."""


@dataclass(slots=True)
class _BridgeDomainObject:
    settings: BridgeDomain  # members always ()
    index: int
    members: dict[str, None] = field(default_factory=dict)  # interface names, in added order


class MemorySouthbound:
    """Interfaces and bridge domains in dictionaries, with optional per-call latency."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.writes = 0
        self.reads = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._interfaces: dict[str, tuple[Interface, int]] = {}
        self._bridge_domains: dict[str, _BridgeDomainObject] = {}
        self._member_of: dict[str, str] = {}  # interface name -> bridge domain name
        self._indexes = itertools.count(1)

    async def _call(self, *, write: bool) -> None:
        if write:
            self.writes += 1
        else:
            self.reads += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1

    # --- interfaces -------------------------------------------------------------------------

    async def create_interface(self, value: Interface) -> int:
        """Create an interface; returns its index."""
        await self._call(write=True)
        if value.name in self._interfaces:
            raise SouthboundRefusal(f"interface {value.name} already exists")
        index = next(self._indexes)
        self._interfaces[value.name] = (value, index)
        return index

    async def update_interface(self, value: Interface) -> None:
        """Change an existing interface in place (its kind cannot change)."""
        await self._call(write=True)
        found = self._interfaces.get(value.name)
        if found is None:
            raise SouthboundRefusal(f"interface {value.name} does not exist")
        old, index = found
        if old.kind != value.kind:
            raise SouthboundRefusal(f"interface {value.name}: kind cannot change in place")
        self._interfaces[value.name] = (value, index)

    async def delete_interface(self, name: str) -> None:
        """Delete an interface that is in no bridge domain."""
        await self._call(write=True)
        if name not in self._interfaces:
            raise SouthboundRefusal(f"interface {name} does not exist")
        if name in self._member_of:
            raise SouthboundRefusal(f"interface {name} is in bridge domain {self._member_of[name]}")
        del self._interfaces[name]

    async def dump_interfaces(self) -> list[tuple[Interface, int]]:
        """Every interface with its index."""
        await self._call(write=False)
        return list(self._interfaces.values())

    # --- bridge domains ---------------------------------------------------------------------

    async def create_bridge_domain(self, value: BridgeDomain) -> int:
        """Create an empty bridge domain with the value's settings; returns its index."""
        await self._call(write=True)
        if value.name in self._bridge_domains:
            raise SouthboundRefusal(f"bridge domain {value.name} already exists")
        index = next(self._indexes)
        self._bridge_domains[value.name] = _BridgeDomainObject(replace(value, members=()), index)
        return index

    async def update_bridge_domain(self, value: BridgeDomain) -> None:
        """Change an existing bridge domain's settings (members are separate calls)."""
        await self._call(write=True)
        found = self._bridge_domains.get(value.name)
        if found is None:
            raise SouthboundRefusal(f"bridge domain {value.name} does not exist")
        found.settings = replace(value, members=())

    async def delete_bridge_domain(self, name: str) -> None:
        """Delete a bridge domain that has no members left."""
        await self._call(write=True)
        found = self._bridge_domains.get(name)
        if found is None:
            raise SouthboundRefusal(f"bridge domain {name} does not exist")
        if found.members:
            raise SouthboundRefusal(f"bridge domain {name} still has {len(found.members)} members")
        del self._bridge_domains[name]

    async def add_member(self, bridge_domain: str, interface: str) -> None:
        """Put an existing interface into an existing bridge domain."""
        await self._call(write=True)
        found = self._bridge_domains.get(bridge_domain)
        if found is None:
            raise SouthboundRefusal(f"bridge domain {bridge_domain} does not exist")
        if interface not in self._interfaces:
            raise SouthboundRefusal(f"interface {interface} does not exist")
        if interface in self._member_of:
            raise SouthboundRefusal(
                f"interface {interface} is already in bridge domain {self._member_of[interface]}"
            )
        found.members[interface] = None
        self._member_of[interface] = bridge_domain

    async def remove_member(self, bridge_domain: str, interface: str) -> None:
        """Take an interface out of a bridge domain."""
        await self._call(write=True)
        if self._member_of.get(interface) != bridge_domain:
            raise SouthboundRefusal(f"interface {interface} is not in {bridge_domain}")
        del self._bridge_domains[bridge_domain].members[interface]
        del self._member_of[interface]

    async def dump_bridge_domains(self) -> list[tuple[BridgeDomain, int]]:
        """Every bridge domain with its members (in the order they were added) and index."""
        await self._call(write=False)
        return [
            (replace(bd.settings, members=tuple(bd.members)), bd.index)
            for bd in self._bridge_domains.values()
        ]

    # --- views (no call, no latency: for checks) ---------------------------------------------

    def interfaces(self) -> dict[str, Interface]:
        """Interfaces by name."""
        return {name: value for name, (value, _) in self._interfaces.items()}

    def bridge_domains(self) -> dict[str, BridgeDomain]:
        """Bridge domains by name, members in the order they were added."""
        return {
            name: replace(bd.settings, members=tuple(bd.members))
            for name, bd in self._bridge_domains.items()
        }
