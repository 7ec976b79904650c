"""Scheduler keys of VPP values, in vpp-agent's layout: one build/parse pair per kind.

In: names, ids, addresses. Out: key strings, and back: ``parse_*`` returns the parts of a key
of its kind, or None for any other key (descriptors use that to claim keys). Addresses,
networks and MACs are put into keys in canonical form (``canonical_*``), so a key built from a
desired value equals the one built from what VPP reports.

Base values (``config/...``, written by controllers)::

    config/vpp/v2/interfaces/<name>
    config/vpp/v2/vrf-table/id/<id>/protocol/<IPV4|IPV6>
    config/vpp/v2/route/[if/<out-if>/]vrf/<vrf>/dst/<ip>/<len>/gw/<gw or empty>
    config/vpp/v2/arp/<if>/<ip>
    config/vpp/v2/proxyarp-global
    config/vpp/l2/v2/bridge-domain/<name>
    config/vpp/l2/v2/fib/<bd>/mac/<mac>
    config/vpp/l2/v2/xconnect/<rx-if>
    config/vpp/acls/v2/acl/<acl name>
    config/vpp/acls/v2/interface/<if>                   (its input and output ACL lists)
    config/vpp/nat/v2/nat44-global
    config/vpp/nat/v2/nat44-interface/<if>
    config/vpp/nat/v2/nat44-address-pool/<first ip>-<last ip>
    config/vpp/nat/v2/nat44-mapping/<TCP|UDP|SCTP>/<external ip>/<external port>
    config/vpp/nat/v2/nat44-identity/vrf/<vrf>/<ip>[/<TCP|UDP|SCTP>/<port>]

Derived values (no ``config/``; produced by descriptors)::

    vpp/interface/<if>/address/static/<ip>/<len>
    vpp/interface/<if>/vrf/<id>/ip-version/<v4|v6>
    vpp/interface/<if>/vrf/from-interface/<numbered>     (property)
    vpp/interface/<if>/has-IP-address                    (property)
    vpp/interface/unnumbered/<if>
    vpp/bd/<bd>/interface/<if>
    vpp/proxyarp/interface/<if>

Interface names may contain "/" (``GigabitEthernet0/a/0``, ``memif1/0``) but no segment that
is a key word of the derived layouts (``interface_name_problem``), so every key parses one way
and a prefix such as ``vpp/interface/<if>/vrf/`` never matches another interface's keys.
Bridge-domain and ACL names contain no "/".
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from contivpy.models.vpp_l3 import IpProtocol

INTERFACE_PREFIX = "config/vpp/v2/interfaces/"
VRF_TABLE_PREFIX = "config/vpp/v2/vrf-table/"
ROUTE_PREFIX = "config/vpp/v2/route/"
ARP_PREFIX = "config/vpp/v2/arp/"
PROXY_ARP_GLOBAL_KEY = "config/vpp/v2/proxyarp-global"
BRIDGE_DOMAIN_PREFIX = "config/vpp/l2/v2/bridge-domain/"
L2FIB_PREFIX = "config/vpp/l2/v2/fib/"
XCONNECT_PREFIX = "config/vpp/l2/v2/xconnect/"
ACL_PREFIX = "config/vpp/acls/v2/acl/"
ACL_INTERFACE_PREFIX = "config/vpp/acls/v2/interface/"
NAT44_GLOBAL_KEY = "config/vpp/nat/v2/nat44-global"
NAT44_INTERFACE_PREFIX = "config/vpp/nat/v2/nat44-interface/"
NAT44_ADDRESS_PREFIX = "config/vpp/nat/v2/nat44-address-pool/"
NAT44_MAPPING_PREFIX = "config/vpp/nat/v2/nat44-mapping/"
NAT44_IDENTITY_PREFIX = "config/vpp/nat/v2/nat44-identity/"

DERIVED_INTERFACE_PREFIX = "vpp/interface/"
UNNUMBERED_PREFIX = "vpp/interface/unnumbered/"
BD_MEMBER_PREFIX = "vpp/bd/"
PROXY_ARP_INTERFACE_PREFIX = "vpp/proxyarp/interface/"

#: VPP keeps interface and bridge-domain tags in 64 bytes with the terminating NUL
MAX_NAME_LENGTH = 63
#: segments of the derived layouts; an interface name containing one could be misread
RESERVED_SEGMENTS = frozenset(
    {
        "address",
        "vrf",
        "unnumbered",
        "has-IP-address",
        "from-interface",
        "ip-version",
        "static",
        "vlan-tag-rewrite",
    }
)
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9._:@+=-]+")
_HAS_IP = "/has-IP-address"
_TAG_REWRITE = "/vlan-tag-rewrite"
_FROM_INTERFACE = "/vrf/from-interface/"


# --- canonical forms -----------------------------------------------------------------------


# Cached like the interface addresses below: a route's destination and next hop are parsed
# and printed by its validation, its key, its dependencies and its API call, about five times
# per route in a big transaction, and that dominated the agent's CPU per route. Parsed and
# canonical forms are kept together (a route needs both). Only text is cached: ipaddress
# also takes integers and bytes, which are parsed each time as before.
@functools.lru_cache(maxsize=1 << 16)
def _address(ip: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, str]:
    parsed = ipaddress.ip_address(ip)
    return parsed, str(parsed)


@functools.lru_cache(maxsize=1 << 16)
def _network(network: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]:
    parsed = ipaddress.ip_network(network)
    return parsed, str(parsed)


def parse_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address(ip)``, shared for equal text (ValueError when not one)."""
    return _address(ip)[0] if type(ip) is str else ipaddress.ip_address(ip)


