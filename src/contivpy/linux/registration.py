"""Registering the Linux descriptors with a scheduler.

In: a Scheduler (also the MetadataView the descriptors read interface metadata from), a
Netlink client and the owner name that prefixes our link aliases (distinct per agent when
several share a namespace; tests use a unique one). Out: the namespace, interface, address,
route and ARP descriptors registered, returned by name for callers that want one.
"""

from __future__ import annotations

from contivpy.linux.descriptors.address import InterfaceAddressDescriptor
from contivpy.linux.descriptors.arp import ARPDescriptor
from contivpy.linux.descriptors.interface import InterfaceDescriptor
from contivpy.linux.descriptors.link_tags import DEFAULT_OWNER
from contivpy.linux.descriptors.netns import NetnsDescriptor
from contivpy.linux.descriptors.route import RouteDescriptor
from contivpy.linux.netlink import Netlink
from contivpy.scheduler import Descriptor, Scheduler


def register_linux_descriptors(
    scheduler: Scheduler, netlink: Netlink, owner: str = DEFAULT_OWNER
) -> dict[str, Descriptor]:
    """Register every Linux descriptor (before ``scheduler.start()``); returns them by name."""
    descriptors: list[Descriptor] = [
        NetnsDescriptor(netlink),
        InterfaceDescriptor(netlink, scheduler, owner),
        InterfaceAddressDescriptor(netlink),
        RouteDescriptor(netlink, scheduler),
        ARPDescriptor(netlink, scheduler),
    ]
    for descriptor in descriptors:
        scheduler.register(descriptor)
    return {d.name: d for d in descriptors}
