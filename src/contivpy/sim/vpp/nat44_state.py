"""The NAT44-ED plugin's state in one simulated VPP, with a real VPP 26.06's rules.

In: operations from the nat44 message handlers (``handlers/nat44.py``) and, from the VPP
state, every interface deletion. Out: what the nat44 dumps list, in VPP's order, or a
:class:`~contivpy.sim.vpp.model.SimError` with the retval a real VPP 26.06 answers.

Rules observed on a real VPP 26.06:

- Disabled (as at start) every configuration call is UNSUPPORTED and the dumps are empty;
  forwarding can be set but enabling turns it off. Enabling twice is FEATURE_ALREADY_ENABLED,
  disabling twice FEATURE_ALREADY_DISABLED; disabling forgets every NAT object.
- Interface features, output interfaces and mappings live in pools: a dump lists them by
  slot, and a new object takes the slot freed last. Pool addresses are vectors (the normal
  pool, then the twice-NAT pool) from which a deleted address is replaced by the last one.
- An interface feature given again is accepted; deleting either direction of a one-direction
  interface removes it; an unknown interface is INVALID_SW_IF_INDEX; the output feature and
  the inside/outside feature exclude each other (VALUE_EXIST). A deleted interface loses both.
- Mappings: one external (address, port, protocol) per mapping (VALUE_EXIST); a load-balanced
  mapping needs two locals (INVALID_VALUE) and OUT2IN_ONLY or a pool address (NO_SUCH_ENTRY);
  identities share one mapping per (address, protocol, port) with a VRF list.
- Sessions (``nat44_sessions``) are made by translating packets; disabling forgets them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from contivpy.sim.vpp.model import SimError
from contivpy.sim.vpp.nat44_sessions import SessionTable
from contivpy.vppcalls.nat44 import DEFAULT_SESSIONS, NatFlags
from contivpy.vppcalls.retvals import Retval

IPv4 = ipaddress.IPv4Address
T = TypeVar("T")

#: the defaults VPP reports once the plugin was enabled (udp, tcp established,
#: tcp transitory, icmp: seconds)
DEFAULT_TIMEOUTS = (300, 7440, 240, 60)


class Pool(Generic[T]):
    """VPP's pool: objects by slot; a new one takes the slot freed last."""

    def __init__(self) -> None:
        self._slots: list[T | None] = []
        self._free: list[int] = []

    def add(self, item: T) -> None:
        if self._free:
            self._slots[self._free.pop()] = item
        else:
            self._slots.append(item)

    def remove(self, item: T) -> None:
        slot = next(i for i, x in enumerate(self._slots) if x is item)
        self._slots[slot] = None
        self._free.append(slot)

    def __iter__(self) -> Iterator[T]:
        return (x for x in self._slots if x is not None)

    def clear(self) -> None:
        self._slots.clear()
        self._free.clear()


@dataclass
class NatFeature:
    """An interface's inside/outside feature."""

    sw_if_index: int
    inside: bool = False
    outside: bool = False


@dataclass
class NatOutput:
    """An interface's output feature."""

    sw_if_index: int


@dataclass(frozen=True)
class NatLocal:
    """A mapping's local: for an identity only the VRF counts."""

    ip: IPv4
    port: int
    probability: int
    vrf_id: int

    def same(self, other: NatLocal) -> bool:
        """The same backend (VPP ignores the probability when it compares)."""
        return (self.ip, self.port, self.vrf_id) == (other.ip, other.port, other.vrf_id)


@dataclass
class NatMapping:
    """A static, load-balanced or identity mapping: an external triple and its locals."""

    kind: str  # "static" | "lb" | "identity"
    external_ip: IPv4
    external_port: int
    protocol: int
    flags: int
    locals: list[NatLocal] = field(default_factory=list)
    affinity: int = 0
    tag: str = ""

    @property
    def addr_only(self) -> bool:
        return bool(self.flags & NatFlags.ADDR_ONLY)

    def key(self) -> tuple[IPv4, int, int, bool]:
        if self.addr_only:
            return (self.external_ip, 0, 0, True)
        return (self.external_ip, self.external_port, self.protocol, False)


def translation_buckets(sessions: int) -> int:
    """VPP's bihash bucket count for a session limit (the power of 2 nearest sessions/2.5)."""
    n = sessions / 2.5
    lower = 1
    while lower * 2 < n:
        lower *= 2
    upper = lower * 2
    return upper if upper - n < n - lower and upper <= 0xFFFFFFFF else lower


