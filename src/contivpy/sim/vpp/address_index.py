"""The interface prefixes of each FIB, indexed so an overlapping address is found without a
walk over every address of every interface.

In: the state's interfaces (the index is rebuilt from them after a change it was not told
of in detail: an interface with addresses moved to other tables) and each address added or
removed. Out: ``overlapping``, the interface address in the same table (family and VRF) that
overlaps a new one, if any.

Why: VPP refuses an address that overlaps another interface's in the same table
(ADDRESS_IN_USE). Checking it by comparing with every address made each add cost as much as
the whole state, so creating a thousand pod-like interfaces was quadratic and was most of the
simulator's time. Two prefixes of one family overlap exactly when their first
min(length) bits are equal; the index keeps, per table and per prefix length, the prefixes by
their network number, so a lookup costs one dictionary probe per prefix length present
(a walk only over the longer prefixes, when an address shorter than they are is added).
"""

from __future__ import annotations

from collections.abc import Iterable

from contivpy.sim.vpp.model import Interface
from contivpy.vppcalls.wire import IpInterface

#: (IP version, VRF id)
_Fib = tuple[int, int]
#: an address and the sw_if_index holding it
_Held = tuple[int, IpInterface]
#: prefix length → network number → the addresses of that prefix
_ByLength = dict[int, dict[int, list[_Held]]]


def _vrf(iface: Interface, version: int) -> int:
    return iface.vrf6 if version == 6 else iface.vrf4


class AddressIndex:
    """Interface prefixes per FIB (see the module docstring)."""

    def __init__(self) -> None:
        self._fibs: dict[_Fib, _ByLength] | None = None

    def invalidate(self) -> None:
        """Forget everything: rebuilt from the interfaces on the next lookup."""
        self._fibs = None

    def added(self, iface: Interface, address: IpInterface) -> None:
        """``address`` was just added to ``iface``."""
        if self._fibs is not None:
            self._insert(self._fibs, iface.sw_if_index, _vrf(iface, address.version), address)

    def removed(self, iface: Interface, address: IpInterface) -> None:
        """``address`` was just removed from ``iface`` (or ``iface`` is being deleted)."""
        if self._fibs is None:
            return
        by_length = self._fibs.get((address.version, _vrf(iface, address.version)), {})
        length = address.network.prefixlen
        number = int(address.network.network_address) >> (address.max_prefixlen - length)
        prefixes = by_length.get(length, {})
        holders = prefixes.get(number, [])
        if (iface.sw_if_index, address) in holders:
            holders.remove((iface.sw_if_index, address))
        if not holders:
            prefixes.pop(number, None)
            if not prefixes:
                by_length.pop(length, None)

    def overlapping(
        self, interfaces: Iterable[Interface], iface: Interface, address: IpInterface
    ) -> _Held | None:
        """An address of another interface in ``iface``'s table that overlaps ``address``."""
        if self._fibs is None:
            self._fibs = self._build(interfaces)
        by_length = self._fibs.get((address.version, _vrf(iface, address.version)))
        if not by_length:
            return None
        bits = address.max_prefixlen
        length = address.network.prefixlen
        network = int(address.network.network_address)
        for other_length, prefixes in by_length.items():
            if other_length <= length:
                candidates = prefixes.get(network >> (bits - other_length), ())
            else:
                shift = other_length - length
                want = network >> (bits - length)
                candidates = [
                    held
                    for number, holders in prefixes.items()
                    if number >> shift == want
                    for held in holders
                ]
            for held in candidates:
                if held[0] != iface.sw_if_index:
                    return held
        return None

    @classmethod
    def _build(cls, interfaces: Iterable[Interface]) -> dict[_Fib, _ByLength]:
        fibs: dict[_Fib, _ByLength] = {}
        for iface in interfaces:
            for address in iface.addresses:
                cls._insert(fibs, iface.sw_if_index, _vrf(iface, address.version), address)
        return fibs

    @staticmethod
    def _insert(
        fibs: dict[_Fib, _ByLength], sw_if_index: int, vrf: int, address: IpInterface
    ) -> None:
        length = address.network.prefixlen
        number = int(address.network.network_address) >> (address.max_prefixlen - length)
        by_length = fibs.setdefault((address.version, vrf), {})
        by_length.setdefault(length, {}).setdefault(number, []).append((sw_if_index, address))
