"""Registering the VPP descriptors with a scheduler: the one place that lists them.

In: the scheduler (also the descriptors' read-only metadata view) and the VPP channel (the
agent's :class:`~contivpy.vppcalls.client.VppClient`). Out: every VPP descriptor registered,
in an order whose retrieve dependencies (``retrieve_after``) the scheduler resolves itself.
"""

from __future__ import annotations

from contivpy.descriptors.acl import AclDescriptor
from contivpy.descriptors.acl_interfaces import AclInterfacesDescriptor
from contivpy.descriptors.arp import ArpDescriptor
from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.bd_member import BridgeDomainMemberDescriptor
from contivpy.descriptors.bridge_domain import BridgeDomainDescriptor
from contivpy.descriptors.interface import InterfaceDescriptor
from contivpy.descriptors.interface_address import InterfaceAddressDescriptor
from contivpy.descriptors.interface_tag_rewrite import InterfaceTagRewriteDescriptor
from contivpy.descriptors.interface_vrf import InterfaceVrfDescriptor
from contivpy.descriptors.l2fib import L2FibDescriptor
from contivpy.descriptors.nat44_address import Nat44AddressDescriptor
from contivpy.descriptors.nat44_global import Nat44GlobalDescriptor
from contivpy.descriptors.nat44_identity import Nat44IdentityDescriptor
from contivpy.descriptors.nat44_interface import Nat44InterfaceDescriptor
from contivpy.descriptors.nat44_mapping import Nat44MappingDescriptor
from contivpy.descriptors.proxy_arp import ProxyArpDescriptor, ProxyArpInterfaceDescriptor
from contivpy.descriptors.route import RouteDescriptor
from contivpy.descriptors.unnumbered import UnnumberedDescriptor
from contivpy.descriptors.vrf_table import VrfTableDescriptor
from contivpy.descriptors.xconnect import XConnectDescriptor
from contivpy.scheduler import MetadataView, Scheduler
from contivpy.vppcalls.channel import ApiChannel

DESCRIPTOR_CLASSES: tuple[type[VppDescriptor], ...] = (
    InterfaceDescriptor,
    InterfaceAddressDescriptor,
    InterfaceVrfDescriptor,
    InterfaceTagRewriteDescriptor,
    UnnumberedDescriptor,
    VrfTableDescriptor,
    RouteDescriptor,
    ArpDescriptor,
    ProxyArpDescriptor,
    ProxyArpInterfaceDescriptor,
    BridgeDomainDescriptor,
    BridgeDomainMemberDescriptor,
    L2FibDescriptor,
    XConnectDescriptor,
    AclDescriptor,
    AclInterfacesDescriptor,
    Nat44GlobalDescriptor,
    Nat44InterfaceDescriptor,
    Nat44AddressDescriptor,
    Nat44MappingDescriptor,
    Nat44IdentityDescriptor,
)


def vpp_descriptors(vpp: ApiChannel, view: MetadataView) -> list[VppDescriptor]:
    """One instance of every VPP descriptor over ``vpp``, reading metadata from ``view``."""
    return [cls(vpp, view) for cls in DESCRIPTOR_CLASSES]


def register_vpp_descriptors(scheduler: Scheduler, client: ApiChannel) -> None:
    """Register every VPP descriptor with ``scheduler`` (before it starts)."""
    for descriptor in vpp_descriptors(client, scheduler):
        scheduler.register(descriptor)
