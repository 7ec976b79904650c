"""Reading our interfaces back from the kernel (the interface descriptor's retrieve).

In: the desired interfaces (``correlate``), what the scheduler has applied (MetadataView:
interface metadata with namespaces, applied address keys) and the alias owner. Out: one
Retrieved per link of ours, with the value as the kernel has it and its metadata.

Where to look: the agent's namespace, every namespace a desired interface names, and every
namespace an applied one is in (so one removed from the desired state by a full resync is
still found, and removed). Which addresses count: the desired and the applied ones that are
on the link — others on a link we share (the host's ``vpp1``; the kernel's link-local and
loopback addresses) are not ours to remove — plus, on a veth end (all ours), any other
address, which is then removed as undesired.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import structlog

from contivpy.linux import keys
from contivpy.linux.descriptors.common import LinuxInterfaceMeta
from contivpy.linux.descriptors.link_tags import parse_alias, veth_temp_name
from contivpy.linux.errors import LinuxError, NetnsNotFoundError, is_gone
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import AddressInfo, LinkInfo, NetnsRef
from contivpy.scheduler import Key, MetadataView, Retrieved

log = structlog.get_logger(__name__)


async def retrieve_interfaces(
    netlink: Netlink, view: MetadataView, owner: str, correlate: Mapping[Key, Any]
) -> list[Retrieved]:
    """Our links in every namespace that may hold one."""
    desired = {v.name: v for v in correlate.values() if isinstance(v, LinuxInterface)}
    namespaces: list[NetnsRef | None] = [None]
    applied = [view.metadata(k) for k in view.keys_with_prefix(keys.INTERFACE_PREFIX)]
    for netns in [v.namespace for v in desired.values()] + [
        m.namespace for m in applied if isinstance(m, LinuxInterfaceMeta)
    ]:
        if netns not in namespaces:
            namespaces.append(netns)
    found: dict[str, Retrieved] = {}
    for netns in namespaces:
        try:
            links = await netlink.links(netns)
            addresses = await netlink.addresses(netns)
        except NetnsNotFoundError:
            continue  # a pod's namespace that is gone: nothing of it exists any more
        for link in links:
            tag = parse_alias(link.alias, owner)
            if tag is None or (
                tag.type is LinuxInterfaceType.VETH and link.name == veth_temp_name(tag.name)
            ):
                continue  # not ours, or a veth end made with its pair but not taken yet
            key = keys.interface_key(tag.name)
            wanted = desired.get(tag.name)
            if key in found and (wanted is None or wanted.namespace != netns):
                log.warning("interface found twice", key=key, netns=str(netns))
                continue
            ours = {
                address
                for k in view.keys_with_prefix(keys.interface_address_prefix(tag.name))
                if (address := _address_of(k))
            }
            if wanted is not None:
                ours.update(str(ipaddress.ip_interface(a)) for a in wanted.ip_addresses)
            on_link = [a for a in addresses if a.link_index == link.index]
            value = _read_back(
                link, on_link, netns, tag.type, tag.name, tag.reference, wanted, ours
            )
            if wanted is not None and wanted.tx_checksum_offload is not None:
                # read only where asked for: one ioctl per such link
                try:
                    checksum = await netlink.tx_checksum(link.name, netns)
                except LinuxError as error:
                    if not is_gone(error):
                        raise
                    continue  # removed since it was listed
                value = dataclasses.replace(value, tx_checksum_offload=checksum)
            found[key] = Retrieved(key, value, LinuxInterfaceMeta(link.index, link.name, netns))
    return list(found.values())


def _address_of(key: Key) -> str:
    parsed = keys.parse_interface_address_key(key)
    return parsed[1] if parsed else ""


def _read_back(
    link: LinkInfo,
    on_link: Sequence[AddressInfo],
    netns: NetnsRef | None,
    link_type: LinuxInterfaceType,
    name: str,
    reference: str,
    wanted: LinuxInterface | None,
    ours: Collection[str],
) -> LinuxInterface:
    present = [a.address for a in on_link]
    kept = [a for a in present if a in ours]
    if link_type is LinuxInterfaceType.VETH:
        kept += [
            a for a in present if a not in ours and not ipaddress.ip_interface(a).ip.is_link_local
        ]
    if wanted is not None:
        # in the order asked for, so an unchanged interface reads back equal
        order = {str(ipaddress.ip_interface(a)): i for i, a in enumerate(wanted.ip_addresses)}
        kept.sort(key=lambda a: order.get(a, len(order)))
    host_if_name = link.name
    if wanted is not None and wanted.host_name == link.name:
        host_if_name = wanted.host_if_name  # the same spelling (maybe "") as asked
    return LinuxInterface(
        name=name,
        type=link_type,
        host_if_name=host_if_name,
        namespace=netns,
        enabled=link.admin_up,
        mtu=link.mtu,
        phys_address=link.mac,
        ip_addresses=tuple(kept),
        veth_peer=reference if link_type is LinuxInterfaceType.VETH else "",
        vpp_tap=reference if link_type is LinuxInterfaceType.TAP_TO_VPP else "",
    )
