"""The VPP interface descriptor (``vpp-interface``): ``config/vpp/v2/interfaces/<name>``.

In: desired :class:`~contivpy.models.Interface` values. Out: interfaces in VPP (create, update
in place, re-create, delete: ``interface_kinds``), what VPP has (retrieve: ``interface_dump``)
and, per value, its dependencies and derived values:

- dependencies: a sub-interface needs its parent; a VXLAN tunnel its encapsulation VRF table
  (VRF 0 always exists) and, when multicast, an address on the multicast interface; AF_PACKET
  needs nothing VPP-side (the Linux interface is the Linux descriptors' business);
- derived: one value per address (``vpp/interface/<if>/address/static/<ip/len>``), the VRF
  binding per address family in use (``.../vrf/<id>/ip-version/<v4|v6>``), the has-IP-address
  property, for an unnumbered interface the binding plus the inherited VRF binding (the
  interface put into the numbered one's tables, which VPP requires before unnumbered), and for
  a sub-interface that pops its tag (``SubInterfaceLink.pop_tags``) the VLAN tag rewrite
  (``.../vlan-tag-rewrite``, applied while the sub-interface is in L2 mode).

Equivalence ignores what the derived values carry (addresses, VRF, unnumbered, the tag
rewrite): those are compared one by one as their own keys. A change of type or link (but its
``pop_tags``) needs a re-create (as does an AF_PACKET's MAC: VPP cannot change it); admin
state, MTU and MAC change in place.
Metadata: :class:`~contivpy.descriptors.indexes.InterfaceMeta` (sw_if_index, VPP's name,
the tables as far as known: table 0 for an interface this creates).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from operator import attrgetter
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.indexes import InterfaceMeta
from contivpy.descriptors.interface_dump import retrieve_interfaces
from contivpy.descriptors.interface_kinds import (
    create_interface,
    delete_interface,
    update_interface,
)
from contivpy.descriptors.interface_validation import validate_interface
from contivpy.linux.keys import interface_key as linux_interface_key
from contivpy.models.vpp_derived import (
    InheritedVrf,
    InterfaceAddress,
    InterfaceHasAddress,
    InterfaceTagRewrite,
    InterfaceVrf,
    UnnumberedBinding,
)
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    Link,
    SubInterfaceLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import (
    INTERFACE_PREFIX,
    canonical_interface_address,
    has_ip_address_key,
    inherited_vrf_key,
    interface_address_key,
    interface_address_prefix,
    interface_key,
    interface_vrf_key,
    parse_interface_address,
    tag_rewrite_key,
    unnumbered_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol
from contivpy.scheduler import KV, Dependency, Retrieved


class InterfaceDescriptor(VppDescriptor):
    """VPP interfaces of every type contivpy manages, and NICs configured by name."""

    name: ClassVar[str] = "vpp-interface"
    key_prefix: ClassVar[str] = INTERFACE_PREFIX

    def validate(self, key: str, value: Any) -> None:
        validate_interface(key, value)

    def dependencies(self, key: str, value: Interface) -> Sequence[Dependency]:
        link = value.link
        if isinstance(link, SubInterfaceLink):
            return (Dependency("parent interface", key=interface_key(link.parent)),)
        deps: list[Dependency] = []
        if isinstance(link, AfPacketLink) and link.linux_interface:
            linux = linux_interface_key(link.linux_interface)
            deps.append(Dependency("Linux end of the af_packet", key=linux))
        if isinstance(link, VxlanLink):
            if link.vrf:
                v6 = ipaddress.ip_address(link.src_address).version == 6
                protocol = IpProtocol.IPV6 if v6 else IpProtocol.IPV4
                deps.append(Dependency("encap VRF table", key=vrf_table_key(link.vrf, protocol)))
            if link.multicast:
                prefix = interface_address_prefix(link.multicast)
                deps.append(Dependency("multicast interface with an address", any_of=(prefix,)))
        return deps

    def derived(self, key: str, value: Interface) -> Sequence[KV]:
        name = value.name
        out: list[KV] = []
        numbered = value.unnumbered
        if numbered is not None:
            # Into the numbered interface's VRFs first (VPP sets unnumbered only then).
            out.append(KV(inherited_vrf_key(name, numbered), InheritedVrf(name, numbered)))
            out.append(KV(unnumbered_key(name), UnnumberedBinding(name, numbered)))
        families: set[bool] = set()
        for address in value.ip_addresses:
            canonical = canonical_interface_address(address)
            families.add(parse_interface_address(canonical).version == 6)
            out.append(
                KV(interface_address_key(name, canonical), InterfaceAddress(name, canonical))
            )
        for ipv6 in sorted(families):
            out.append(
                KV(interface_vrf_key(name, value.vrf, ipv6), InterfaceVrf(name, value.vrf, ipv6))
            )
        if value.ip_addresses:
            applied = Dependency("an address applied", any_of=(interface_address_prefix(name),))
            out.append(
                KV(has_ip_address_key(name), InterfaceHasAddress(name), dependencies=(applied,))
            )
        link = value.link
        if isinstance(link, SubInterfaceLink) and link.pop_tags:
            out.append(KV(tag_rewrite_key(name), InterfaceTagRewrite(name, link.pop_tags)))
        return out

    def equivalent(self, key: str, old: Interface, new: Interface) -> bool:
        return (
            _own_fields(old) == _own_fields(new)
            and _identity(old.link) == _identity(new.link)
            and old.phys_address.lower() == new.phys_address.lower()
        )

    def needs_recreate(self, key: str, old: Interface, new: Interface) -> bool:
        if old.type is not new.type or _identity(old.link) != _identity(new.link):
            return True
        return (
            new.type is InterfaceType.AF_PACKET
            and bool(new.phys_address)
            and new.phys_address.lower() != old.phys_address.lower()
        )

    async def create(self, key: str, value: Interface) -> InterfaceMeta:
        return await create_interface(self.vpp, self.interfaces, value)

    async def update(
        self, key: str, old: Interface, new: Interface, metadata: InterfaceMeta
    ) -> InterfaceMeta:
        meta = await update_interface(self.vpp, old, new, metadata)
        return meta if meta.owned else replace(meta, owned=True)

    async def delete(self, key: str, value: Interface, metadata: InterfaceMeta) -> None:
        await delete_interface(self.vpp, value, metadata)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        return await retrieve_interfaces(self.vpp, correlate)


#: what is compared of an interface itself: every field but what its derived values carry
#: (compared one by one as their own keys), the MAC (compared in one spelling) and the link
#: (compared without its tag rewrite, a derived value too). Read
#: field by field, not compared as copies made by ``dataclasses.replace``: the copies cost
#: more than the comparison, and a resync compares every interface.
_own_fields = attrgetter(
    *(
        f.name
        for f in fields(Interface)
        if f.compare and f.name not in ("vrf", "ip_addresses", "unnumbered", "phys_address", "link")
    )
)


def _identity(link: Link | None) -> Link | None:
    """The link but a sub-interface's tag rewrite (a derived value of its own)."""
    if isinstance(link, SubInterfaceLink) and link.pop_tags:
        return replace(link, pop_tags=0)
    return link
