"""Descriptor of Linux interfaces: veth ends, the Linux end of VPP taps, loopbacks, existing links.

In: :class:`~contivpy.linux.models.LinuxInterface` values under
``config/linux/interfaces/v2/interface/``. Out: the link exists in its namespace under its host
name with the asked state, MTU, MAC, TX checksum offload and our alias tag; metadata
:class:`LinuxInterfaceMeta`; derived values: one :class:`LinuxInterfaceAddress` per address
(applied by the address descriptor) and the :class:`LinuxHostInterface` property.

By type: VETH ends are made (``descriptors.veth``); TAP_TO_VPP, LOOPBACK and EXISTING links
are made by someone else (VPP's tap, the kernel, the host) and only configured and tagged
here; on delete they are untagged, never removed. Dependencies: the namespace value (so a
vanished netns leaves the interface PENDING), the VPP tap for TAP_TO_VPP, the first veth end
for the second. Retrieve (``descriptors.interface_retrieve``) reports the links carrying our
alias tag (``descriptors.link_tags``) in every namespace that may hold one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from contivpy.linux import keys
from contivpy.linux.descriptors import netns as netns_descriptor
from contivpy.linux.descriptors.common import (
    LinuxInterfaceMeta,
    canonical_mac,
    check_key,
    check_mac,
    check_name,
    check_namespace,
    check_type,
)
from contivpy.linux.descriptors.interface_retrieve import retrieve_interfaces
from contivpy.linux.descriptors.link_tags import (
    DEFAULT_OWNER,
    link_alias,
    owner_problem,
)
from contivpy.linux.descriptors.veth import VethPairs, makes_pair
from contivpy.linux.errors import is_gone
from contivpy.linux.models import (
    LinuxHostInterface,
    LinuxInterface,
    LinuxInterfaceAddress,
    LinuxInterfaceType,
)
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import LinkSettings
from contivpy.scheduler import (
    KV,
    Dependency,
    DescriptorBase,
    InvalidValueError,
    Key,
    MetadataView,
    Retrieved,
)

log = structlog.get_logger(__name__)

NAME = "linux-interface"
_VETH, _TAP = LinuxInterfaceType.VETH, LinuxInterfaceType.TAP_TO_VPP
_LOOPBACK = LinuxInterfaceType.LOOPBACK


class InterfaceDescriptor(DescriptorBase):
    """Linux links by logical name."""

    name = NAME
    key_prefix = keys.INTERFACE_PREFIX
    retrieve_after = (netns_descriptor.NAME,)

    def __init__(self, netlink: Netlink, view: MetadataView, owner: str = DEFAULT_OWNER) -> None:
        problem = owner_problem(owner)
        if problem:
            raise ValueError(problem)
        self._netlink = netlink
        self._view = view
        self._owner = owner  # prefix of our link aliases (descriptors.link_tags)
        self._pairs = VethPairs(netlink, view, owner)

    # --- pure callbacks --------------------------------------------------------------------

    def validate(self, key: Key, value: Any) -> None:
        check_type(value, LinuxInterface, key)
        check_name("name", value.name)
        check_key(key, keys.interface_key(value.name))
        if not isinstance(value.type, LinuxInterfaceType):
            raise InvalidValueError("type", f"not a LinuxInterfaceType: {value.type!r}")
        problem = keys.host_name_problem(value.host_name)
        if problem:
            raise InvalidValueError("host_if_name", problem)
        check_namespace("namespace", value.namespace)
        if value.mtu and not 68 <= value.mtu <= 65535:
            raise InvalidValueError("mtu", f"{value.mtu} is outside 68..65535")
        if value.phys_address:
            check_mac("phys_address", value.phys_address)
        for i, address in enumerate(value.ip_addresses):
            try:
                if "/" not in address:
                    raise ValueError(f"{address!r} has no prefix length")
                ipaddress.ip_interface(address)
            except ValueError as error:
                raise InvalidValueError(f"ip_addresses[{i}]", str(error)) from None
        _validate_links(value)

    def dependencies(self, key: Key, value: LinuxInterface) -> Sequence[Dependency]:
        deps = []
        if value.namespace is not None:
            deps.append(Dependency("netns exists", key=keys.netns_key(value.namespace)))
        if value.type is _VETH and not makes_pair(value):
            deps.append(Dependency("veth pair made", key=keys.interface_key(value.veth_peer)))
        if value.type is _TAP:
            deps.append(Dependency("VPP tap exists", key=keys.vpp_interface_key(value.vpp_tap)))
        return deps

    def derived(self, key: Key, value: LinuxInterface) -> Sequence[KV]:
        derived = [
            KV(
                keys.interface_address_key(value.name, address),
                LinuxInterfaceAddress(
                    value.name,
                    str(ipaddress.ip_interface(address)),
                    value.host_name,
                    value.namespace,
                ),
            )
            for address in value.ip_addresses
        ]
        derived.append(
            KV(
                keys.host_interface_key(value.host_name, value.namespace),
                LinuxHostInterface(value.host_name, value.namespace),
            )
        )
        return derived

    def equivalent(self, key: Key, old: LinuxInterface, new: LinuxInterface) -> bool:
        # Addresses are derived values with their own keys: not compared here. MTU and MAC
        # left unset (0, "") mean "whatever the kernel has".
        if (old.name, old.type, old.host_name, old.namespace, old.enabled) != (
            new.name,
            new.type,
            new.host_name,
            new.namespace,
            new.enabled,
        ):
            return False
        if (old.veth_peer, old.vpp_tap) != (new.veth_peer, new.vpp_tap):
            return False
        if new.mtu and old.mtu != new.mtu:
            return False
        wanted_checksum = new.tx_checksum_offload
        if wanted_checksum is not None and old.tx_checksum_offload != wanted_checksum:
            return False
        return not new.phys_address or _mac(old) == _mac(new)

    def needs_recreate(self, key: Key, old: LinuxInterface, new: LinuxInterface) -> bool:
        return (old.type, old.namespace, old.veth_peer, old.vpp_tap) != (
            new.type,
            new.namespace,
            new.veth_peer,
            new.vpp_tap,
        )

    # --- southbound ------------------------------------------------------------------------

    async def create(self, key: Key, value: LinuxInterface) -> LinuxInterfaceMeta:
        if value.type is _VETH:
            current = await self._pairs.create(value)
        else:
            # made by VPP, the kernel or the host: it must be there (LinkNotFoundError retries)
            current = (await self._netlink.link(value.host_name, value.namespace)).name
        settings = LinkSettings(
            up=value.enabled,
            mtu=value.mtu or None,
            mac=_mac(value) or None,
            alias=link_alias(value, self._owner),
            name=value.host_name if current != value.host_name else None,
            tx_checksum=value.tx_checksum_offload,
        )
        await self._netlink.set_link(current, settings, value.namespace)
        return await self._meta(value)

    async def update(
        self, key: Key, old: LinuxInterface, new: LinuxInterface, metadata: Any
    ) -> LinuxInterfaceMeta:
        alias = link_alias(new, self._owner)
        settings = LinkSettings(
            name=new.host_name if new.host_name != old.host_name else None,
            up=new.enabled if new.enabled != old.enabled else None,
            mtu=new.mtu if new.mtu and new.mtu != old.mtu else None,
            mac=_mac(new) if new.phys_address and _mac(new) != _mac(old) else None,
            alias=alias if alias != link_alias(old, self._owner) else None,
            tx_checksum=None
            if new.tx_checksum_offload == old.tx_checksum_offload
            else new.tx_checksum_offload,
        )
        await self._netlink.set_link(old.host_name, settings, new.namespace)
        return await self._meta(new)

    async def delete(self, key: Key, value: LinuxInterface, metadata: Any) -> None:
        try:
            if value.type is _VETH:
                await self._pairs.delete(value)
            else:
                # not ours to remove: only the tag goes, so it is no longer recognised as ours
                await self._netlink.set_link(
                    value.host_name, LinkSettings(alias=""), value.namespace
                )
        except Exception as error:
            if not is_gone(error):
                raise
            log.debug("interface already gone", interface=value.name, error=str(error))

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        return await retrieve_interfaces(self._netlink, self._view, self._owner, correlate)

    async def _meta(self, value: LinuxInterface) -> LinuxInterfaceMeta:
        link = await self._netlink.link(value.host_name, value.namespace)
        return LinuxInterfaceMeta(link.index, link.name, value.namespace)


def _validate_links(value: LinuxInterface) -> None:
    if value.type is _VETH:
        check_name("veth_peer", value.veth_peer)
        if value.veth_peer == value.name:
            raise InvalidValueError("veth_peer", "a veth end cannot be its own peer")
    elif value.veth_peer:
        raise InvalidValueError("veth_peer", f"only for {_VETH.name} interfaces")
    if value.type is _TAP:
        if not value.vpp_tap:
            raise InvalidValueError("vpp_tap", "a TAP_TO_VPP interface names its VPP tap")
    elif value.vpp_tap:
        raise InvalidValueError("vpp_tap", f"only for {_TAP.name} interfaces")
    if value.type is _LOOPBACK and value.host_name != "lo":
        raise InvalidValueError("host_if_name", "a namespace's loopback is 'lo'")


def _mac(value: LinuxInterface) -> str:
    return canonical_mac(value.phys_address) if value.phys_address else ""
