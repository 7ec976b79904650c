"""Validation of desired interfaces: which field is wrong, and why.

In: an interface key and its :class:`~contivpy.models.Interface`. Out: nothing, or
:class:`~contivpy.scheduler.InvalidValueError` naming the field ("ip_addresses[1]: not an IP
network", "link.vni: must be 1..16777215", "name: longer than 63 characters"). Limits are
VPP's (ring sizes, VNI, VLAN ids, memif secret length) and Linux's (interface names).
"""

from __future__ import annotations

from contivpy.descriptors.value_checks import (
    check_interface_address,
    check_interface_name,
    check_ip,
    check_key,
    check_mac,
    check_power_of_two,
    check_range,
    check_vrf,
)
from contivpy.models.vpp_interfaces import (
    LINK_TYPES,
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import interface_key, parse_interface_address
from contivpy.scheduler import InvalidValueError

MAX_MTU = 9216
MIN_MTU = 64
MAX_VNI = (1 << 24) - 1
MAX_VLAN = 4095
#: Linux keeps interface names in 16 bytes with the NUL
MAX_LINUX_NAME = 15
MAX_TAP_RING = 32768
MAX_MEMIF_RING = 1 << 15
#: memif_create_v2's secret is a string[24]
MAX_MEMIF_SECRET = 24
MAX_SOCKET_PATH = 107


def validate_interface(key: str, value: object) -> None:
    """Raise InvalidValueError naming the first wrong field of an interface value."""
    if not isinstance(value, Interface):
        raise InvalidValueError("value", f"expected an Interface, got {type(value).__name__}")
    check_interface_name("name", value.name)
    check_key(key, interface_key(value.name))
    if not isinstance(value.type, InterfaceType) or value.type is InterfaceType.UNDEFINED:
        raise InvalidValueError("type", "must be one of the interface types contivpy creates")
    check_mac("phys_address", value.phys_address)
    if value.phys_address and value.type is InterfaceType.SUB_INTERFACE:
        raise InvalidValueError("phys_address", "a sub-interface always has its parent's MAC")
    if (
        value.phys_address
        and isinstance(value.link, MemifLink)
        and value.link.mode is not MemifMode.ETHERNET
    ):
        raise InvalidValueError("phys_address", "a memif that carries no Ethernet has no MAC")
    if value.mtu != 0:
        check_range("mtu", value.mtu, MIN_MTU, MAX_MTU)
    check_vrf("vrf", value.vrf)
    _check_addresses(value)
    _check_link(value)


def _check_addresses(value: Interface) -> None:
    seen: set[str] = set()
    for i, address in enumerate(value.ip_addresses):
        canonical = check_interface_address(f"ip_addresses[{i}]", address)
        if canonical in seen:
            raise InvalidValueError(f"ip_addresses[{i}]", f"{canonical} is listed twice")
        seen.add(canonical)
    if value.unnumbered is not None:
        check_interface_name("unnumbered", value.unnumbered)
        if value.unnumbered == value.name:
            raise InvalidValueError("unnumbered", "an interface cannot borrow its own addresses")
        if value.ip_addresses:
            raise InvalidValueError(
                "unnumbered", "an unnumbered interface has no addresses of its own"
            )


def _check_link(value: Interface) -> None:
    expected = LINK_TYPES[value.type]
    link = value.link
    if expected is None:
        if link is not None:
            raise InvalidValueError("link", f"a {value.type.value} interface takes no link")
        return
    if not isinstance(link, expected):
        raise InvalidValueError(
            "link", f"a {value.type.value} interface needs a {expected.__name__}"
        )
    if isinstance(link, TapLink):
        _check_tap(link)
    elif isinstance(link, MemifLink):
        _check_memif(link)
    elif isinstance(link, AfPacketLink):
        _check_linux_name("link.host_if_name", link.host_if_name, optional=False)
    elif isinstance(link, SubInterfaceLink):
        check_interface_name("link.parent", link.parent)
        if link.parent == value.name:
            raise InvalidValueError("link.parent", "an interface cannot be its own parent")
        check_range("link.sub_id", link.sub_id, 1, MAX_VLAN)
        # a VLAN sub-interface matches one tag: VPP pops no more (INVALID_VLAN_TAG_COUNT)
        check_range("link.pop_tags", link.pop_tags, 0, 1)
    elif isinstance(link, VxlanLink):
        _check_vxlan(link)


def _check_linux_name(field: str, name: str, *, optional: bool) -> None:
    if optional and name == "":
        return
    if not name or len(name) > MAX_LINUX_NAME or "/" in name or any(c.isspace() for c in name):
        raise InvalidValueError(
            field, f"a Linux interface name: 1..{MAX_LINUX_NAME} characters, no '/' or spaces"
        )


def _check_tap(link: TapLink) -> None:
    _check_linux_name("link.host_if_name", link.host_if_name, optional=True)
    namespace = link.host_namespace
    if "/" in namespace and not namespace.startswith("/"):
        # VPP opens a name under /var/run/netns, an absolute path as it is, and "pid:<n>" as
        # /proc/<n>/ns/net; a relative path would silently resolve to nothing.
        raise InvalidValueError(
            "link.host_namespace", "a namespace name, an absolute path or pid:<n>"
        )
    check_mac("link.host_mac", link.host_mac)
    if link.host_mtu != 0:
        check_range("link.host_mtu", link.host_mtu, MIN_MTU, MAX_MTU)
    check_power_of_two("link.rx_ring_size", link.rx_ring_size, MAX_TAP_RING)
    check_power_of_two("link.tx_ring_size", link.tx_ring_size, MAX_TAP_RING)
    check_range("link.num_rx_queues", link.num_rx_queues, 1, 256)


def _check_memif(link: MemifLink) -> None:
    check_range("link.id", link.id, 0, 0xFFFFFFFF)
    check_range("link.socket_id", link.socket_id, 0, 0xFFFFFFFE)
    if link.socket_id == 0:
        if link.socket_filename not in ("", "/run/vpp/memif.sock"):
            raise InvalidValueError(
                "link.socket_filename", "socket 0 is VPP's default file; give another socket_id"
            )
    elif not link.socket_filename.startswith("/"):
        raise InvalidValueError("link.socket_filename", "must be an absolute path")
    if len(link.socket_filename) > MAX_SOCKET_PATH:
        raise InvalidValueError("link.socket_filename", f"longer than {MAX_SOCKET_PATH} bytes")
    if len(link.secret) > MAX_MEMIF_SECRET:
        raise InvalidValueError("link.secret", f"longer than {MAX_MEMIF_SECRET} characters")
    check_power_of_two("link.ring_size", link.ring_size, MAX_MEMIF_RING)
    check_range("link.buffer_size", link.buffer_size, 128, 65535)
    check_range("link.rx_queues", link.rx_queues, 1, 255)
    check_range("link.tx_queues", link.tx_queues, 1, 255)


def _check_vxlan(link: VxlanLink) -> None:
    src = check_ip("link.src_address", link.src_address)
    dst = check_ip("link.dst_address", link.dst_address)
    if src.version != dst.version:
        raise InvalidValueError("link.dst_address", "not of the source address's family")
    if src == dst:
        raise InvalidValueError("link.dst_address", "the same as the source address")
    check_range("link.vni", link.vni, 1, MAX_VNI)
    check_vrf("link.vrf", link.vrf)
    if link.multicast:
        check_interface_name("link.multicast", link.multicast)
        if not dst.is_multicast:
            raise InvalidValueError("link.multicast", "only for a multicast destination")
    elif dst.is_multicast:
        raise InvalidValueError("link.multicast", "a multicast destination needs an interface")


def address_family_is_v6(address: str) -> bool:
    """True for an IPv6 interface address (the value was validated)."""
    return parse_interface_address(address).version == 6
