"""Descriptor of network namespaces: the dependency that tells whether a pod's netns exists.

In: :class:`~contivpy.linux.netlink_types.NetnsRef` values under ``config/linux/namespace/
v2/netns/``, put by controllers next to the interfaces that live in them. Out: the key exists
exactly while the namespace does, as the refresh sees it.

A namespace is never created or deleted here (the container runtime owns it): ``create``
only looks for it and fails for good (NetnsNotFoundError) when it is gone, and ``delete``
forgets it. So when a pod's netns vanishes, a resync finds it missing, its ``create`` fails,
and everything in that namespace waits as PENDING on this key instead of failing itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contivpy.linux import keys
from contivpy.linux.descriptors.common import check_key, check_type
from contivpy.linux.errors import NetnsNotFoundError
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NetnsRef
from contivpy.scheduler import DescriptorBase, Key, Retrieved

NAME = "linux-netns"


class NetnsDescriptor(DescriptorBase):
    """Namespaces the Linux values need; looked for, never made."""

    name = NAME
    key_prefix = keys.NETNS_PREFIX

    def __init__(self, netlink: Netlink) -> None:
        self._netlink = netlink

    def validate(self, key: Key, value: Any) -> None:
        check_type(value, NetnsRef, key)
        check_key(key, keys.netns_key(value))

    async def create(self, key: Key, value: NetnsRef) -> None:
        if not await self._netlink.netns_exists(value):
            raise NetnsNotFoundError(value.path)

    async def delete(self, key: Key, value: NetnsRef, metadata: Any) -> None:
        return None  # not ours: the runtime removes a pod's namespace

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        found = []
        for key, value in correlate.items():
            if isinstance(value, NetnsRef) and await self._netlink.netns_exists(value):
                found.append(Retrieved(key, value))
        return found