def parse_network(network: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``ipaddress.ip_network(network)`` (host bits clear, else ValueError), shared for equal
    text; without a prefix length it is a host network, as ipaddress has it."""
    return _network(network)[0] if type(network) is str else ipaddress.ip_network(network)


def canonical_address(ip: str) -> str:
    """An IP address in canonical form (ValueError when it is not one)."""
    return _address(ip)[1] if type(ip) is str else str(ipaddress.ip_address(ip))


# Cached: every address of every desired interface is parsed again on each transaction that
# touches it and in its descriptors (validation, derived keys, the API call), so with a
# thousand pods the parsing was a visible share of a big transaction. The results are
# immutable and keyed by the text, so sharing them is safe; the bound keeps memory flat.
@functools.lru_cache(maxsize=1 << 16)
def parse_interface_address(address: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """An interface address "ip/len" parsed (ValueError when it is not one)."""
    if "/" not in address:
        raise ValueError(f"{address!r} has no prefix length")
    return ipaddress.ip_interface(address)


@functools.lru_cache(maxsize=1 << 16)
def canonical_interface_address(address: str) -> str:
    """An interface address "ip/len" in canonical form (ValueError when it is not one)."""
    return str(parse_interface_address(address))


def canonical_network(network: str) -> str:
    """A network "ip/len" in canonical form; host bits must be clear (ValueError otherwise)."""
    if "/" not in network:
        raise ValueError(f"{network!r} has no prefix length")
    return _network(network)[1] if type(network) is str else str(ipaddress.ip_network(network))


def canonical_mac(mac: str) -> str:
    """A MAC address as lower-case colon-separated hex (ValueError when it is not one)."""
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6 or not all(re.fullmatch(r"[0-9A-Fa-f]{1,2}", p) for p in parts):
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(f"{int(p, 16):02x}" for p in parts)


# --- names ---------------------------------------------------------------------------------


def interface_name_problem(name: str) -> str:
    """Why ``name`` cannot name an interface in keys (and VPP tags), or ""."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} characters"
    for segment in name.split("/"):
        if not segment:
            return "must not start or end with '/' or contain '//'"
        if not _NAME_SEGMENT.fullmatch(segment):
            return f"segment {segment!r} has characters other than letters, digits and ._:@+=-"
        if segment in RESERVED_SEGMENTS:
            return f"segment {segment!r} is reserved by the key layout"
    return ""


def bridge_domain_name_problem(name: str) -> str:
    """Why ``name`` cannot name a bridge domain, or ""."""
    if "/" in name:
        return "must not contain '/'"
    return interface_name_problem(name)


def acl_name_problem(name: str) -> str:
    """Why ``name`` cannot name an ACL (its key, and its tag in VPP), or ""."""
    return bridge_domain_name_problem(name)


# --- base values -----------------------------------------------------------------------------


def interface_key(name: str) -> str:
    """Key of the interface ``name``."""
    return INTERFACE_PREFIX + name


def parse_interface_key(key: str) -> str | None:
    """The interface name of an interface key."""
    if not key.startswith(INTERFACE_PREFIX) or len(key) == len(INTERFACE_PREFIX):
        return None
    return key[len(INTERFACE_PREFIX) :]


def vrf_table_key(table_id: int, protocol: IpProtocol) -> str:
    """Key of VRF table ``table_id`` of one family."""
    return f"{VRF_TABLE_PREFIX}id/{table_id}/protocol/{protocol.value}"


def parse_vrf_table_key(key: str) -> tuple[int, IpProtocol] | None:
    """(table id, protocol) of a VRF table key."""
    if not key.startswith(VRF_TABLE_PREFIX):
        return None
    parts = key[len(VRF_TABLE_PREFIX) :].split("/")
    if len(parts) != 4 or parts[0] != "id" or parts[2] != "protocol" or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), IpProtocol(parts[3])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RouteKeyParts:
    """What a route key says: VRF, destination, next hop ("" none), interface ("" none)."""

    vrf: int
    dst_network: str
    next_hop: str = ""
    outgoing_interface: str = ""


