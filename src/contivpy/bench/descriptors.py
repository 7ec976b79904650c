"""Scheduler descriptors over the in-memory southbound.

In: a ``MemorySouthbound``. Out: three descriptors (``descriptors(sb)``) as the agent's would
be written: interfaces (create/update/delete/retrieve, re-created only when their kind
changes), bridge domains (create/update/delete/retrieve; each member is a derived value) and
bridge-domain members (create/delete, exactly dependent on their interface's key).

As in Ligato's bridge-domain descriptor, a bridge domain's ``equivalent`` compares its own
settings only: membership is carried by the derived member values, which the scheduler
compares one by one (a member missing southbound is re-created, an extra one removed).
Retrieve reports members anyway, in the desired order (from ``correlate``) with any extras
after, so the retrieved value equals the desired one whenever nothing drifted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from contivpy.bench.southbound import MemorySouthbound
from contivpy.bench.values import (
    BD_MEMBER_PREFIX,
    BRIDGE_DOMAIN_PREFIX,
    INTERFACE_PREFIX,
    BdMember,
    BridgeDomain,
    Interface,
    bd_member_key,
    bridge_domain_key,
    interface_key,
)
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
    """Interfaces under ``bench/interface/<name>``; metadata is the southbound index."""

    name = "bench-interface"
    key_prefix = INTERFACE_PREFIX

    def __init__(self, sb: MemorySouthbound) -> None:
        self._sb = sb

    def validate(self, key: Key, value: Any) -> None:
        if not isinstance(value, Interface):
            raise InvalidValueError("value", f"expected Interface, got {type(value).__name__}")
        if key != interface_key(value.name):
            raise InvalidValueError("name", f"{value.name!r} does not match key {key!r}")
        if not 64 <= value.mtu <= 9216:
            raise InvalidValueError("mtu", f"{value.mtu} is outside 64..9216")

    def needs_recreate(self, key: Key, old: Interface, new: Interface) -> bool:
        return old.kind != new.kind

    async def create(self, key: Key, value: Interface) -> int:
        return await self._sb.create_interface(value)

    async def update(self, key: Key, old: Interface, new: Interface, metadata: Any) -> Any:
        await self._sb.update_interface(new)
        return metadata

    async def delete(self, key: Key, value: Interface, metadata: Any) -> None:
        await self._sb.delete_interface(value.name)

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        return [
            Retrieved(interface_key(value.name), value, index)
            for value, index in await self._sb.dump_interfaces()
        ]


class BridgeDomainDescriptor(DescriptorBase):
    """Bridge domains under ``bench/bridge-domain/<name>``; members become derived values."""

    name = "bench-bridge-domain"
    key_prefix = BRIDGE_DOMAIN_PREFIX

    def __init__(self, sb: MemorySouthbound) -> None:
        self._sb = sb

    def validate(self, key: Key, value: Any) -> None:
        if not isinstance(value, BridgeDomain):
            raise InvalidValueError("value", f"expected BridgeDomain, got {type(value).__name__}")
        if key != bridge_domain_key(value.name):
            raise InvalidValueError("name", f"{value.name!r} does not match key {key!r}")
        if len(set(value.members)) != len(value.members):
            raise InvalidValueError("members", "an interface is listed twice")

    def derived(self, key: Key, value: BridgeDomain) -> Sequence[KV]:
        bd = value.name
        return [KV(bd_member_key(bd, member), BdMember(bd, member)) for member in value.members]

    def equivalent(self, key: Key, old: BridgeDomain, new: BridgeDomain) -> bool:
        return old.settings() == new.settings()

    async def create(self, key: Key, value: BridgeDomain) -> int:
        return await self._sb.create_bridge_domain(value)

    async def update(self, key: Key, old: BridgeDomain, new: BridgeDomain, metadata: Any) -> Any:
        await self._sb.update_bridge_domain(new)
        return metadata

    async def delete(self, key: Key, value: BridgeDomain, metadata: Any) -> None:
        await self._sb.delete_bridge_domain(value.name)

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        found = []
        for value, index in await self._sb.dump_bridge_domains():
            key = bridge_domain_key(value.name)
            wanted = correlate.get(key)
            if isinstance(wanted, BridgeDomain) and wanted.members != value.members:
                value = replace(value, members=_in_desired_order(value.members, wanted.members))
            found.append(Retrieved(key, value, index))
        return found


def _in_desired_order(present: tuple[str, ...], desired: tuple[str, ...]) -> tuple[str, ...]:
    """``present`` reordered: desired members first, in desired order, then the extras."""
    have = set(present)
    ordered = [m for m in desired if m in have]
    wanted = set(desired)
    ordered.extend(m for m in present if m not in wanted)
    return tuple(ordered)


class BdMemberDescriptor(DescriptorBase):
    """Derived ``bench/bd-member/<bd>/<interface>`` values: one membership each.

    No update (the key names both sides, so a member's value never changes) and no
    retrieve: the scheduler re-derives members from the retrieved bridge domain.
    """

    name = "bench-bd-member"
    key_prefix = BD_MEMBER_PREFIX

    def __init__(self, sb: MemorySouthbound) -> None:
        self._sb = sb

    def dependencies(self, key: Key, value: BdMember) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.interface)),)

    async def create(self, key: Key, value: BdMember) -> None:
        await self._sb.add_member(value.bridge_domain, value.interface)

    async def delete(self, key: Key, value: BdMember, metadata: Any) -> None:
        await self._sb.remove_member(value.bridge_domain, value.interface)


def descriptors(sb: MemorySouthbound) -> list[Descriptor]:
    """The benchmark's descriptors over ``sb``, in registration order."""
    return [InterfaceDescriptor(sb), BridgeDomainDescriptor(sb), BdMemberDescriptor(sb)]
