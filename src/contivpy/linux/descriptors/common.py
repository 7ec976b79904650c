"""What the Linux descriptors share: interface metadata, locating an interface, value checks.

In: the scheduler's MetadataView and values being validated. Out: :class:`LinuxInterfaceMeta`
(what the interface descriptor records for each applied interface: kernel index, host name,
namespace), :func:`locate` (where a logical interface is, for routes and ARPs), and checks
that raise InvalidValueError naming the field.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from contivpy.linux import keys
from contivpy.linux.errors import LinkNotFoundError
from contivpy.linux.netlink_types import NetnsRef
from contivpy.scheduler import InvalidValueError, MetadataView

_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


@dataclass(frozen=True, slots=True)
class LinuxInterfaceMeta:
    """Where an applied interface is in the kernel."""

    index: int
    host_if_name: str
    namespace: NetnsRef | None


def locate(view: MetadataView, interface: str) -> LinuxInterfaceMeta:
    """The metadata of an applied interface; LinkNotFoundError when it is not applied."""
    meta = view.metadata(keys.interface_key(interface))
    if not isinstance(meta, LinuxInterfaceMeta):
        raise LinkNotFoundError(interface, "the applied interfaces")
    return meta


def find(view: MetadataView, interface: str) -> LinuxInterfaceMeta | None:
    """The metadata of an applied interface, or None."""
    meta = view.metadata(keys.interface_key(interface))
    return meta if isinstance(meta, LinuxInterfaceMeta) else None


def canonical_mac(mac: str) -> str:
    """A MAC address in lower case (ValueError when it is not "xx:xx:xx:xx:xx:xx")."""
    lowered = mac.lower().replace("-", ":")
    if not _MAC.fullmatch(lowered):
        raise ValueError(f"not a MAC address: {mac!r}")
    return lowered


def check_type(value: object, expected: type, key: str) -> None:
    """InvalidValueError when ``value`` is not an ``expected``."""
    if not isinstance(value, expected):
        raise InvalidValueError("value", f"{key}: expected {expected.__name__}, got {value!r}")


def check_key(key: str, expected: str) -> None:
    """InvalidValueError when the key does not match the value's own key."""
    if key != expected:
        raise InvalidValueError("key", f"{key} does not match the value (expected {expected})")


def check_name(field: str, name: str) -> None:
    """InvalidValueError when ``name`` is not a usable logical interface name."""
    problem = keys.logical_name_problem(name)
    if problem:
        raise InvalidValueError(field, problem)


def check_mac(field: str, mac: str) -> None:
    """InvalidValueError when ``mac`` is not a MAC address."""
    try:
        canonical_mac(mac)
    except ValueError as error:
        raise InvalidValueError(field, str(error)) from None


def check_ip(field: str, ip: str) -> None:
    """InvalidValueError when ``ip`` is not an IP address."""
    try:
        ipaddress.ip_address(ip)
    except ValueError as error:
        raise InvalidValueError(field, str(error)) from None


def check_namespace(field: str, netns: object) -> None:
    """InvalidValueError when ``netns`` is neither None nor a NetnsRef."""
    if netns is not None and not isinstance(netns, NetnsRef):
        raise InvalidValueError(field, f"expected a NetnsRef or None, got {netns!r}")
