"""Values of the Linux side that controllers put and descriptors read back (vpp-agent's model).

In: nothing (plain data). Out: frozen values, each stored under a key from
``contivpy.linux.keys``:

- :class:`LinuxInterface` — a link in a namespace: one end of a veth pair, the Linux end of
  a VPP tap, a namespace's loopback, or an existing link (the host's ``vpp1``);
- :class:`LinuxRoute`, :class:`LinuxARP` — a route and a static neighbour via an interface;
- :class:`~contivpy.linux.netlink_types.NetnsRef` — a namespace the values above need; a
  controller puts it next to them (it is never created or deleted, only looked for);
- derived by descriptors: :class:`LinuxInterfaceAddress` (one address, applied on its own),
  :class:`LinuxHostInterface` (property: the link exists under its host name in its
  namespace; VPP's af_packet depends on it), :class:`LinkScopeRoute` (property: a link-scope
  route exists, so a gateway behind it is reachable).

Interfaces are referred to by logical names (``veth1-<cid>``), never by kernel names or
indexes; ``host_if_name`` is the kernel's name. Validation lives in the descriptors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contivpy.linux.netlink_types import NetnsRef


class LinuxInterfaceType(enum.Enum):
    """What kind of link a LinuxInterface is, and so who creates it."""

    VETH = "veth"  # we create the pair (both ends are values)
    TAP_TO_VPP = "tap"  # VPP's tap creates it; we configure it
    LOOPBACK = "loopback"  # the namespace's ``lo``; we configure it
    EXISTING = "existing"  # made by someone else; we configure it and never delete it


@dataclass(frozen=True, slots=True)
class LinuxInterface:
    """A Linux link, by logical ``name``, in ``namespace`` (None: the agent's own)."""

    name: str
    type: LinuxInterfaceType
    host_if_name: str = ""  # the kernel's name; "" means the logical name ("lo" for LOOPBACK)
    namespace: NetnsRef | None = None
    enabled: bool = True
    mtu: int = 0  # 0 leaves the kernel's
    phys_address: str = ""  # "" leaves the kernel's
    ip_addresses: tuple[str, ...] = ()  # "ip/len"
    veth_peer: str = ""  # VETH: logical name of the other end
    vpp_tap: str = ""  # TAP_TO_VPP: logical name of the VPP tap whose Linux end this is
    #: TX checksum offload (ethtool's ``tx``); None leaves the kernel's. A veth attached to VPP
    #: by af_packet needs it off: VPP forwards (and NAT rewrites) the partial checksums a veth
    #: hands over, and the receiving kernel drops such TCP and UDP (Contiv's
    #: ``tcpChecksumOffloadDisabled``).
    tx_checksum_offload: bool | None = None

    @property
    def host_name(self) -> str:
        """The kernel's name of the link."""
        if self.host_if_name:
            return self.host_if_name
        return "lo" if self.type is LinuxInterfaceType.LOOPBACK else self.name


class LinuxRouteScope(enum.Enum):
    """Scope of a route: LINK for a directly attached destination, GLOBAL otherwise."""

    GLOBAL = "global"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class LinuxRoute:
    """A route to ``dst_network`` out ``outgoing_interface`` (logical name), in ``namespace``
    (which must be that interface's), optionally via ``gw_addr``."""

    dst_network: str
    outgoing_interface: str
    gw_addr: str = ""
    scope: LinuxRouteScope = LinuxRouteScope.GLOBAL
    metric: int = 0  # 0: the kernel's default
    namespace: NetnsRef | None = None


@dataclass(frozen=True, slots=True)
class LinuxARP:
    """A permanent neighbour entry: ``ip_address`` is at ``hw_address`` on ``interface``."""

    interface: str
    ip_address: str
    hw_address: str


@dataclass(frozen=True, slots=True)
class LinuxInterfaceAddress:
    """One address of an interface (derived); carries where the link is, so applying it
    needs nothing else."""

    interface: str
    address: str  # canonical "ip/len"
    host_if_name: str
    namespace: NetnsRef | None


@dataclass(frozen=True, slots=True)
class LinuxHostInterface:
    """Property: a link named ``host_if_name`` of ours exists in ``namespace``."""

    host_if_name: str
    namespace: NetnsRef | None


@dataclass(frozen=True, slots=True)
class LinkScopeRoute:
    """Property: a link-scope route to ``dst_network`` exists out ``interface``."""

    interface: str
    dst_network: str