def route_key(vrf: int, dst_network: str, next_hop: str = "", outgoing_interface: str = "") -> str:
    """Key of a route (one path of it: next hop and/or outgoing interface)."""
    # str() of a network is "<network address>/<prefix length>", a host network's included
    dst = _network(dst_network)[1] if type(dst_network) is str else str(parse_network(dst_network))
    gw = canonical_address(next_hop) if next_hop else ""
    head = f"if/{outgoing_interface}/" if outgoing_interface else ""
    return f"{ROUTE_PREFIX}{head}vrf/{vrf}/dst/{dst}/gw/{gw}"


def parse_route_key(key: str) -> RouteKeyParts | None:
    """The parts of a route key."""
    if not key.startswith(ROUTE_PREFIX):
        return None
    parts = key[len(ROUTE_PREFIX) :].split("/")
    if len(parts) < 7:
        return None
    head, (vrf_word, vrf, dst_word, ip, length, gw_word, gw) = parts[:-7], parts[-7:]
    if (vrf_word, dst_word, gw_word) != ("vrf", "dst", "gw") or not vrf.isdigit():
        return None
    interface = ""
    if head:
        if head[0] != "if" or len(head) < 2:
            return None
        interface = "/".join(head[1:])
    try:
        network = canonical_network(f"{ip}/{length}")
        next_hop = canonical_address(gw) if gw else ""
    except ValueError:
        return None
    return RouteKeyParts(int(vrf), network, next_hop, interface)


def arp_key(interface: str, ip_address: str) -> str:
    """Key of the static neighbour ``ip_address`` on ``interface``."""
    return f"{ARP_PREFIX}{interface}/{canonical_address(ip_address)}"


def parse_arp_key(key: str) -> tuple[str, str] | None:
    """(interface, IP address) of a neighbour key."""
    if not key.startswith(ARP_PREFIX):
        return None
    interface, _, ip = key[len(ARP_PREFIX) :].rpartition("/")
    if not interface:
        return None
    try:
        return interface, canonical_address(ip)
    except ValueError:
        return None


def bridge_domain_key(name: str) -> str:
    """Key of the bridge domain ``name``."""
    return BRIDGE_DOMAIN_PREFIX + name


def parse_bridge_domain_key(key: str) -> str | None:
    """The bridge-domain name of a bridge-domain key."""
    if not key.startswith(BRIDGE_DOMAIN_PREFIX):
        return None
    name = key[len(BRIDGE_DOMAIN_PREFIX) :]
    return name if name and "/" not in name else None


def l2fib_key(bridge_domain: str, mac: str) -> str:
    """Key of the L2 FIB entry for ``mac`` in ``bridge_domain``."""
    return f"{L2FIB_PREFIX}{bridge_domain}/mac/{canonical_mac(mac)}"


