"""Desired VPP interfaces: one frozen value per interface, with its type-specific link.

In: nothing (plain data, built by controllers and tests). Out: :class:`Interface` and its
links (:class:`TapLink`, :class:`MemifLink`, :class:`AfPacketLink`, :class:`SubInterfaceLink`,
:class:`VxlanLink`). Values are never mutated; the descriptors in ``contivpy.descriptors``
validate them and turn them into VPP calls.

Conventions: an empty string or 0 means "VPP's default" (a MAC VPP picks, the device's MTU,
the Linux name VPP gives a tap); addresses are strings ``"a.b.c.d/len"`` or IPv6 with a
length; a memif ``secret`` is never shown (``repr=False``, and the debug API masks fields
named secret).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class InterfaceType(enum.Enum):
    """What kind of VPP interface a value describes."""

    #: found in VPP, of a kind contivpy does not manage (local0); never desired
    UNDEFINED = "undefined"
    LOOPBACK = "loopback"
    TAP = "tap"
    MEMIF = "memif"
    AF_PACKET = "af_packet"
    SUB_INTERFACE = "sub_interface"
    VXLAN_TUNNEL = "vxlan_tunnel"
    #: a physical NIC: never created or deleted, configured by its VPP name
    DPDK = "dpdk"


class MemifMode(enum.Enum):
    """What a memif carries."""

    ETHERNET = "ethernet"
    IP = "ip"
    PUNT_INJECT = "punt_inject"


@dataclass(frozen=True, slots=True)
class TapLink:
    """A virtio tap: VPP's end is the interface, the Linux end lives in ``host_namespace``."""

    #: Linux interface name (at most 15 characters); "" lets VPP name it tap<id>
    host_if_name: str = ""
    #: network namespace of the Linux end; "" is VPP's own namespace
    host_namespace: str = ""
    #: MAC of the Linux end; "" lets VPP pick one
    host_mac: str = ""
    #: MTU of the Linux end; 0 leaves the kernel's default
    host_mtu: int = 0
    rx_ring_size: int = 256
    tx_ring_size: int = 256
    num_rx_queues: int = 1
    gso: bool = False


@dataclass(frozen=True, slots=True)
class MemifLink:
    """A shared-memory interface on a socket file (socket 0 is VPP's default file)."""

    id: int = 0
    #: absolute path of the socket file; "" only with socket_id 0 (VPP's default file)
    socket_filename: str = ""
    socket_id: int = 0
    master: bool = True
    mode: MemifMode = MemifMode.ETHERNET
    #: shared with the peer; never logged or rendered
    secret: str = field(default="", repr=False)
    ring_size: int = 1024
    buffer_size: int = 2048
    rx_queues: int = 1
    tx_queues: int = 1


@dataclass(frozen=True, slots=True)
class AfPacketLink:
    """VPP attached to an existing Linux interface (``host-<host_if_name>`` in VPP).

    ``linux_interface``: the logical name of the Linux interface value that creates that
    link (e.g. a pod's veth end), when contivpy manages it too: the af_packet then waits for
    it. Empty for links contivpy does not create (the node's uplink).
    """

    host_if_name: str
    linux_interface: str = ""


@dataclass(frozen=True, slots=True)
class SubInterfaceLink:
    """A VLAN sub-interface of ``parent`` (an interface name) taking one 802.1Q tag.

    ``pop_tags``: the VLAN tags VPP's L2 VLAN tag rewrite pops from frames the sub-interface
    receives in L2 (bridged or cross-connected), 0 or 1; on L2 output it pushes its VLAN back.
    With 0 a frame keeps its tag through L2 and leaves any interface with the tag it came
    with. Changed in place (no re-create); it does nothing while the sub-interface is in L3.
    """

    parent: str
    #: the VLAN id, also the sub-interface number (``<parent>.<sub_id>`` in VPP)
    sub_id: int
    pop_tags: int = 0


@dataclass(frozen=True, slots=True)
class VxlanLink:
    """A VXLAN tunnel between two addresses of one family."""

    src_address: str
    dst_address: str
    vni: int
    #: the VRF the encapsulated packets are routed in
    vrf: int = 0
    #: the interface (name) multicast tunnels send through; "" for unicast
    multicast: str = ""


Link = TapLink | MemifLink | AfPacketLink | SubInterfaceLink | VxlanLink

#: the link class each interface type needs (None: the type takes no link)
LINK_TYPES: dict[InterfaceType, type[Link] | None] = {
    InterfaceType.UNDEFINED: None,
    InterfaceType.LOOPBACK: None,
    InterfaceType.DPDK: None,
    InterfaceType.TAP: TapLink,
    InterfaceType.MEMIF: MemifLink,
    InterfaceType.AF_PACKET: AfPacketLink,
    InterfaceType.SUB_INTERFACE: SubInterfaceLink,
    InterfaceType.VXLAN_TUNNEL: VxlanLink,
}


@dataclass(frozen=True, slots=True)
class Interface:
    """One VPP interface as desired (or as found: the same shape comes back from VPP).

    ``vrf``, ``ip_addresses`` and ``unnumbered`` are applied as separate derived values (the
    VRF binding, one value per address, the unnumbered binding), so they are ordered against
    VRF tables and other interfaces on their own.
    """

    name: str
    type: InterfaceType
    enabled: bool = True
    #: MAC address; "" lets VPP pick (a sub-interface always has its parent's)
    phys_address: str = ""
    #: L3 MTU; 0 leaves the device's default
    mtu: int = 0
    vrf: int = 0
    ip_addresses: tuple[str, ...] = ()
    #: the (numbered) interface whose addresses this one borrows
    unnumbered: str | None = None
    link: Link | None = None
