"""The objects a simulated VPP holds: interfaces and what hangs off them, tables, L2 state.

In: nothing (plain data). Out: mutable dataclasses the state (``state.py``) keeps and the
message handlers read, plus :class:`SimError`, the way a state operation refuses with the
retval a real VPP would return. Addresses are ``ipaddress`` objects and MACs 6-byte ``bytes``.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from contivpy.vppcalls import bridge_domains
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.subinterfaces import NO_REWRITE, VlanTagRewrite
from contivpy.vppcalls.wire import IpAddress, IpInterface, IpNetwork


class SimError(Exception):
    """A state operation refused, with the retval a real VPP answers."""

    def __init__(self, retval: Retval, reason: str = "") -> None:
        self.retval = retval
        super().__init__(f"{retval.name} ({int(retval)}){': ' + reason if reason else ''}")


class Kind(enum.Enum):
    """What made an interface; decides its name, device type and how it is deleted.

    The values are VPP 26.06's device class names, which sw_interface_details reports as
    ``interface_dev_type`` (a sub-interface reports its parent's).
    """

    LOCAL = "local"
    ETHERNET = "dpdk"
    LOOPBACK = "Loopback"
    TAP = "virtio"
    MEMIF = "memif"
    AF_PACKET = "af-packet"
    VXLAN = "VXLAN"
    SUB = "sub"


@dataclass
class TapInfo:
    """tap_create_v3's settings, as sw_interface_tap_v2_dump reports them."""

    id: int
    host_if_name: str
    host_namespace: str
    host_bridge: str
    host_mac: bytes
    host_mtu: int
    host_ip4_prefix: ipaddress.IPv4Interface | None
    host_ip6_prefix: ipaddress.IPv6Interface | None
    tap_flags: int
    rx_ring_size: int
    tx_ring_size: int
    num_rx_queues: int
    num_tx_queues: int


@dataclass(frozen=True)
class MemifRun:
    """What a memif connection runs with, as VPP's ``mif->run`` holds it.

    The slave decides: its ring size (capped at 2^14), its buffer size, and the rings in each
    direction (its tx queues are the slave-to-master rings, its rx queues master-to-slave).
    The master never fills in its own ring and buffer sizes: they read 1 and 0 (VPP's test
    suite asserts exactly that), while its queues follow the rings the slave added.
    """

    ring_size: int
    buffer_size: int
    rx_queues: int
    tx_queues: int
    #: the size of each ring (queue): the slave's, as it created them
    queue_ring_size: int


@dataclass
class MemifInfo:
    """memif_create_v2's settings, and the connection's state."""

    socket_id: int
    id: int
    role: int
    mode: int
    ring_size: int
    buffer_size: int
    zero_copy: bool
    secret: str
    rx_queues: int
    tx_queues: int
    #: a peer is connected (another simulated VPP through ``memif_links``, or the control
    #: API playing one): the link is up
    connected: bool = False
    #: the sizes of the last connection (VPP keeps them after a disconnect); None: never
    #: connected, memif_dump reads ring size 1 and buffer size 0
    run: MemifRun | None = None
    #: what the peer calls itself and its interface (``show memif``'s remote-name and
    #: remote-interface), while connected
    remote_name: str = ""
    remote_interface: str = ""
    #: why the last connection attempt or connection ended, this side's view and the peer's
    #: (``show memif``'s local-disc-reason / remote-disc-reason; never holds a secret)
    local_disc_reason: str = ""
    remote_disc_reason: str = ""

    @property
    def is_slave(self) -> bool:
        """Whether this end connects (slave) rather than listens (master)."""
        return self.role == 1


@dataclass
class AfPacketInfo:
    """af_packet_create_v3's settings."""

    host_if_name: str
    mode: int
    flags: int
    num_rx_queues: int
    num_tx_queues: int


@dataclass
class VxlanInfo:
    """vxlan_add_del_tunnel_v3's settings; (src, dst, vni, ports, vrf) identify a tunnel."""

    instance: int
    src: IpAddress
    dst: IpAddress
    src_port: int
    dst_port: int
    vni: int
    encap_vrf_id: int
    mcast_sw_if_index: int
    decap_next_index: int
    is_l3: bool


@dataclass
class SubInfo:
    """A sub-interface's match: the parent and the VLAN tags it takes."""

    parent: int
    sub_id: int
    flags: int
    outer_vlan_id: int
    inner_vlan_id: int

    @property
    def number_of_tags(self) -> int:
        """How many VLAN tags the sub-interface matches (from its flags)."""
        if self.flags & 4:
            return 2
        if self.flags & 2:
            return 1
        return 0


@dataclass
class Interface:
    """One sw_if_index and everything configured on it."""

    sw_if_index: int
    name: str
    kind: Kind
    dev_type: str
    mac: bytes
    link_mtu: int
    #: per-protocol MTU: L3, IP4, IP6, MPLS
    mtu: list[int]
    admin_up: bool = False
    #: the hardware link flag: set by the device (most follow admin changes; af_packet
    #: starts up, a VXLAN tunnel is created up)
    hw_link_up: bool = False
    tag: str = ""
    vrf4: int = 0
    vrf6: int = 0
    ip6_enabled: bool = False
    #: changed only through VppState's address methods, which keep the overlap index
    addresses: list[IpInterface] = field(default_factory=list)
    #: the interface whose addresses this one borrows (set_unnumbered)
    unnumbered_of: int | None = None
    #: L2 cross-connect: frames received here leave through this interface
    xconnect_to: int | None = None
    #: bridge domain this interface is a member of
    bd_id: int | None = None
    proxy_arp: bool = False
    tap: TapInfo | None = None
    memif: MemifInfo | None = None
    af_packet: AfPacketInfo | None = None
    vxlan: VxlanInfo | None = None
    sub: SubInfo | None = None
    #: the L2 VLAN tag rewrite (l2_interface_vlan_tag_rewrite), as sw_interface_details
    #: reports it
    tag_rewrite: VlanTagRewrite = NO_REWRITE

    def table_id(self, version: int) -> int:
        """The FIB (VRF) the interface is in for IP version 4 or 6."""
        return self.vrf6 if version == 6 else self.vrf4

    @property
    def sup_sw_if_index(self) -> int:
        """The parent of a sub-interface, else the interface itself."""
        return self.sub.parent if self.sub is not None else self.sw_if_index


class PortType(enum.IntEnum):
    """l2_port_type: how an interface sits in a bridge domain."""

    NORMAL = 0
    BVI = 1
    UU_FWD = 2


@dataclass
class BdMember:
    """One interface in a bridge domain."""

    sw_if_index: int
    port_type: PortType
    shg: int


@dataclass
class BridgeDomain:
    """A bridge domain: its settings as the API carries them, and its members, which keep
    the order they joined in, as VPP lists them."""

    settings: bridge_domains.BridgeDomain
    members: dict[int, BdMember] = field(default_factory=dict)

    @property
    def bd_id(self) -> int:
        return self.settings.bd_id

    @property
    def bvi(self) -> int | None:
        """The sw_if_index of the BVI member, if any."""
        for member in self.members.values():
            if member.port_type == PortType.BVI:
                return member.sw_if_index
        return None


@dataclass
class L2FibEntry:
    """A MAC in a bridge domain's forwarding table."""

    bd_id: int
    mac: bytes
    sw_if_index: int
    static: bool
    filter: bool
    bvi: bool


@dataclass
class IpTable:
    """A VRF table of one address family. Exists while the API or an interface uses it."""

    table_id: int
    is_ip6: bool
    name: str
    api_owned: bool


@dataclass(frozen=True)
class Path:
    """One path of a route (fib_path without MPLS labels)."""

    sw_if_index: int
    table_id: int
    next_hop: IpAddress | None
    type: int
    flags: int
    proto: int
    weight: int
    preference: int
    rpf_id: int = 0

    def same_path(self, other: Path) -> bool:
        """Whether two paths go the same way (weight and preference aside), as VPP compares."""
        return (self.sw_if_index, self.table_id, self.next_hop, self.type, self.proto) == (
            other.sw_if_index,
            other.table_id,
            other.next_hop,
            other.type,
            other.proto,
        )


@dataclass
class Route:
    """An API-installed route and its paths."""

    table_id: int
    prefix: IpNetwork
    paths: list[Path]


@dataclass
class Neighbor:
    """A static IP neighbour (ARP / ND entry)."""

    sw_if_index: int
    ip: IpAddress
    mac: bytes
    flags: int


@dataclass(frozen=True)
class ProxyArpRange:
    """Addresses an interface with proxy ARP enabled answers for, in one VRF."""

    table_id: int
    low: ipaddress.IPv4Address
    high: ipaddress.IPv4Address


@dataclass(frozen=True)
class InterfaceEvent:
    """What VPP tells subscribers of want_interface_events."""

    sw_if_index: int
    admin_up: bool
    link_up: bool
    deleted: bool