def parse_l2fib_key(key: str) -> tuple[str, str] | None:
    """(bridge domain, MAC) of an L2 FIB key."""
    if not key.startswith(L2FIB_PREFIX):
        return None
    parts = key[len(L2FIB_PREFIX) :].split("/")
    if len(parts) != 3 or parts[1] != "mac" or not parts[0]:
        return None
    try:
        return parts[0], canonical_mac(parts[2])
    except ValueError:
        return None


def xconnect_key(receive_interface: str) -> str:
    """Key of the cross-connect of frames received on ``receive_interface``."""
    return XCONNECT_PREFIX + receive_interface


def parse_xconnect_key(key: str) -> str | None:
    """The receive interface of a cross-connect key."""
    if not key.startswith(XCONNECT_PREFIX) or len(key) == len(XCONNECT_PREFIX):
        return None
    return key[len(XCONNECT_PREFIX) :]


def acl_key(name: str) -> str:
    """Key of the ACL ``name``."""
    return ACL_PREFIX + name


def parse_acl_key(key: str) -> str | None:
    """The ACL name of an ACL key."""
    if not key.startswith(ACL_PREFIX) or len(key) == len(ACL_PREFIX):
        return None
    return key[len(ACL_PREFIX) :]


def acl_interface_key(interface: str) -> str:
    """Key of the ACL lists applied to ``interface``."""
    return ACL_INTERFACE_PREFIX + interface


def parse_acl_interface_key(key: str) -> str | None:
    """The interface of an ACL-lists key."""
    if not key.startswith(ACL_INTERFACE_PREFIX) or len(key) == len(ACL_INTERFACE_PREFIX):
        return None
    return key[len(ACL_INTERFACE_PREFIX) :]


def nat44_interface_key(interface: str) -> str:
    """Key of the NAT features of ``interface``."""
    return NAT44_INTERFACE_PREFIX + interface


def parse_nat44_interface_key(key: str) -> str | None:
    """The interface of a NAT-features key."""
    if not key.startswith(NAT44_INTERFACE_PREFIX) or len(key) == len(NAT44_INTERFACE_PREFIX):
        return None
    return key[len(NAT44_INTERFACE_PREFIX) :]


def nat44_address_key(first_ip: str, last_ip: str = "") -> str:
    """Key of the NAT pool range ``first_ip``..``last_ip`` ("" = one address)."""
    first = canonical_address(first_ip)
    return f"{NAT44_ADDRESS_PREFIX}{first}-{canonical_address(last_ip) if last_ip else first}"


def nat44_mapping_key(protocol: str, external_ip: str, external_port: int) -> str:
    """Key of the mapping of (``protocol`` name, external address, external port)."""
    return f"{NAT44_MAPPING_PREFIX}{protocol}/{canonical_address(external_ip)}/{external_port}"


def nat44_identity_key(vrf: int, ip: str, protocol: str = "", port: int = 0) -> str:
    """Key of the identity of ``ip`` in ``vrf`` (every port when ``protocol`` is "")."""
    head = f"{NAT44_IDENTITY_PREFIX}vrf/{vrf}/{canonical_address(ip)}"
    return f"{head}/{protocol}/{port}" if protocol else head


# --- derived values ----------------------------------------------------------------------------


def interface_address_prefix(interface: str) -> str:
    """Prefix of every address key of ``interface``."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}/address/"


def interface_address_key(interface: str, address: str) -> str:
    """Key of one (static) address of ``interface``."""
    return f"{interface_address_prefix(interface)}static/{canonical_interface_address(address)}"


def parse_interface_address_key(key: str) -> tuple[str, str] | None:
    """(interface, canonical address) of an address key."""
    if not key.startswith(DERIVED_INTERFACE_PREFIX):
        return None
    parts = key[len(DERIVED_INTERFACE_PREFIX) :].split("/")
    if len(parts) < 5 or parts[-4:-2] != ["address", "static"]:
        return None
    try:
        address = canonical_interface_address(f"{parts[-2]}/{parts[-1]}")
    except ValueError:
        return None
    return "/".join(parts[:-4]), address


def interface_vrf_prefix(interface: str) -> str:
    """Prefix of the VRF-binding keys of ``interface`` (both forms)."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}/vrf/"


