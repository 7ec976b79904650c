"""Veth pairs, whose two ends are two values (as in vpp-agent).

In: a VETH LinuxInterface being created or deleted, the netlink client and the scheduler's
metadata (to find the other end). Out: the end's link in place under a name the interface
descriptor then configures; or the end removed (or handed back).

The end whose logical name sorts first *makes the pair*: both links are born in its namespace
under temporary names (``veth-<fnv32>``), tagged for both logical names. The other end depends
on it (no dependency cycle, and the two never race) and *takes its end*: moves the temporary
link into its own namespace under its host name. So a pair never leaves a half in the
agent's namespace while the pod's is missing, and a temporary name left by an interrupted
create is removed before the next attempt. Deleting the first end deletes the pair (the
kernel removes both); deleting only the second hands its link back under the temporary name.
"""

from __future__ import annotations

import contextlib

import structlog

from contivpy.linux.descriptors.common import find, locate
from contivpy.linux.descriptors.link_tags import link_alias, veth_temp_name
from contivpy.linux.errors import LinkNotFoundError
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import LinkSettings
from contivpy.scheduler import MetadataView

log = structlog.get_logger(__name__)


def makes_pair(value: LinuxInterface) -> bool:
    """True for the end that creates the pair (the other one depends on it)."""
    return value.name < value.veth_peer


class VethPairs:
    """Creates and removes veth ends; serialised by the scheduler's dependency order."""

    def __init__(self, netlink: Netlink, view: MetadataView, owner: str) -> None:
        self._netlink = netlink
        self._view = view
        self._owner = owner

    async def create(self, value: LinuxInterface) -> str:
        """Make this end's link exist in its namespace; returns its current kernel name."""
        if makes_pair(value):
            return await self._make_pair(value)
        return await self._take_end(value)

    async def delete(self, value: LinuxInterface) -> None:
        """Remove this end (the pair, for the first end)."""
        netlink = self._netlink
        first = None if makes_pair(value) else find(self._view, value.veth_peer)
        if first is None:
            await netlink.delete_link(value.host_name, value.namespace)
            return
        # the first end stays: give the link back so its pair stays whole for a re-create
        temp = veth_temp_name(value.name)
        if first.namespace == value.namespace:
            await netlink.set_link(
                value.host_name, LinkSettings(up=False, name=temp), value.namespace
            )
        else:
            await netlink.move_link(value.host_name, first.namespace, value.namespace, temp)

    async def _make_pair(self, value: LinuxInterface) -> str:
        netlink = self._netlink
        netns = value.namespace
        own, other = veth_temp_name(value.name), veth_temp_name(value.veth_peer)
        for stale in (own, other):
            # left by a create that failed half-way: only our temporary names are removed
            with contextlib.suppress(LinkNotFoundError):
                await netlink.delete_link(stale, netns)
                log.info("removed a half-made veth end", link=stale, interface=value.name)
        await netlink.create_veth(own, other, netns, netns)
        peer = LinuxInterface(
            name=value.veth_peer, type=LinuxInterfaceType.VETH, veth_peer=value.name
        )
        await netlink.set_link(other, LinkSettings(alias=link_alias(peer, self._owner)), netns)
        return own

    async def _take_end(self, value: LinuxInterface) -> str:
        first = locate(self._view, value.veth_peer)
        temp = veth_temp_name(value.name)
        if first.namespace != value.namespace:
            await self._netlink.move_link(temp, value.namespace, first.namespace, value.host_name)
            return value.host_name
        return temp  # same namespace: the configure step renames it
