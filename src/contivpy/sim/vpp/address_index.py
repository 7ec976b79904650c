"""The interface prefixes of each FIB, indexed so an overlapping address is found without a
walk over every address of every interface.

In: each interface address added to or removed from a FIB (the state tells it of every
change, including an interface moving to other tables). Out: ``overlapping``, an address of
another interface in the same FIB (family and VRF) that overlaps a new one, if any.

Why: VPP refuses an address that overlaps another interface's in the same table
(ADDRESS_IN_USE). Checking it by comparing with every address made each add cost as much as
the whole state, so creating a thousand pod-like interfaces was quadratic and was most of the
simulator's time. Two prefixes of one family overlap exactly when their first
min(length) bits are equal; the index keeps, per table and per prefix length, the prefixes by
their network number, so a lookup costs one dictionary probe per prefix length present
(a walk only over the longer prefixes, when an address shorter than they are is added).
"""

from __future__ import annotations

from contivpy.vppcalls.wire import IpInterface

#: (IP version, VRF id)
_Fib = tuple[int, int]
#: an address and the sw_if_index holding it
_Held = tuple[int, IpInterface]
#: prefix length → network number → the addresses of that prefix
_ByLength = dict[int, dict[int, list[_Held]]]


def _prefix(address: IpInterface) -> tuple[int, int]:
    """The address's prefix length and network number (the network's leading bits)."""
    length = address.network.prefixlen
    return length, int(address.network.network_address) >> (address.max_prefixlen - length)


class AddressIndex:
    """Interface prefixes per FIB (see the module docstring)."""

    def __init__(self) -> None:
        self._fibs: dict[_Fib, _ByLength] = {}

    def added(self, sw_if_index: int, vrf: int, address: IpInterface) -> None:
        """``address`` was just put on interface ``sw_if_index``, in FIB ``vrf``."""
        length, number = _prefix(address)
        by_length = self._fibs.setdefault((address.version, vrf), {})
        by_length.setdefault(length, {}).setdefault(number, []).append((sw_if_index, address))

    def removed(self, sw_if_index: int, vrf: int, address: IpInterface) -> None:
        """``address`` was just taken off interface ``sw_if_index``, in FIB ``vrf``."""
        length, number = _prefix(address)
        by_length = self._fibs[(address.version, vrf)]
        holders = by_length[length][number]
        holders.remove((sw_if_index, address))
        if not holders:
            del by_length[length][number]
            if not by_length[length]:
                del by_length[length]

    def overlapping(self, sw_if_index: int, vrf: int, address: IpInterface) -> _Held | None:
        """An address of an interface other than ``sw_if_index`` in FIB ``vrf`` that overlaps
        ``address``."""
        by_length = self._fibs.get((address.version, vrf))
        if not by_length:
            return None
        length, number = _prefix(address)
        for other_length, prefixes in by_length.items():
            if other_length <= length:
                candidates = prefixes.get(number >> (length - other_length), ())
            else:
                shift = other_length - length
                candidates = [
                    held
                    for other, holders in prefixes.items()
                    if other >> shift == number
                    for held in holders
                ]
            for held in candidates:
                if held[0] != sw_if_index:
                    return held
        return None
