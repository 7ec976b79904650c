"""The scheduler benchmark's descriptors: the agent's models and keys, over the in-memory
southbound, with as little descriptor work as a descriptor can do.

In: a :class:`~contivpy.bench.southbound.Southbound`. Out: ``descriptors(sb)``: interfaces
(:class:`~contivpy.models.Interface` under the agent's interface keys; updated in place,
re-created only when their type or link changes), bridge domains
(:class:`~contivpy.models.BridgeDomain`; each member a derived
:class:`~contivpy.models.BridgeDomainMember`, and equivalence ignores the members) and
bridge-domain members (dependent on their interface's key), shaped as the real descriptors in
``contivpy.descriptors`` are.

Why not the real descriptors: this benchmark measures the scheduler's own overhead (planning,
ordering, bookkeeping per key), against targets set for that. The real descriptors' validation
alone (names, MACs, links) costs about as much per interface as the scheduler does, and their
I/O is VPP API messages; run here, they push ``txn_create_n10000_s`` past its target while
measuring them, not the scheduler. The ``vpp`` and ``pods`` benchmarks run the real
descriptors whole, against the VPP simulator or a real VPP.

Southbound objects: an interface under its key; a bridge domain under its key without its
members (as VPP holds a domain's settings); each member under its own key, requiring its
bridge domain and its interface (VPP refuses a port of a missing domain or interface, and the
deletion of either while the port exists) and derived from the domain. Metadata is the
southbound's index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from contivpy.bench.southbound import Southbound
from contivpy.models.vpp_derived import BridgeDomainMember
from contivpy.models.vpp_interfaces import Interface
from contivpy.models.vpp_keys import (
    BD_MEMBER_PREFIX,
    BRIDGE_DOMAIN_PREFIX,
    INTERFACE_PREFIX,
    bd_member_key,
    bridge_domain_key,
    interface_key,
)
from contivpy.models.vpp_l2 import BDInterface, BridgeDomain
from contivpy.scheduler import (
    KV,
    Dependency,
    Descriptor,
    DescriptorBase,
    InvalidValueError,
    Key,
    Retrieved,
)


class InterfaceDescriptor(DescriptorBase):
    """Interfaces under the agent's interface keys; metadata is the southbound index."""

    name = "bench-interface"
    key_prefix = INTERFACE_PREFIX

    def __init__(self, sb: Southbound) -> None:
        self._sb = sb

    def validate(self, key: Key, value: Any) -> None:
        if not isinstance(value, Interface):
            raise InvalidValueError("value", f"expected Interface, got {type(value).__name__}")
        if key != interface_key(value.name):
            raise InvalidValueError("name", f"{value.name!r} does not match key {key!r}")

    def needs_recreate(self, key: Key, old: Interface, new: Interface) -> bool:
        return old.type is not new.type or old.link != new.link

    async def create(self, key: Key, value: Interface) -> int:
        return await self._sb.create(key, value, (), ())

    async def update(self, key: Key, old: Interface, new: Interface, metadata: Any) -> int:
        return await self._sb.update(key, new, (), ())

    async def delete(self, key: Key, value: Interface, metadata: Any) -> None:
        await self._sb.delete(key)

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        return [
            Retrieved(key, obj.value, obj.index)
            for key, obj in self._sb.objects.items()
            if key.startswith(INTERFACE_PREFIX)
        ]


class BridgeDomainDescriptor(DescriptorBase):
    """Bridge domains under the agent's keys; members become derived values."""

    name = "bench-bridge-domain"
    key_prefix = BRIDGE_DOMAIN_PREFIX

    def __init__(self, sb: Southbound) -> None:
        self._sb = sb

    def validate(self, key: Key, value: Any) -> None:
        if not isinstance(value, BridgeDomain):
            raise InvalidValueError("value", f"expected BridgeDomain, got {type(value).__name__}")
        if key != bridge_domain_key(value.name):
            raise InvalidValueError("name", f"{value.name!r} does not match key {key!r}")
        if len({m.name for m in value.interfaces}) != len(value.interfaces):
            raise InvalidValueError("interfaces", "an interface is listed twice")

    def derived(self, key: Key, value: BridgeDomain) -> Sequence[KV]:
        bd = value.name
        return [
            KV(
                bd_member_key(bd, m.name),
                BridgeDomainMember(bd, m.name, m.bvi, m.split_horizon_group),
            )
            for m in value.interfaces
        ]

    def equivalent(self, key: Key, old: BridgeDomain, new: BridgeDomain) -> bool:
        return replace(old, interfaces=()) == replace(new, interfaces=())

    async def create(self, key: Key, value: BridgeDomain) -> int:
        return await self._sb.create(key, replace(value, interfaces=()), (), ())

    async def update(self, key: Key, old: BridgeDomain, new: BridgeDomain, metadata: Any) -> int:
        return await self._sb.update(key, replace(new, interfaces=()), (), ())

    async def delete(self, key: Key, value: BridgeDomain, metadata: Any) -> None:
        await self._sb.delete(key)

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        members: dict[str, list[BDInterface]] = {}
        for key, obj in self._sb.objects.items():
            if key.startswith(BD_MEMBER_PREFIX):
                member: BridgeDomainMember = obj.value
                members.setdefault(member.bridge_domain, []).append(
                    BDInterface(member.interface, member.bvi, member.split_horizon_group)
                )
        found = []
        for key, obj in self._sb.objects.items():
            if not key.startswith(BRIDGE_DOMAIN_PREFIX):
                continue
            domain: BridgeDomain = obj.value
            have = members.get(domain.name, [])
            wanted = correlate.get(key)
            if isinstance(wanted, BridgeDomain):
                # in the desired order, extras after, so an undrifted domain equals its value
                rank = {m.name: i for i, m in enumerate(wanted.interfaces)}
                have.sort(key=lambda m: rank.get(m.name, len(rank)))
            found.append(Retrieved(key, replace(domain, interfaces=tuple(have)), obj.index))
        return found


class BdMemberDescriptor(DescriptorBase):
    """Derived bridge-domain members: one membership each.

    No update (a change of BVI flag or group re-creates the membership, as in the real
    descriptor) and no retrieve: the scheduler re-derives members from the retrieved domain.
    """

    name = "bench-bd-member"
    key_prefix = BD_MEMBER_PREFIX

    def __init__(self, sb: Southbound) -> None:
        self._sb = sb

    def dependencies(self, key: Key, value: BridgeDomainMember) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.interface)),)

    async def create(self, key: Key, value: BridgeDomainMember) -> None:
        domain = bridge_domain_key(value.bridge_domain)
        requires = (domain, interface_key(value.interface))
        await self._sb.create(key, value, requires, (), owner=domain)

    async def delete(self, key: Key, value: BridgeDomainMember, metadata: Any) -> None:
        await self._sb.delete(key)


def descriptors(sb: Southbound) -> list[Descriptor]:
    """The benchmark's descriptors over ``sb``, in registration order."""
    return [InterfaceDescriptor(sb), BridgeDomainDescriptor(sb), BdMemberDescriptor(sb)]
