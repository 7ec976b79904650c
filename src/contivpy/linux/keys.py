"""Scheduler keys of Linux values, in vpp-agent's layout: one build/parse pair per kind.

In: logical names, host names, namespaces, addresses. Out: key strings, and back: ``parse_*``
returns the parts of a key of its kind, or None for any other key (descriptors claim keys
with them). Addresses and networks go into keys in canonical form, so a key built from a
desired value equals one built from what the kernel reports.

Base values (written by controllers)::

    config/linux/interfaces/v2/interface/<name>
    config/linux/l3/v2/route/<dst-net>/<dst-prefix>/<out-if>
    config/linux/l3/v2/arp/<if>/<ip>
    config/linux/namespace/v2/netns/<path without its leading "/">

Derived values::

    linux/interface/<name>/address/<ip>/<len>             (applied by the address descriptor)
    linux/interface/<name>/link-route/<net>/<len>         (property)
    linux/interface/host-name/<host-if-name>              (property; the agent's netns)
    linux/interface/host-name/<host-if-name>/netns/<path> (property; another netns)

Logical names have no "/" and are not ``host-name``; host names have no "/" either, so every
key parses one way.
"""

from __future__ import annotations

import ipaddress
import re

from contivpy.linux.netlink_types import NetnsRef

INTERFACE_PREFIX = "config/linux/interfaces/v2/interface/"
ROUTE_PREFIX = "config/linux/l3/v2/route/"
ARP_PREFIX = "config/linux/l3/v2/arp/"
NETNS_PREFIX = "config/linux/namespace/v2/netns/"
DERIVED_INTERFACE_PREFIX = "linux/interface/"
HOST_INTERFACE_PREFIX = "linux/interface/host-name/"
#: VPP interfaces (vpp-agent layout, as contivpy.models.vpp_keys); a tap's Linux end waits
#: for its VPP tap. Spelled here so the Linux side does not import the VPP models.
VPP_INTERFACE_PREFIX = "config/vpp/v2/interfaces/"

#: logical names are trimmed to this (Contiv-VPP) and host names to the kernel's IFNAMSIZ-1
MAX_NAME_LENGTH = 63
MAX_HOST_NAME_LENGTH = 15
_NAME = re.compile(r"[A-Za-z0-9._:@+=-]+")
_RESERVED = frozenset({"host-name"})
_ADDRESS = "address"
_LINK_ROUTE = "link-route"
_NETNS = "/netns/"


def logical_name_problem(name: str) -> str:
    """Why ``name`` cannot be an interface's logical name, or ""."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} characters"
    if not _NAME.fullmatch(name):
        return "has characters other than letters, digits and ._:@+=-"
    if name in _RESERVED:
        return f"{name!r} is reserved by the key layout"
    return ""


def host_name_problem(name: str) -> str:
    """Why ``name`` cannot be a Linux interface name, or ""."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_HOST_NAME_LENGTH:
        return f"longer than {MAX_HOST_NAME_LENGTH} characters"
    if "/" in name or any(c.isspace() for c in name) or name in (".", ".."):
        return "not a Linux interface name"
    return ""


def _split(key: str, prefix: str, parts: int) -> list[str] | None:
    if not key.startswith(prefix):
        return None
    found = key[len(prefix) :].split("/")
    return found if len(found) == parts and all(found) else None


# --- base values ---------------------------------------------------------------------------


def interface_key(name: str) -> str:
    """Key of a LinuxInterface."""
    return INTERFACE_PREFIX + name


def parse_interface_key(key: str) -> str | None:
    """The logical name in an interface key."""
    parts = _split(key, INTERFACE_PREFIX, 1)
    return parts[0] if parts else None


def route_key(dst_network: str, outgoing_interface: str) -> str:
    """Key of a LinuxRoute (``dst_network`` "net/len", canonicalised)."""
    return f"{ROUTE_PREFIX}{ipaddress.ip_network(dst_network)}/{outgoing_interface}"


def parse_route_key(key: str) -> tuple[str, str] | None:
    """(dst network, outgoing interface) of a route key."""
    parts = _split(key, ROUTE_PREFIX, 3)
    return (f"{parts[0]}/{parts[1]}", parts[2]) if parts else None


def arp_key(interface: str, ip_address: str) -> str:
    """Key of a LinuxARP."""
    return f"{ARP_PREFIX}{interface}/{ipaddress.ip_address(ip_address)}"


def parse_arp_key(key: str) -> tuple[str, str] | None:
    """(interface, ip) of an ARP key."""
    parts = _split(key, ARP_PREFIX, 2)
    return (parts[0], parts[1]) if parts else None


def netns_key(netns: NetnsRef) -> str:
    """Key of a namespace value."""
    return NETNS_PREFIX + netns.path.lstrip("/")


def parse_netns_key(key: str) -> NetnsRef | None:
    """The namespace of a netns key."""
    if not key.startswith(NETNS_PREFIX) or len(key) == len(NETNS_PREFIX):
        return None
    return NetnsRef("/" + key[len(NETNS_PREFIX) :])


def vpp_interface_key(name: str) -> str:
    """Key of a VPP interface (the VPP models' layout)."""
    return VPP_INTERFACE_PREFIX + name


# --- derived values ------------------------------------------------------------------------


def interface_address_prefix(interface: str) -> str:
    """Prefix of every address key of one interface."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}/{_ADDRESS}/"


def interface_address_key(interface: str, address: str) -> str:
    """Key of one address ("ip/len", canonicalised) of an interface."""
    return interface_address_prefix(interface) + str(ipaddress.ip_interface(address))


def parse_interface_address_key(key: str) -> tuple[str, str] | None:
    """(interface, "ip/len") of an address key."""
    parts = _split(key, DERIVED_INTERFACE_PREFIX, 4)
    if parts is None or parts[1] != _ADDRESS or parts[0] in _RESERVED:
        return None
    return parts[0], f"{parts[2]}/{parts[3]}"


def link_route_prefix(interface: str) -> str:
    """Prefix of every link-scope-route property of one interface."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}/{_LINK_ROUTE}/"


def link_route_key(interface: str, dst_network: str) -> str:
    """Key of the property "a link-scope route to dst_network exists out interface"."""
    return link_route_prefix(interface) + str(ipaddress.ip_network(dst_network))


def parse_link_route_key(key: str) -> tuple[str, str] | None:
    """(interface, "net/len") of a link-scope-route key."""
    parts = _split(key, DERIVED_INTERFACE_PREFIX, 4)
    if parts is None or parts[1] != _LINK_ROUTE or parts[0] in _RESERVED:
        return None
    return parts[0], f"{parts[2]}/{parts[3]}"


def host_interface_key(host_if_name: str, netns: NetnsRef | None = None) -> str:
    """Key of the property "link host_if_name of ours exists in netns"."""
    key = HOST_INTERFACE_PREFIX + host_if_name
    return key if netns is None else key + _NETNS + netns.path.lstrip("/")


def parse_host_interface_key(key: str) -> tuple[str, NetnsRef | None] | None:
    """(host name, namespace) of a host-interface key."""
    if not key.startswith(HOST_INTERFACE_PREFIX):
        return None
    rest = key[len(HOST_INTERFACE_PREFIX) :]
    name, sep, path = rest.partition(_NETNS)
    if not name or "/" in name or (sep and not path):
        return None
    return name, (NetnsRef("/" + path) if sep else None)
