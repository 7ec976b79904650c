"""NAT44-ED pool ranges (``vpp-nat44-address``):
``config/vpp/nat/v2/nat44-address-pool/<first>-<last>``.

In: :class:`~contivpy.models.Nat44AddressRange` values. Out: the range's addresses in the
pool (or the twice-NAT pool), and the ranges VPP has (retrieve). Any change re-creates the
range. Depends on the plugin and on the VRF table (unless every VRF or VRF 0).

VPP lists single addresses: retrieve gives each desired range whose every address is there
with its VRF and pool as that range; the other addresses become ranges of consecutive
addresses (ours, undesired: a resync deletes them before it creates what is missing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.nat44_checks import PLUGIN, check_ipv4, vrf_dependencies
from contivpy.descriptors.value_checks import MAX_TABLE_ID, check_key
from contivpy.models.vpp_keys import NAT44_ADDRESS_PREFIX, nat44_address_key
from contivpy.models.vpp_nat import ALL_VRFS, Nat44AddressRange
from contivpy.scheduler import Dependency, InvalidValueError, Retrieved
from contivpy.vppcalls import nat44

IPv4 = ipaddress.IPv4Address
#: a range VPP is asked to add in one call: a larger one is surely a mistake
MAX_RANGE = 1024


class Nat44AddressDescriptor(VppDescriptor):
    """One range of the NAT pool."""

    name: ClassVar[str] = "vpp-nat44-address"
    key_prefix: ClassVar[str] = NAT44_ADDRESS_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-nat44-global",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Nat44AddressRange):
            raise InvalidValueError(
                "value", f"expected a Nat44AddressRange, got {type(value).__name__}"
            )
        first = check_ipv4("first_ip", value.first_ip)
        last = check_ipv4("last_ip", value.last_ip) if value.last_ip else first
        if last < first:
            raise InvalidValueError("last_ip", "is below first_ip")
        if int(last) - int(first) >= MAX_RANGE:
            raise InvalidValueError("last_ip", f"more than {MAX_RANGE} addresses")
        if value.vrf != ALL_VRFS and not 0 <= value.vrf <= MAX_TABLE_ID:
            raise InvalidValueError("vrf", f"must be 0..{MAX_TABLE_ID} or {ALL_VRFS} (every VRF)")
        check_key(key, nat44_address_key(value.first_ip, value.last_ip))

    def dependencies(self, key: str, value: Nat44AddressRange) -> Sequence[Dependency]:
        vrfs = () if value.vrf == ALL_VRFS else (value.vrf,)
        return (PLUGIN, *vrf_dependencies(*vrfs))

    def equivalent(self, key: str, old: Nat44AddressRange, new: Nat44AddressRange) -> bool:
        return _normal(old) == _normal(new)

    async def create(self, key: str, value: Nat44AddressRange) -> None:
        await nat44.add_address_range(self.vpp, _range(value))

    async def delete(self, key: str, value: Nat44AddressRange, metadata: object) -> None:
        await nat44.delete_address_range(self.vpp, _range(value))

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        present = {a.ip: a for a in await nat44.dump_addresses(self.vpp)}
        found: list[Retrieved] = []
        for key, desired in correlate.items():
            if not isinstance(desired, Nat44AddressRange):
                continue
            try:
                wanted = _range(desired)
            except ValueError:
                continue  # invalid: never applied
            ips = [IPv4(i) for i in range(int(wanted.first), int(wanted.last) + 1)]
            if all(
                ip in present
                and present[ip].vrf_id == wanted.vrf_id
                and present[ip].twice_nat == wanted.twice_nat
                for ip in ips
            ):
                found.append(Retrieved(key, desired))
                for ip in ips:
                    del present[ip]
        for run in _runs(sorted(present.values(), key=lambda a: a.ip)):
            first, last = str(run[0].ip), str(run[-1].ip)
            value = Nat44AddressRange(first, last, run[0].vrf_id, run[0].twice_nat)
            found.append(Retrieved(nat44_address_key(first, last), value))
        return found


def _runs(addresses: list[nat44.NatAddress]) -> list[list[nat44.NatAddress]]:
    """Consecutive addresses of the same VRF and pool, each run one range."""
    runs: list[list[nat44.NatAddress]] = []
    for address in addresses:
        if runs:
            last = runs[-1][-1]
            if int(address.ip) == int(last.ip) + 1 and (address.vrf_id, address.twice_nat) == (
                last.vrf_id,
                last.twice_nat,
            ):
                runs[-1].append(address)
                continue
        runs.append([address])
    return runs


def _normal(value: Nat44AddressRange) -> Nat44AddressRange:
    return Nat44AddressRange(
        value.first_ip, value.last_ip or value.first_ip, value.vrf, value.twice_nat
    )


def _range(value: Nat44AddressRange) -> nat44.NatAddressRange:
    first = IPv4(value.first_ip)
    last = IPv4(value.last_ip) if value.last_ip else first
    return nat44.NatAddressRange(first, last, value.vrf, value.twice_nat)
