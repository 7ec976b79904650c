"""Which interface of one simulated VPP takes an Ethernet frame: VPP's sub-interface match.

In: a :class:`~contivpy.sim.vpp.state.VppState`, the interface a frame arrives on (the
hardware port: a NIC, a tap, a memif) and the frame's 802.1Q tag (None: untagged). Out:
:func:`receiving_interface`, the interface VPP's ethernet-input hands the frame to, or
:class:`UnknownVlan` (VPP drops the frame, counting "unknown vlan").

The rules are VPP's (``eth_identify_subint``), for a frame with at most one 802.1Q tag:

- tagged: the port's one-tag dot1q sub-interface for that VLAN (``create_vlan_subif`` makes
  one, exact-match; a non-exact one matches a single tag as well), else the port's default
  sub-interface, else the port itself - but only while the port is in L2 mode (bridged or
  cross-connected: VPP then lets it match any number of tags); a port in L3 mode takes
  untagged frames only, so the frame is dropped;
- untagged: the port's untagged sub-interface if it has one, else the port.

The tag stays on the frame: VPP pops or pushes 802.1Q tags in L2 only where an interface has
a VLAN tag rewrite (``l2_interface_vlan_tag_rewrite``). :func:`after_l2_input` and
:func:`after_l2_output` give the tag a frame carries once an interface's rewrite is done (or
a :class:`TagDrop`): "pop 1" on a dot1q sub-interface takes the tag off what it receives in L2
(a frame without one is dropped, as l2-input's rewrite does) and pushes the sub-interface's
VLAN onto what it sends in L2. Other rewrites, QinQ and 802.1ad frames are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.sim.vpp.model import Interface
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.subinterfaces import VtrOp

#: sub_if_flags (interface_types.api)
SUB_IF_NO_TAGS = 1
SUB_IF_ONE_TAG = 2
SUB_IF_TWO_TAGS = 4
SUB_IF_DOT1AD = 8
SUB_IF_EXACT_MATCH = 16
SUB_IF_DEFAULT = 32
SUB_IF_OUTER_VLAN_ID_ANY = 64
SUB_IF_INNER_VLAN_ID_ANY = 128

#: the 802.1Q VLAN ids a frame can carry
MIN_VLAN, MAX_VLAN = 1, 4094


@dataclass(frozen=True)
class UnknownVlan:
    """No interface takes the frame: VPP drops it (ethernet-input's "unknown vlan")."""

    port: Interface
    vlan: int

    def reason(self) -> str:
        """The drop in words."""
        return (
            f"{self.port.name} has no sub-interface for 802.1Q VLAN {self.vlan} and is in "
            "L3 mode (untagged frames only): dropped as unknown vlan"
        )


def sub_interfaces(state: VppState, port: Interface) -> list[Interface]:
    """The sub-interfaces of ``port``, by sw_if_index."""
    return [
        iface
        for _, iface in sorted(state.interfaces.items())
        if iface.sub is not None and iface.sub.parent == port.sw_if_index
    ]


def in_l2_mode(iface: Interface) -> bool:
    """Whether the interface is bridged or cross-connected."""
    return iface.bd_id is not None or iface.xconnect_to is not None


def _takes_single_tag(sub: Interface, vlan: int) -> bool:
    info = sub.sub
    if info is None or info.flags & (SUB_IF_DOT1AD | SUB_IF_DEFAULT | SUB_IF_NO_TAGS):
        return False
    if info.number_of_tags != 1:
        return False
    return bool(info.flags & SUB_IF_OUTER_VLAN_ID_ANY) or info.outer_vlan_id == vlan


def receiving_interface(
    state: VppState, port: Interface, vlan: int | None
) -> Interface | UnknownVlan:
    """The interface that receives a frame arriving on ``port`` with 802.1Q tag ``vlan``."""
    subs = sub_interfaces(state, port)
    if vlan is None:
        untagged = [s for s in subs if s.sub is not None and s.sub.flags & SUB_IF_NO_TAGS]
        return untagged[0] if untagged else port
    for sub in subs:
        if _takes_single_tag(sub, vlan):
            return sub
    for sub in subs:
        if sub.sub is not None and sub.sub.flags & SUB_IF_DEFAULT:
            return sub
    if in_l2_mode(port):
        return port
    return UnknownVlan(port, vlan)


def vlan_of(iface: Interface) -> int | None:
    """The 802.1Q VLAN a one-tag sub-interface matches (None for anything else)."""
    info = iface.sub
    if info is None or info.number_of_tags != 1 or info.flags & SUB_IF_OUTER_VLAN_ID_ANY:
        return None
    return info.outer_vlan_id


@dataclass(frozen=True)
class TagDrop:
    """An interface's VLAN tag rewrite drops the frame, or does what the walk cannot model."""

    reason: str


def after_l2_input(iface: Interface, vlan: int | None) -> int | TagDrop | None:
    """The tag of a frame tagged ``vlan`` once ``iface`` received it in L2."""
    op = iface.tag_rewrite.op
    if op is VtrOp.DISABLED:
        return vlan
    if op is not VtrOp.POP_1:
        return TagDrop(f"{iface.name}: VLAN tag rewrite {op.name} is not modelled")
    if vlan is None:
        return TagDrop(f"{iface.name} pops a VLAN tag the frame does not carry")
    return None


def after_l2_output(iface: Interface, vlan: int | None) -> int | TagDrop | None:
    """The tag of a frame tagged ``vlan`` once ``iface`` sent it in L2: a pop on input is a
    push of the sub-interface's own VLAN on output."""
    op = iface.tag_rewrite.op
    if op is VtrOp.DISABLED:
        return vlan
    own = vlan_of(iface)
    if op is not VtrOp.POP_1 or own is None or iface.sub is None or iface.sub.flags & SUB_IF_DOT1AD:
        return TagDrop(f"{iface.name}: VLAN tag rewrite {op.name} is not modelled")
    if vlan is not None:
        return TagDrop(
            f"{iface.name} pushes dot1q {own} onto a frame tagged {vlan}: "
            "two tags (QinQ) are not modelled"
        )
    return own
