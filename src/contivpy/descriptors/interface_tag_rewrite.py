"""A sub-interface's L2 VLAN tag rewrite (``vpp-interface-tag-rewrite``), derived from it.

In: :class:`~contivpy.models.InterfaceTagRewrite` values under
``vpp/interface/<if>/vlan-tag-rewrite``, derived from a sub-interface whose
``SubInterfaceLink.pop_tags`` is 1. Out: ``l2_interface_vlan_tag_rewrite`` pop 1 (and
disabled again on delete): frames the sub-interface receives in L2 lose their tag, frames it
sends in L2 get its VLAN pushed.

The rewrite waits for the interface to be in L2 mode (the receive side of a cross-connect, or
a bridge domain member) and goes before it leaves L2: VPP takes a rewrite in any mode, but
putting an interface back into L3 (``sw_interface_set_l2_xconnect`` or
``sw_interface_set_l2_bridge`` with enable false, which is what removing a cross-connect
does) clears its L2 output configuration, rewrite included (``set_int_l2_mode``). Tied to L2
mode, the rewrite is applied again every time the interface returns to L2 (a chain
re-rendered onto another CNF). Nothing is read here: the interface's retrieve reports the
rewrite VPP holds (``sw_interface_details.vtr_op``) and this value is derived from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import InterfaceTagRewrite
from contivpy.models.vpp_keys import (
    BD_MEMBER_PREFIX,
    DERIVED_INTERFACE_PREFIX,
    parse_bd_member_key,
    parse_tag_rewrite_key,
    xconnect_key,
)
from contivpy.scheduler import Dependency
from contivpy.vppcalls.subinterfaces import NO_REWRITE, VlanTagRewrite, set_vlan_tag_rewrite


class InterfaceTagRewriteDescriptor(VppDescriptor):
    """One sub-interface popping its VLAN tag while in L2 mode."""

    name: ClassVar[str] = "vpp-interface-tag-rewrite"
    key_prefix: ClassVar[str] = DERIVED_INTERFACE_PREFIX

    def owns(self, key: str) -> bool:
        return parse_tag_rewrite_key(key) is not None

    def dependencies(self, key: str, value: InterfaceTagRewrite) -> Sequence[Dependency]:
        return (in_l2_mode(value.interface),)

    async def create(self, key: str, value: InterfaceTagRewrite) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await set_vlan_tag_rewrite(self.vpp, sw_if_index, VlanTagRewrite.pop(value.pop_tags))

    async def delete(self, key: str, value: InterfaceTagRewrite, metadata: object) -> None:
        sw_if_index = self.interfaces.sw_if_index(value.interface)
        await set_vlan_tag_rewrite(self.vpp, sw_if_index, NO_REWRITE)


def in_l2_mode(interface: str) -> Dependency:
    """``interface`` receives in L2: a cross-connect from it, or its bridge domain membership."""
    xconnect = xconnect_key(interface)

    def selects(key: str) -> bool:
        if key == xconnect:
            return True
        member = parse_bd_member_key(key)
        return member is not None and member[1] == interface

    return Dependency("interface in L2 mode", any_of=(xconnect, BD_MEMBER_PREFIX), selector=selects)
