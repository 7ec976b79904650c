"""Typed, documented settings of the node agent, with Contiv-VPP's defaults.

In: a mapping (from a YAML/JSON file or tests). Out: frozen settings, validated once at start;
any invalid value raises ConfigError naming the setting (``ipam.podSubnetCIDR: ...``).
Field names follow Contiv's ``contiv.conf`` (camelCase in files) so its operators feel at home.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

from contivpy.errors import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


_POD_SUBNET_CIDR: IPNetwork = ipaddress.ip_network("10.1.0.0/16")
_VPP_HOST_SUBNET_CIDR: IPNetwork = ipaddress.ip_network("172.30.0.0/16")
_NODE_INTERCONNECT_CIDR: IPNetwork = ipaddress.ip_network("192.168.16.0/24")
_VXLAN_CIDR: IPNetwork = ipaddress.ip_network("192.168.30.0/24")
_SERVICE_CIDR: IPNetwork = ipaddress.ip_network("10.96.0.0/12")


class Transport(enum.Enum):
    """How pod traffic crosses between nodes."""

    VXLAN = "vxlan"
    NOOVERLAY = "nooverlay"


@dataclass(frozen=True, slots=True)
class IpamSettings:
    """Address plan. Every per-node range is the node ID-th slice of a cluster range."""

    pod_subnet_cidr: IPNetwork = _POD_SUBNET_CIDR
    pod_subnet_one_node_prefix_len: int = 24
    vpp_host_subnet_cidr: IPNetwork = _VPP_HOST_SUBNET_CIDR
    vpp_host_subnet_one_node_prefix_len: int = 24
    node_interconnect_cidr: IPNetwork = _NODE_INTERCONNECT_CIDR
    vxlan_cidr: IPNetwork = _VXLAN_CIDR
    service_cidr: IPNetwork = _SERVICE_CIDR
    default_gateway: IPAddress | None = None

    def validate(self) -> None:
        """Raise ConfigError naming the first inconsistent setting."""
        _slices(
            "ipam.podSubnetOneNodePrefixLen",
            self.pod_subnet_cidr,
            self.pod_subnet_one_node_prefix_len,
            min_hosts=4,
        )
        _slices(
            "ipam.vppHostSubnetOneNodePrefixLen",
            self.vpp_host_subnet_cidr,
            self.vpp_host_subnet_one_node_prefix_len,
            min_hosts=4,
        )
        families = {
            "ipam.podSubnetCIDR": self.pod_subnet_cidr,
            "ipam.vppHostSubnetCIDR": self.vpp_host_subnet_cidr,
            "ipam.nodeInterconnectCIDR": self.node_interconnect_cidr,
            "ipam.vxlanCIDR": self.vxlan_cidr,
            "ipam.serviceCIDR": self.service_cidr,
        }
        if len({n.version for n in families.values()}) != 1:
            raise ConfigError("ipam: all CIDRs must be of one IP family")
        ranges = list(families.items())
        for i, (name_a, a) in enumerate(ranges):
            for name_b, b in ranges[i + 1 :]:
                if a.overlaps(b):
                    raise ConfigError(f"{name_a} {a} overlaps {name_b} {b}")


@dataclass(frozen=True, slots=True)
class InterfaceSettings:
    """How VPP is wired to the node and to pods."""

    main_interface: str = ""  # DPDK NIC name, or "" for the loopback fallback
    main_host_interface: str = ""  # Linux link to attach with af_packet (dev, docker compose)
    use_tap_interfaces: bool = True  # False: veth pairs + af_packet (no /dev/vhost-net needed)
    #: veth mode: TX checksum offload off on every veth end (TCP and UDP through af_packet
    #: need complete checksums)
    tcp_checksum_offload_disabled: bool = True
    tap_rx_ring_size: int = 256
    tap_tx_ring_size: int = 256
    mtu_size: int = 1450

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid setting."""
        for name in ("tap_rx_ring_size", "tap_tx_ring_size"):
            size = getattr(self, name)
            if size and (size & (size - 1) or not 64 <= size <= 32768):
                raise ConfigError(
                    f"interfaces.{camel_case(name)}: {size} is not a power of 2 in 64..32768"
                )
        if not 576 <= self.mtu_size <= 9216:
            raise ConfigError(f"interfaces.mtuSize: {self.mtu_size} is outside 576..9216")
        if self.main_interface and self.main_host_interface:
            raise ConfigError(
                "interfaces: give mainInterface (a DPDK NIC) or mainHostInterface "
                "(af_packet), not both"
            )


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Everything the node agent needs to know before its first event."""

    node_name: str = ""
    transport: Transport = Transport.VXLAN
    vxlan_vni: int = 10
    main_vrf_id: int = 0
    pod_vrf_id: int = 1
    ipam: IpamSettings = field(default_factory=IpamSettings)
    interfaces: InterfaceSettings = field(default_factory=InterfaceSettings)

    def validate(self) -> AgentSettings:
        """Check every section; returns self so it chains after loading."""
        if not self.node_name:
            raise ConfigError("nodeName: required (the Kubernetes node this agent serves)")
        if not 1 <= self.vxlan_vni <= 0xFFFFFF:
            raise ConfigError(f"vxlanVNI: {self.vxlan_vni} is outside 1..16777215")
        if self.main_vrf_id == self.pod_vrf_id:
            raise ConfigError(f"podVRFID: must differ from mainVRFID ({self.main_vrf_id})")
        self.ipam.validate()
        self.interfaces.validate()
        return self


T = TypeVar("T")


_SECTIONS = (IpamSettings, InterfaceSettings)  # settings nested under a key of their own


def load_agent_settings(raw: Mapping[str, Any]) -> AgentSettings:
    """Build AgentSettings from a camelCase mapping (a parsed config file), validated."""
    settings = _build(AgentSettings(), raw, "")
    return settings.validate()


def setting_keys() -> list[str]:
    """Every key ``load_agent_settings`` accepts, nested ones dotted (``ipam.podSubnetCIDR``),
    in declaration order. Derived from the dataclasses above, the one definition of them."""
    return _keys(AgentSettings(), "")


def _keys(default: Any, prefix: str) -> list[str]:
    keys: list[str] = []
    for spec in fields(default):
        key = prefix + camel_case(spec.name)
        value = getattr(default, spec.name)
        keys += _keys(value, key + ".") if isinstance(value, _SECTIONS) else [key]
    return keys


def _build(default: T, raw: Mapping[str, Any], path: str) -> T:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path.rstrip('.') or 'config'}: expected a mapping")
    known = {camel_case(f.name): f for f in fields(default)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        spec = known.get(key)
        name = f"{path}{key}"
        if spec is None:
            raise ConfigError(f"{name}: unknown setting (known: {', '.join(sorted(known))})")
        current = getattr(default, spec.name)
        changes[spec.name] = _convert(current, value, name)
    return replace(default, **changes)  # type: ignore[type-var]


def _convert(current: Any, value: Any, name: str) -> Any:
    try:
        if isinstance(current, _SECTIONS):
            return _build(current, value, name + ".")
        if isinstance(current, enum.Enum):
            return type(current)(value)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise TypeError("expected true or false")
            return value
        if isinstance(current, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("expected an integer")
            return value
        if isinstance(current, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return ipaddress.ip_network(str(value))
        if current is None or isinstance(current, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return None if value in (None, "") else ipaddress.ip_address(str(value))
        if isinstance(current, str):
            if not isinstance(value, str):
                raise TypeError("expected a string")
            return value
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}: {error}") from error
    raise ConfigError(f"{name}: unsupported setting type")


def _slices(name: str, network: IPNetwork, prefix_len: int, *, min_hosts: int) -> None:
    if not network.prefixlen < prefix_len <= network.max_prefixlen:
        raise ConfigError(
            f"{name}: {prefix_len} must be longer than the cluster prefix /{network.prefixlen}"
        )
    if 2 ** (network.max_prefixlen - prefix_len) < min_hosts:
        raise ConfigError(f"{name}: /{prefix_len} leaves fewer than {min_hosts} addresses per node")


def camel_case(snake: str) -> str:
    """``pod_subnet_cidr`` -> ``podSubnetCIDR``: a field name as config files spell it."""
    head, *rest = snake.split("_")
    special = {"cidr": "CIDR", "vni": "VNI", "vrf": "VRF", "id": "ID"}
    return head + "".join(special.get(p, p.capitalize()) for p in rest)
