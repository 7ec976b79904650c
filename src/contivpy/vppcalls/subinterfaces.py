"""VLAN sub-interfaces: ``<parent>.<vlan>`` taking frames with one 802.1Q tag, and the L2 VLAN
tag rewrite of an interface.

In: :class:`VlanSubinterfaceSpec`; a sw_if_index and a :class:`VlanTagRewrite`. Out: the new
sw_if_index; the rewrite applied. Read back with
:func:`contivpy.vppcalls.interfaces.dump_interfaces` (``is_sub``, ``sup_sw_if_index``,
``sub_id``, ``outer_vlan_id``, ``tag_rewrite``).

A tag rewrite (``l2_interface_vlan_tag_rewrite``, l2.api) works in L2 only: on L2 input the
frame's tags are popped, pushed or translated as ``op`` says, and on L2 output the reverse is
done, the pushed tags being the sub-interface's own (pop 1 on ``GigabitEthernet0/a/0.200``:
frames enter the bridge or cross-connect untagged and leave the wire tagged 200). VPP takes it
whatever the interface's L2 mode, and keeps it while the interface is in L3 (where it does
nothing). VPP refuses a pop or translate of more tags than the interface matches
(INVALID_VLAN_TAG_COUNT, so pop 1 needs a VLAN sub-interface), a non-Ethernet interface
(INVALID_INTERFACE) and an op it does not know (INVALID_VALUE).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message


@dataclass(frozen=True)
class VlanSubinterfaceSpec:
    """A VLAN sub-interface of ``parent_sw_if_index``."""

    parent_sw_if_index: int
    vlan_id: int


class VtrOp(enum.IntEnum):
    """VPP's L2 VLAN tag rewrite operations (``L2_VTR_*`` of l2_vtr.h), as on the wire."""

    DISABLED = 0
    PUSH_1 = 1
    PUSH_2 = 2
    POP_1 = 3
    POP_2 = 4
    TRANSLATE_1_1 = 5
    TRANSLATE_1_2 = 6
    TRANSLATE_2_1 = 7
    TRANSLATE_2_2 = 8


#: the pure pops, by the number of tags popped
_POPS = {0: VtrOp.DISABLED, 1: VtrOp.POP_1, 2: VtrOp.POP_2}


@dataclass(frozen=True)
class VlanTagRewrite:
    """An interface's L2 VLAN tag rewrite. ``push_dot1q``: the first pushed tag is 802.1Q
    (else 802.1ad); ``tag1``/``tag2``: the VLAN ids pushed on input by push and translate
    operations (0 for a pop: on output the sub-interface's own tags are pushed)."""

    op: VtrOp = VtrOp.DISABLED
    push_dot1q: bool = False
    tag1: int = 0
    tag2: int = 0

    @classmethod
    def pop(cls, tags: int) -> VlanTagRewrite:
        """Pop ``tags`` (0, 1 or 2) tags on input, push them back on output; 0 disables."""
        try:
            return cls(_POPS[tags])
        except KeyError:
            raise ValueError(f"VPP pops 0, 1 or 2 VLAN tags, not {tags}") from None

    @property
    def popped_tags(self) -> int | None:
        """How many tags a pure pop removes (0 when disabled); None for a push or translate."""
        return next((n for n, op in _POPS.items() if op is self.op), None)

    @classmethod
    def from_details(cls, msg: Message) -> VlanTagRewrite:
        """From sw_interface_details' ``vtr_*`` fields (an unknown op reads as DISABLED)."""
        try:
            op = VtrOp(msg.get_int("vtr_op"))
        except ValueError:
            op = VtrOp.DISABLED
        if op is VtrOp.DISABLED:
            return NO_REWRITE  # almost every interface: one shared value, nothing built
        return cls(
            op=op,
            push_dot1q=bool(msg.get_int("vtr_push_dot1q")),
            tag1=msg.get_int("vtr_tag1"),
            tag2=msg.get_int("vtr_tag2"),
        )


#: no rewrite: frames keep their tags through L2
NO_REWRITE = VlanTagRewrite()


async def create_vlan_subinterface(vpp: ApiChannel, spec: VlanSubinterfaceSpec) -> int:
    """Create the sub-interface; its sw_if_index."""
    reply = await vpp.call(
        "create_vlan_subif", {"sw_if_index": spec.parent_sw_if_index, "vlan_id": spec.vlan_id}
    )
    return reply.get_int("sw_if_index")


async def delete_subinterface(vpp: ApiChannel, sw_if_index: int) -> None:
    """Delete a sub-interface."""
    await vpp.call("delete_subif", {"sw_if_index": sw_if_index})


async def set_vlan_tag_rewrite(vpp: ApiChannel, sw_if_index: int, rewrite: VlanTagRewrite) -> None:
    """Set (or, with ``VtrOp.DISABLED``, remove) the interface's L2 VLAN tag rewrite."""
    await vpp.call(
        "l2_interface_vlan_tag_rewrite",
        {
            "sw_if_index": sw_if_index,
            "vtr_op": int(rewrite.op),
            "push_dot1q": int(rewrite.push_dot1q),
            "tag1": rewrite.tag1,
            "tag2": rewrite.tag2,
        },
    )
