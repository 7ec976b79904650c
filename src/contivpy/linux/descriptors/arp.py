"""Descriptor of static ARP (neighbour) entries on Linux interfaces.

In: :class:`~contivpy.linux.models.LinuxARP` values under ``config/linux/l3/v2/arp/<if>/<ip>``.
Out: a permanent neighbour entry ip -> MAC on the interface's link, in its namespace (found
through the interface's metadata). Depends on the interface. Retrieve recognises entries by
the desired and the applied ones (metadata: the value applied): same link, same IP,
permanent; dynamic entries the kernel learnt are not ours (creating replaces one).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from contivpy.linux import keys
from contivpy.linux.descriptors import interface as interface_descriptor
from contivpy.linux.descriptors.common import (
    canonical_mac,
    check_ip,
    check_key,
    check_mac,
    check_name,
    check_type,
    find,
    locate,
)
from contivpy.linux.errors import NetnsNotFoundError, is_gone
from contivpy.linux.models import LinuxARP
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NeighbourInfo, NetnsRef
from contivpy.scheduler import Dependency, DescriptorBase, Key, MetadataView, Retrieved

NAME = "linux-arp"


class ARPDescriptor(DescriptorBase):
    """Static neighbours by (interface, IP)."""

    name = NAME
    key_prefix = keys.ARP_PREFIX
    retrieve_after = (interface_descriptor.NAME,)

    def __init__(self, netlink: Netlink, view: MetadataView) -> None:
        self._netlink = netlink
        self._view = view

    def validate(self, key: Key, value: Any) -> None:
        check_type(value, LinuxARP, key)
        check_name("interface", value.interface)
        check_ip("ip_address", value.ip_address)
        check_mac("hw_address", value.hw_address)
        check_key(key, keys.arp_key(value.interface, value.ip_address))

    def dependencies(self, key: Key, value: LinuxARP) -> Sequence[Dependency]:
        return (Dependency("interface", key=keys.interface_key(value.interface)),)

    def equivalent(self, key: Key, old: LinuxARP, new: LinuxARP) -> bool:
        return _comparable(old) == _comparable(new)

    async def create(self, key: Key, value: LinuxARP) -> LinuxARP:
        meta = locate(self._view, value.interface)
        await self._netlink.set_neighbour(
            meta.host_if_name,
            value.ip_address,
            canonical_mac(value.hw_address),
            meta.namespace,
        )
        return value  # metadata: what was applied, so a retrieve can look for it later

    async def update(self, key: Key, old: LinuxARP, new: LinuxARP, metadata: Any) -> LinuxARP:
        return await self.create(key, new)  # a replace: the entry changes in place

    async def delete(self, key: Key, value: LinuxARP, metadata: Any) -> None:
        meta = find(self._view, value.interface)
        if meta is None:
            return  # the link is gone and its neighbours with it
        try:
            await self._netlink.delete_neighbour(
                meta.host_if_name, value.ip_address, meta.namespace
            )
        except Exception as error:
            if not is_gone(error):
                raise

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        # the desired entries and the applied ones (removed from the desired state by a full
        # resync, they must still be found to be deleted)
        wanted: dict[Key, LinuxARP] = {}
        for key in self._view.keys_with_prefix(keys.ARP_PREFIX):
            applied = self._view.metadata(key)
            if isinstance(applied, LinuxARP):
                wanted[key] = applied
        wanted.update((k, v) for k, v in correlate.items() if isinstance(v, LinuxARP))
        by_netns: dict[NetnsRef | None, list[tuple[Key, LinuxARP, int]]] = {}
        for key, value in wanted.items():
            meta = find(self._view, value.interface)
            if meta is not None:
                by_netns.setdefault(meta.namespace, []).append((key, value, meta.index))
        found = []
        for netns, entries_wanted in by_netns.items():
            try:
                entries = await self._netlink.neighbours(netns)
            except NetnsNotFoundError:
                continue
            static: dict[tuple[int, str], NeighbourInfo] = {
                (n.link_index, n.ip): n for n in entries if n.permanent
            }
            for key, value, index in entries_wanted:
                entry = static.get((index, str(ipaddress.ip_address(value.ip_address))))
                if entry is not None:
                    item = LinuxARP(value.interface, entry.ip, entry.mac)
                    found.append(Retrieved(key, item, metadata=item))
        return found


def _comparable(arp: LinuxARP) -> tuple[str, str, str]:
    return (
        arp.interface,
        str(ipaddress.ip_address(arp.ip_address)),
        canonical_mac(arp.hw_address),
    )
