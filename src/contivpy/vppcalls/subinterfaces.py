"""VLAN sub-interfaces: ``<parent>.<vlan>`` taking frames with one 802.1Q tag.

In: :class:`VlanSubinterfaceSpec`. Out: the new sw_if_index. Read back with
:func:`contivpy.vppcalls.interfaces.dump_interfaces` (``is_sub``, ``sup_sw_if_index``,
``sub_id``, ``outer_vlan_id``).
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel


@dataclass(frozen=True)
class VlanSubinterfaceSpec:
    """A VLAN sub-interface of ``parent_sw_if_index``."""

    parent_sw_if_index: int
    vlan_id: int


async def create_vlan_subinterface(vpp: ApiChannel, spec: VlanSubinterfaceSpec) -> int:
    """Create the sub-interface; its sw_if_index."""
    reply = await vpp.call(
        "create_vlan_subif", {"sw_if_index": spec.parent_sw_if_index, "vlan_id": spec.vlan_id}
    )
    return reply.get_int("sw_if_index")


async def delete_subinterface(vpp: ApiChannel, sw_if_index: int) -> None:
    """Delete a sub-interface."""
    await vpp.call("delete_subif", {"sw_if_index": sw_if_index})