class Nat44State:
    """What the nat44_ed plugin holds."""

    def __init__(self) -> None:
        self.enabled = False
        self.sessions = 0
        self.inside_vrf = 0
        self.outside_vrf = 0
        self.forwarding = False
        self.translation_buckets = 0
        self.timeouts = (0, 0, 0, 0)
        self.features: Pool[NatFeature] = Pool()
        self.outputs: Pool[NatOutput] = Pool()
        self.addresses: list[tuple[IPv4, int]] = []
        self.twice_nat_addresses: list[tuple[IPv4, int]] = []
        self.mappings: Pool[NatMapping] = Pool()
        # the mappings by external key: VPP finds one by hash; a scan made adding 10,000
        # services quadratic (the services benchmark)
        self._by_key: dict[tuple[IPv4, int, int, bool], NatMapping] = {}
        #: the translations packet walks made (``forwarding_nat``), and the seeded choice
        self.table = SessionTable()

    # -- plugin ------------------------------------------------------------------------

    def require_enabled(self) -> None:
        if not self.enabled:
            raise SimError(Retval.UNSUPPORTED, "nat44 plugin disabled")

    def enable(self, sessions: int, inside_vrf: int, outside_vrf: int) -> None:
        if self.enabled:
            raise SimError(Retval.FEATURE_ALREADY_ENABLED, "nat44 plugin enabled")
        self.enabled = True
        self.sessions = sessions or DEFAULT_SESSIONS
        self.translation_buckets = translation_buckets(self.sessions)
        self.inside_vrf, self.outside_vrf = inside_vrf, outside_vrf
        self.forwarding = False
        self.timeouts = DEFAULT_TIMEOUTS
        self.table.timeouts = DEFAULT_TIMEOUTS

    def disable(self) -> None:
        if not self.enabled:
            raise SimError(Retval.FEATURE_ALREADY_DISABLED, "nat44 plugin disabled")
        self.enabled = False
        self.sessions = 0
        self.forwarding = False
        self.features.clear()
        self.outputs.clear()
        self.addresses.clear()
        self.twice_nat_addresses.clear()
        self.mappings.clear()
        self._by_key.clear()
        self.table.clear()

    # -- interfaces --------------------------------------------------------------------

    def feature(self, sw_if_index: int) -> NatFeature | None:
        return next((f for f in self.features if f.sw_if_index == sw_if_index), None)

    def output(self, sw_if_index: int) -> NatOutput | None:
        return next((o for o in self.outputs if o.sw_if_index == sw_if_index), None)

    def add_feature(self, sw_if_index: int, inside: bool) -> None:
        if self.output(sw_if_index) is not None:
            raise SimError(Retval.VALUE_EXIST, "interface has the output feature")
        found = self.feature(sw_if_index)
        if found is None:
            found = NatFeature(sw_if_index)
            self.features.add(found)
        if inside:
            found.inside = True
        else:
            found.outside = True

    def delete_feature(self, sw_if_index: int, inside: bool) -> None:
        found = self.feature(sw_if_index)
        if found is None:
            raise SimError(Retval.NO_SUCH_ENTRY, "no NAT feature on the interface")
        if found.inside and found.outside:
            if inside:
                found.inside = False
            else:
                found.outside = False
        else:
            self.features.remove(found)

    def add_output(self, sw_if_index: int) -> None:
        if self.feature(sw_if_index) is not None or self.output(sw_if_index) is not None:
            raise SimError(Retval.VALUE_EXIST, "interface has a NAT feature")
        self.outputs.add(NatOutput(sw_if_index))

    def delete_output(self, sw_if_index: int) -> None:
        found = self.output(sw_if_index)
        if found is None:
            raise SimError(Retval.NO_SUCH_ENTRY, "no output feature on the interface")
        self.outputs.remove(found)

    def interface_deleted(self, sw_if_index: int) -> None:
        """VPP drops the NAT features of an interface it deletes."""
        found = self.feature(sw_if_index)
        if found is not None:
            self.features.remove(found)
        out = self.output(sw_if_index)
        if out is not None:
            self.outputs.remove(out)

    # -- address pool ------------------------------------------------------------------

    def _pool(self, twice_nat: bool) -> list[tuple[IPv4, int]]:
        return self.twice_nat_addresses if twice_nat else self.addresses

    def add_address(self, ip: IPv4, vrf_id: int, twice_nat: bool) -> None:
        pool = self._pool(twice_nat)
        if any(a == ip for a, _ in pool):
            raise SimError(Retval.VALUE_EXIST, f"{ip} already in the pool")
        pool.append((ip, vrf_id))

    def delete_address(self, ip: IPv4, twice_nat: bool) -> None:
        pool = self._pool(twice_nat)
        index = next((i for i, (a, _) in enumerate(pool) if a == ip), None)
        if index is None:
            raise SimError(Retval.NO_SUCH_ENTRY, f"{ip} not in the pool")
        # vec_del1: the last address takes the deleted one's place
        pool[index] = pool[-1]
        pool.pop()

    # -- mappings ----------------------------------------------------------------------

    def find(self, key: tuple[IPv4, int, int, bool]) -> NatMapping | None:
        return self._by_key.get(key)

    def add_mapping(self, mapping: NatMapping) -> None:
        if self.find(mapping.key()) is not None:
            raise SimError(Retval.VALUE_EXIST, "a mapping of that external address exists")
        self.mappings.add(mapping)
        self._by_key[mapping.key()] = mapping

    def delete_mapping(self, mapping: NatMapping) -> None:
        self.mappings.remove(mapping)
        self._by_key.pop(mapping.key(), None)

    def add_identity(self, key: tuple[IPv4, int, int, bool], vrf_id: int, tag: str) -> None:
        local = NatLocal(key[0], key[1], 0, vrf_id)
        found = self.find(key)
        if found is None:
            flags = NatFlags.ADDR_ONLY if key[3] else NatFlags.NONE
            self.add_mapping(
                NatMapping("identity", key[0], key[1], key[2], int(flags), [local], tag=tag)
            )
            return
        if found.kind != "identity" or any(x.vrf_id == vrf_id for x in found.locals):
            raise SimError(Retval.VALUE_EXIST, "identity exists")
        found.locals.append(local)

    def delete_identity(self, key: tuple[IPv4, int, int, bool], vrf_id: int) -> None:
        found = self.find(key)
        if found is None or found.kind != "identity":
            raise SimError(Retval.NO_SUCH_ENTRY, "no such identity")
        local = next((x for x in found.locals if x.vrf_id == vrf_id), None)
        if local is None:
            raise SimError(Retval.NO_SUCH_ENTRY, "no such identity in that VRF")
        found.locals.remove(local)
        if not found.locals:
            self.delete_mapping(found)