def interface_vrf_key(interface: str, vrf: int, ipv6: bool) -> str:
    """Key of ``interface`` bound to VRF ``vrf`` for one address family."""
    return f"{interface_vrf_prefix(interface)}{vrf}/ip-version/{'v6' if ipv6 else 'v4'}"


def parse_interface_vrf_key(key: str) -> tuple[str, int, bool] | None:
    """(interface, VRF, is IPv6) of a VRF-binding key."""
    if not key.startswith(DERIVED_INTERFACE_PREFIX):
        return None
    parts = key[len(DERIVED_INTERFACE_PREFIX) :].split("/")
    if len(parts) < 5 or parts[-4] != "vrf" or parts[-2] != "ip-version":
        return None
    if not parts[-3].isdigit() or parts[-1] not in ("v4", "v6"):
        return None
    return "/".join(parts[:-4]), int(parts[-3]), parts[-1] == "v6"


def inherited_vrf_key(interface: str, numbered: str) -> str:
    """Key of unnumbered ``interface`` being in the VRF of ``numbered``."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}{_FROM_INTERFACE}{numbered}"


def parse_inherited_vrf_key(key: str) -> tuple[str, str] | None:
    """(interface, numbered interface) of an inherited-VRF key."""
    if not key.startswith(DERIVED_INTERFACE_PREFIX):
        return None
    interface, found, numbered = key[len(DERIVED_INTERFACE_PREFIX) :].partition(_FROM_INTERFACE)
    if not found or not interface or not numbered:
        return None
    return interface, numbered


def has_ip_address_key(interface: str) -> str:
    """Key of the property "``interface`` has at least one address"."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}{_HAS_IP}"


def parse_has_ip_address_key(key: str) -> str | None:
    """The interface of a has-IP-address key."""
    if not key.startswith(DERIVED_INTERFACE_PREFIX) or not key.endswith(_HAS_IP):
        return None
    interface = key[len(DERIVED_INTERFACE_PREFIX) : -len(_HAS_IP)]
    return interface or None


def tag_rewrite_key(interface: str) -> str:
    """Key of ``interface``'s L2 VLAN tag rewrite."""
    return f"{DERIVED_INTERFACE_PREFIX}{interface}{_TAG_REWRITE}"


def parse_tag_rewrite_key(key: str) -> str | None:
    """The interface of a VLAN tag rewrite key."""
    if not key.startswith(DERIVED_INTERFACE_PREFIX) or not key.endswith(_TAG_REWRITE):
        return None
    interface = key[len(DERIVED_INTERFACE_PREFIX) : -len(_TAG_REWRITE)]
    return interface or None


def unnumbered_key(interface: str) -> str:
    """Key of ``interface``'s unnumbered binding."""
    return UNNUMBERED_PREFIX + interface


def parse_unnumbered_key(key: str) -> str | None:
    """The interface of an unnumbered-binding key."""
    if not key.startswith(UNNUMBERED_PREFIX) or len(key) == len(UNNUMBERED_PREFIX):
        return None
    return key[len(UNNUMBERED_PREFIX) :]


def bd_member_key(bridge_domain: str, interface: str) -> str:
    """Key of ``interface``'s membership in ``bridge_domain``."""
    return f"{BD_MEMBER_PREFIX}{bridge_domain}/interface/{interface}"


def parse_bd_member_key(key: str) -> tuple[str, str] | None:
    """(bridge domain, interface) of a membership key."""
    if not key.startswith(BD_MEMBER_PREFIX):
        return None
    bd, _, rest = key[len(BD_MEMBER_PREFIX) :].partition("/")
    interface = rest.removeprefix("interface/")
    if not bd or interface == rest or not interface:
        return None
    return bd, interface


def proxy_arp_interface_key(interface: str) -> str:
    """Key of proxy ARP enabled on ``interface``."""
    return PROXY_ARP_INTERFACE_PREFIX + interface


def parse_proxy_arp_interface_key(key: str) -> str | None:
    """The interface of a proxy-ARP-interface key."""
    if not key.startswith(PROXY_ARP_INTERFACE_PREFIX):
        return None
    return key[len(PROXY_ARP_INTERFACE_PREFIX) :] or None
