"""The typed vocabulary of ``contivpy.linux.netlink``: what goes in and what comes out.

In: nothing (plain data). Out: frozen dataclasses — :class:`NetnsRef` (a network namespace by
the path of its file), :class:`LinkInfo` / :class:`LinkSettings`, :class:`AddressInfo`,
:class:`RouteSpec` / :class:`RouteInfo`, :class:`NeighbourInfo` — so no pyroute2 message
ever leaves the netlink module. Addresses and networks are canonical strings
(``str(ipaddress.ip_interface(..))``), MACs lower-case, so values read back compare equal to
values asked for.
"""

from __future__ import annotations

import enum
import ipaddress
import os.path
from dataclasses import dataclass

#: where ``ip netns add`` (and we) bind-mount named namespaces
NETNS_RUN_DIR = "/var/run/netns"
#: /var/run is a link to /run on every current distribution; one spelling keeps keys unique
_RUN_ALIAS = "/run/netns/"

#: kernel neighbour state of a static entry
NUD_PERMANENT = 0x80
#: route protocol of routes the kernel adds itself (connected networks, IPv6 link-local)
RTPROT_KERNEL = 2
#: the main routing table
MAIN_TABLE = 254


@dataclass(frozen=True, slots=True, order=True)
class NetnsRef:
    """A network namespace, named by the path of its file (``/var/run/netns/<name>`` for a
    named one, ``/proc/<pid>/ns/net`` for a process's). Build with the class methods."""

    path: str

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"netns path must be absolute: {self.path!r}")

    @classmethod
    def named(cls, name: str) -> NetnsRef:
        """A namespace made by ``ip netns add <name>``."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a netns name: {name!r}")
        return cls(f"{NETNS_RUN_DIR}/{name}")

    @classmethod
    def of_pid(cls, pid: int) -> NetnsRef:
        """The namespace of process ``pid``."""
        if pid <= 0:
            raise ValueError(f"not a pid: {pid}")
        return cls(f"/proc/{pid}/ns/net")

    @classmethod
    def at(cls, path: str) -> NetnsRef:
        """A namespace file by path (``/run/netns/x`` is spelled ``/var/run/netns/x``)."""
        path = os.path.normpath(path)
        if path.startswith(_RUN_ALIAS):
            path = NETNS_RUN_DIR + path[len("/run") + len("/netns") :]
        return cls(path)

    @classmethod
    def parse(cls, reference: str) -> NetnsRef:
        """A name (no "/") or a path, as CNI and VPP's tap ``host_namespace`` give them."""
        return cls.at(reference) if "/" in reference else cls.named(reference)

    @property
    def name(self) -> str | None:
        """The name of a named namespace, else None."""
        head, tail = os.path.split(self.path)
        return tail if head == NETNS_RUN_DIR else None

    def __str__(self) -> str:
        return self.path


def describe_netns(netns: NetnsRef | None) -> str:
    """Human text for a namespace; None is the agent's own."""
    return "the agent's netns" if netns is None else f"netns {netns.path}"


class RouteScope(enum.IntEnum):
    """Kernel route scopes used here (rtnetlink's ``rt_scope_t``)."""

    UNIVERSE = 0  # via a gateway (or a plain device route)
    LINK = 253  # directly reachable on the link
    HOST = 254  # local addresses


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """One link as the kernel reports it."""

    index: int
    name: str
    kind: str  # "veth", "tun", "" (physical or loopback) ...
    alias: str
    mac: str
    mtu: int
    admin_up: bool
    operstate: str  # "UP", "DOWN", "LOWERLAYERDOWN", "UNKNOWN" ...
    loopback: bool


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Changes to one link, sent as one request; None leaves an attribute as it is."""

    up: bool | None = None
    mtu: int | None = None
    mac: str | None = None
    alias: str | None = None  # "" clears it
    name: str | None = None  # rename (the link is taken down for it, then restored)
    tx_checksum: bool | None = None  # TX checksum offload (ethtool's ``tx``), after the rest


@dataclass(frozen=True, slots=True)
class AddressInfo:
    """One address on a link: ``address`` is "ip/len" in canonical form."""

    link_index: int
    address: str
    scope: int

    @property
    def is_link_local(self) -> bool:
        """True for IPv6 link-local (fe80::/10) addresses, which the kernel adds itself."""
        return ipaddress.ip_interface(self.address).ip.is_link_local


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route to add or delete: ``dst`` "net/len" out link ``link`` (its host name)."""

    dst: str
    link: str
    gateway: str = ""
    scope: RouteScope = RouteScope.UNIVERSE
    metric: int = 0  # 0: the kernel's default (IPv6 makes that 1024)
    table: int = MAIN_TABLE


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route as the kernel reports it (``link_index`` 0 when it has no output link)."""

    dst: str
    gateway: str
    link_index: int
    scope: int
    metric: int
    protocol: int
    table: int

    @property
    def kernel_added(self) -> bool:
        """True for routes the kernel made itself (connected networks, link-local)."""
        return self.protocol == RTPROT_KERNEL


@dataclass(frozen=True, slots=True)
class NeighbourInfo:
    """One neighbour (ARP / NDP) entry."""

    link_index: int
    ip: str
    mac: str
    state: int

    @property
    def permanent(self) -> bool:
        """True for a static entry."""
        return bool(self.state & NUD_PERMANENT)
