"""vpp-agent's northbound configuration in etcd: keys and JSON values <-> contivpy's models.

In: a key relative to a microservice's prefix (``config/vpp/v2/interfaces/memif1``) and its
stored JSON (vpp-agent's protojson: proto field names, enums by name), or a model value. Out:
the model (:func:`decode_value`), or the key and bytes of a model (:func:`value_key`,
:func:`encode_value`). Any problem raises :class:`VnfConfigError` naming the key and the field.

Layout (vpp-agent's, which Contiv-VPP wrote for CNFs)::

    /vnf-agent/<microservice-label>/config/<module, dots as slashes>/<version>/<type>/<name>

Supported models (what contivpy's descriptors apply), by (module, version, type):

- ``vpp v2 interfaces`` -> :class:`Interface` (SOFTWARE_LOOPBACK, DPDK, MEMIF, TAP, AF_PACKET,
  SUB_INTERFACE, VXLAN_TUNNEL); ``vpp v2 vrf-table`` -> :class:`VrfTable`; ``vpp v2 route`` ->
  :class:`Route`; ``vpp v2 arp`` -> :class:`IPNeighbor`;
- ``vpp.l2 v2 bridge-domain`` / ``fib`` / ``xconnect`` -> :class:`BridgeDomain`,
  :class:`L2FIB`, :class:`XConnect`;
- ``linux.interfaces v2 interface`` -> :class:`~contivpy.linux.models.LinuxInterface`;
- ``netalloc v1 ip`` -> :class:`IPAllocation`.

Decoding follows proto3 defaults where they differ from the models' (a memif without
``master`` is a slave, a bridge domain without ``flood`` does not flood); a ring size,
queue count or weight of 0 means VPP's default. A memif's socket id (VPP registers each
socket file under an id) is not in vpp-agent's model: it is derived from the file name
(:func:`memif_socket_id`), so one file always gets the same id. Fields of vpp-agent's model
that contivpy does not apply are refused when set (not silently dropped); encoding refuses
model fields vpp-agent's model cannot carry. Encoded values omit defaults and sort their keys:
one value always gives the same bytes.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.linux.netlink_types import NETNS_RUN_DIR, NetnsRef
from contivpy.models.vnf_fields import Message, VnfFieldError
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import arp_key, l2fib_key, route_key, vrf_table_key
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain, L2FIBAction, XConnect
from contivpy.models.vpp_l3 import IPNeighbor, IpProtocol, Route, RouteType, VrfTable

VNF_AGENT_PREFIX = "/vnf-agent/"
CONFIG = "config/"
#: the socket file VPP opens itself (socket id 0)
DEFAULT_MEMIF_SOCKET = "/run/vpp/memif.sock"
_VERSION = re.compile(r"v[0-9]+")
_LABEL = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class IPAllocation:
    """netalloc's record of an IP address given to an interface in a network (vpp-agent's
    ``IPAllocation``): ``address`` "ip/len", ``gw`` the network's gateway ("" none)."""

    network_name: str
    interface_name: str
    address: str
    gw: str = ""


VnfValue: TypeAlias = (
    Interface
    | VrfTable
    | Route
    | IPNeighbor
    | BridgeDomain
    | L2FIB
    | XConnect
    | LinuxInterface
    | IPAllocation
)


class VnfConfigError(ValueError):
    """A key or value that is not valid vpp-agent configuration contivpy can apply: ``key``
    names the key (or the item), ``field`` the field ("" for the key itself)."""

    def __init__(self, key: str, field: str, problem: str) -> None:
        where = f"{key}: field '{field}'" if field else key
        super().__init__(f"{where}: {problem}")
        self.key = key
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ModelId:
    """A vpp-agent model: module (``vpp.l2``), version (``v2``) and type (``xconnect``)."""

    module: str
    version: str
    type: str

    @property
    def prefix(self) -> str:
        """``config/<module with / for .>/<version>/<type>/``: where its values live."""
        return f"{CONFIG}{self.module.replace('.', '/')}/{self.version}/{self.type}/"

    def key(self, name: str) -> str:
        """The key of the value ``name`` of this model (relative to the microservice)."""
        return self.prefix + name

    def __str__(self) -> str:
        return f"{self.module} {self.version} {self.type}"


# --- keys ----------------------------------------------------------------------------------


def microservice_label_problem(label: str) -> str:
    """Why ``label`` cannot name a microservice's etcd subtree, or ""."""
    if not label:
        return "must not be empty"
    if not _LABEL.fullmatch(label):
        return "has characters other than letters, digits and ._-"
    return ""


def microservice_prefix(label: str) -> str:
    """``/vnf-agent/<label>/``: everything of one microservice (ValueError for a bad label)."""
    problem = microservice_label_problem(label)
    if problem:
        raise ValueError(f"microservice label {label!r}: {problem}")
    return f"{VNF_AGENT_PREFIX}{label}/"


def config_prefix(label: str) -> str:
    """``/vnf-agent/<label>/config/``: the configuration a microservice's agent applies."""
    return microservice_prefix(label) + CONFIG


def parse_config_key(key: str) -> tuple[ModelId, str] | None:
    """(model, name) of ``config/<module...>/<vN>/<type>/<name>``, known model or not; None
    for a key of another shape."""
    if not key.startswith(CONFIG):
        return None
    parts = key[len(CONFIG) :].split("/")
    for index, part in enumerate(parts):
        if _VERSION.fullmatch(part):
            if index == 0 or len(parts) < index + 3:
                return None
            module = ".".join(parts[:index])
            name = "/".join(parts[index + 2 :])
            return (ModelId(module, part, parts[index + 1]), name) if name else None
    return None


# --- the models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How one model is read and written. ``name_field``: the field its key's name is (for
    models keyed by one field; None when the name is built from several)."""

    id: ModelId
    cls: type
    name_field: str | None
    decode: Callable[[Message], Any]
    encode: Callable[[Any], dict[str, Any]]
    name: Callable[[Any], str]


def decode_value(key: str, raw: bytes | str | Mapping[str, Any]) -> VnfValue:
    """The model of one stored value; the key must be the value's own (its name and model)."""
    found = parse_config_key(key)
    if found is None:
        raise VnfConfigError(key, "", "not a vpp-agent config key (config/<module>/<v>/<type>/…)")
    model, _ = found
    spec = SPECS.get(model)
    if spec is None:
        raise VnfConfigError(key, "", f"unknown model '{model}' ({_known()})")
    if isinstance(raw, bytes | str):
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise VnfConfigError(key, "", f"not JSON: {error}") from error
    else:
        data = raw
    value = decode_data(model, data, where=key)
    own = value_key(value)  # decode_data checked that it can be built
    if own != key:
        raise VnfConfigError(key, spec.name_field or "", f"the value belongs under {own}")
    return value


def decode_data(model: ModelId, data: object, *, where: str) -> VnfValue:
    """The model of one value of ``model`` (parsed JSON or YAML); ``where`` names it in errors."""
    spec = SPECS.get(model)
    if spec is None:
        raise VnfConfigError(where, "", f"unknown model '{model}' ({_known()})")
    try:
        value: VnfValue = spec.decode(Message(data, _FIELDS[model]))
        _key(value)  # a name or address the key cannot hold is this value's error too
    except VnfFieldError as error:
        raise VnfConfigError(where, error.field, error.problem) from error
    return value


def model_of(value: VnfValue) -> ModelSpec:
    """The spec of a value's model (TypeError for a value of no vpp-agent model)."""
    for spec in SPECS.values():
        if type(value) is spec.cls:
            return spec
    raise TypeError(f"no vpp-agent model for {type(value).__name__}")


def value_key(value: VnfValue) -> str:
    """The key of ``value`` relative to a microservice prefix (``config/...``)."""
    try:
        return _key(value)
    except VnfFieldError as error:
        raise VnfConfigError(type(value).__name__, error.field, error.problem) from error


def _key(value: VnfValue) -> str:
    spec = model_of(value)
    try:
        name = spec.name(value)
    except ValueError as error:  # an address, network or MAC that is not one
        raise VnfFieldError(spec.name_field or "", str(error)) from error
    if not name:
        raise VnfFieldError(spec.name_field or "", "required (the key is named by it)")
    return spec.id.key(name)


def to_json(value: VnfValue) -> dict[str, Any]:
    """vpp-agent's JSON object of ``value`` (defaults left out)."""
    try:
        return model_of(value).encode(value)
    except VnfFieldError as error:
        raise VnfConfigError(type(value).__name__, error.field, error.problem) from error


def encode_value(value: VnfValue) -> bytes:
    """The stored bytes of ``value``: vpp-agent's JSON, keys sorted, no spaces."""
    return json.dumps(to_json(value), sort_keys=True, separators=(",", ":")).encode()


def _known() -> str:
    return "known: " + ", ".join(sorted(str(model) for model in SPECS))


def _drop_defaults(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, False, 0, "", [], {})}


# --- vpp interfaces ------------------------------------------------------------------------

_INTERFACE_TYPES = (
    "UNDEFINED_TYPE",
    "SUB_INTERFACE",
    "SOFTWARE_LOOPBACK",
    "DPDK",
    "MEMIF",
    "TAP",
    "AF_PACKET",
    "VXLAN_TUNNEL",
    "IPSEC_TUNNEL",
    "VMXNET3_INTERFACE",
    "BOND_INTERFACE",
    "GRE_TUNNEL",
    "GTPU_TUNNEL",
    "IPIP_TUNNEL",
    "WIREGUARD_TUNNEL",
)
_TYPE_TO_MODEL = {
    "SUB_INTERFACE": InterfaceType.SUB_INTERFACE,
    "SOFTWARE_LOOPBACK": InterfaceType.LOOPBACK,
    "DPDK": InterfaceType.DPDK,
    "MEMIF": InterfaceType.MEMIF,
    "TAP": InterfaceType.TAP,
    "AF_PACKET": InterfaceType.AF_PACKET,
    "VXLAN_TUNNEL": InterfaceType.VXLAN_TUNNEL,
}
_MODEL_TO_TYPE = {model: name for name, model in _TYPE_TO_MODEL.items()}
#: the link field each type carries (None: no link)
_LINK_FIELD = {
    InterfaceType.SUB_INTERFACE: "sub",
    InterfaceType.MEMIF: "memif",
    InterfaceType.AF_PACKET: "afpacket",
    InterfaceType.TAP: "tap",
    InterfaceType.VXLAN_TUNNEL: "vxlan",
    InterfaceType.LOOPBACK: None,
    InterfaceType.DPDK: None,
}
_LINKS = (
    "sub",
    "memif",
    "afpacket",
    "tap",
    "vxlan",
    "ipsec",
    "vmx_net3",
    "bond",
    "gre",
    "gtpu",
    "ipip",
    "wireguard",
)
_INTERFACE_FIELDS = (
    "name",
    "type",
    "enabled",
    "phys_address",
    "ip_addresses",
    "vrf",
    "set_dhcp_client",
    "ip6_nd",
    "mtu",
    "unnumbered",
    "rx_modes",
    "rx_placements",
    *_LINKS,
)
_MEMIF_FIELDS = (
    "mode",
    "master",
    "id",
    "socket_filename",
    "secret",
    "ring_size",
    "buffer_size",
    "rx_queues",
    "tx_queues",
)
_MEMIF_MODES = ("ETHERNET", "IP", "PUNT_INJECT")
_TAP_FIELDS = (
    "version",
    "host_if_name",
    "to_microservice",
    "rx_ring_size",
    "tx_ring_size",
    "enable_gso",
    "enable_tunnel",
)
_SUB_FIELDS = ("parent_name", "sub_id", "tag_rw_option", "push_dot1q", "tag1", "tag2")
_TAG_REWRITES = (
    "DISABLED",
    "PUSH1",
    "PUSH2",
    "POP1",
    "POP2",
    "TRANSLATE11",
    "TRANSLATE12",
    "TRANSLATE21",
    "TRANSLATE22",
)
#: the tag rewrites contivpy applies, and how many tags each pops (SubInterfaceLink.pop_tags)
_SUPPORTED_TAG_REWRITES = {"DISABLED": 0, "POP1": 1}
_VXLAN_FIELDS = ("src_address", "dst_address", "vni", "multicast", "gpe")
_AFPACKET_FIELDS = ("host_if_name", "linux_interface")
_MEMIF_DEFAULTS = MemifLink()
_TAP_DEFAULTS = TapLink()


def memif_socket_id(socket_filename: str) -> int:
    """The socket id a memif socket file is registered under in VPP: 0 for VPP's own file,
    else a stable number derived from the path (vpp-agent's model has no id)."""
    if socket_filename in ("", DEFAULT_MEMIF_SOCKET):
        return 0
    return 1 + zlib.crc32(socket_filename.encode()) % 0xFFFFFFFE


def _decode_interface(m: Message) -> Interface:
    m.unsupported("set_dhcp_client", "ip6_nd", "rx_modes", "rx_placements")
    type_name = m.enum("type", _INTERFACE_TYPES)
    if type_name == "UNDEFINED_TYPE":
        raise m.problem("type", f"required (one of {', '.join(_TYPE_TO_MODEL)})")
    kind = _TYPE_TO_MODEL.get(type_name)
    if kind is None:
        raise m.problem("type", f"{type_name} is not supported by contivpy")
    links = [name for name in _LINKS if m.has(name)]
    if len(links) > 1:
        raise m.problem(links[1], f"only one link may be set (also '{links[0]}')")
    wanted = _LINK_FIELD[kind]
    if links and links[0] != wanted:
        raise m.problem(links[0], f"does not fit type {type_name}")
    unnumbered = m.child("unnumbered", ("interface_with_ip",))
    addresses = m.texts("ip_addresses")
    for index, address in enumerate(addresses):
        if address.startswith("alloc:"):
            raise VnfFieldError(
                f"ip_addresses[{index}]", "netalloc references are not supported; give the address"
            )
    return Interface(
        name=m.text("name"),
        type=kind,
        enabled=m.flag("enabled"),
        phys_address=m.text("phys_address"),
        mtu=m.uint("mtu"),
        vrf=m.uint("vrf"),
        ip_addresses=addresses,
        unnumbered=(unnumbered.text("interface_with_ip") or None) if unnumbered else None,
        link=_decode_link(kind, m),
    )


def _decode_link(
    kind: InterfaceType, m: Message
) -> MemifLink | TapLink | AfPacketLink | SubInterfaceLink | VxlanLink | None:
    if kind is InterfaceType.MEMIF:
        memif = m.child("memif", _MEMIF_FIELDS) or Message({}, _MEMIF_FIELDS, "memif")
        filename = memif.text("socket_filename")
        return MemifLink(
            id=memif.uint("id"),
            socket_filename=filename,
            socket_id=memif_socket_id(filename),
            master=memif.flag("master"),
            mode=MemifMode[memif.enum("mode", _MEMIF_MODES)],
            secret=memif.text("secret"),
            ring_size=memif.uint("ring_size") or _MEMIF_DEFAULTS.ring_size,
            buffer_size=memif.uint("buffer_size") or _MEMIF_DEFAULTS.buffer_size,
            rx_queues=memif.uint("rx_queues") or _MEMIF_DEFAULTS.rx_queues,
            tx_queues=memif.uint("tx_queues") or _MEMIF_DEFAULTS.tx_queues,
        )
    if kind is InterfaceType.TAP:
        tap = m.child("tap", _TAP_FIELDS) or Message({}, _TAP_FIELDS, "tap")
        tap.unsupported("to_microservice", "enable_tunnel")
        if tap.uint("version") not in (0, 2):
            raise tap.problem("version", "only TAP version 2 (virtio) is supported")
        return TapLink(
            host_if_name=tap.text("host_if_name"),
            rx_ring_size=tap.uint("rx_ring_size", 0xFFFF) or _TAP_DEFAULTS.rx_ring_size,
            tx_ring_size=tap.uint("tx_ring_size", 0xFFFF) or _TAP_DEFAULTS.tx_ring_size,
            gso=tap.flag("enable_gso"),
        )
    if kind is InterfaceType.AF_PACKET:
        afpacket = m.child("afpacket", _AFPACKET_FIELDS)
        if afpacket is None or not afpacket.text("host_if_name"):
            raise VnfFieldError("afpacket.host_if_name", "required (contivpy attaches by name)")
        return AfPacketLink(afpacket.text("host_if_name"), afpacket.text("linux_interface"))
    if kind is InterfaceType.SUB_INTERFACE:
        sub = m.child("sub", _SUB_FIELDS)
        if sub is None:
            raise m.problem("sub", "required for SUB_INTERFACE")
        sub.unsupported("push_dot1q", "tag1", "tag2")
        rewrite = sub.enum("tag_rw_option", _TAG_REWRITES)
        if rewrite not in _SUPPORTED_TAG_REWRITES:
            raise sub.problem("tag_rw_option", "not supported by contivpy (DISABLED or POP1)")
        return SubInterfaceLink(
            sub.text("parent_name"), sub.uint("sub_id"), _SUPPORTED_TAG_REWRITES[rewrite]
        )
    if kind is InterfaceType.VXLAN_TUNNEL:
        vxlan = m.child("vxlan", _VXLAN_FIELDS)
        if vxlan is None:
            raise m.problem("vxlan", "required for VXLAN_TUNNEL")
        vxlan.unsupported("gpe")
        return VxlanLink(
            src_address=vxlan.text("src_address"),
            dst_address=vxlan.text("dst_address"),
            vni=vxlan.uint("vni"),
            multicast=vxlan.text("multicast"),
        )
    return None


def _encode_interface(value: Interface) -> dict[str, Any]:
    type_name = _MODEL_TO_TYPE.get(value.type)
    if type_name is None:
        raise VnfFieldError("type", f"{value.type.value} has no vpp-agent type")
    data: dict[str, Any] = {
        "name": value.name,
        "type": type_name,
        "enabled": value.enabled,
        "phys_address": value.phys_address,
        "mtu": value.mtu,
        "vrf": value.vrf,
        "ip_addresses": list(value.ip_addresses),
    }
    if value.unnumbered:
        data["unnumbered"] = {"interface_with_ip": value.unnumbered}
    link = value.link
    if isinstance(link, MemifLink):
        data["memif"] = _drop_defaults(
            {
                "mode": "" if link.mode is MemifMode.ETHERNET else link.mode.name,
                "master": link.master,
                "id": link.id,
                "socket_filename": link.socket_filename,
                "secret": link.secret,
                "ring_size": link.ring_size,
                "buffer_size": link.buffer_size,
                "rx_queues": link.rx_queues,
                "tx_queues": link.tx_queues,
            }
        )
    elif isinstance(link, TapLink):
        for name in ("host_namespace", "host_mac", "host_mtu", "num_rx_queues"):
            if getattr(link, name) != getattr(_TAP_DEFAULTS, name):
                raise VnfFieldError(f"link.{name}", "vpp-agent's TAP model cannot carry it")
        data["tap"] = _drop_defaults(
            {
                "version": 2,
                "host_if_name": link.host_if_name,
                "rx_ring_size": link.rx_ring_size,
                "tx_ring_size": link.tx_ring_size,
                "enable_gso": link.gso,
            }
        )
    elif isinstance(link, AfPacketLink):
        data["afpacket"] = _drop_defaults(
            {"host_if_name": link.host_if_name, "linux_interface": link.linux_interface}
        )
    elif isinstance(link, SubInterfaceLink):
        if link.pop_tags not in (0, 1):
            raise VnfFieldError("link.pop_tags", "contivpy pops 0 or 1 tag (POP1)")
        data["sub"] = _drop_defaults(
            {
                "parent_name": link.parent,
                "sub_id": link.sub_id,
                "tag_rw_option": "POP1" if link.pop_tags else "",
            }
        )
    elif isinstance(link, VxlanLink):
        if link.vrf:
            raise VnfFieldError("link.vrf", "vpp-agent's VXLAN model cannot carry it")
        data["vxlan"] = _drop_defaults(
            {
                "src_address": link.src_address,
                "dst_address": link.dst_address,
                "vni": link.vni,
                "multicast": link.multicast,
            }
        )
    wanted = _LINK_FIELD[value.type]
    if wanted is not None and wanted not in data:
        raise VnfFieldError("link", f"a {type_name} interface needs its '{wanted}' link")
    return _drop_defaults(data)


# --- vpp L3 ----------------------------------------------------------------------------------

_PROTOCOLS = ("IPV4", "IPV6")
_ROUTE_TYPES = ("INTRA_VRF", "INTER_VRF", "DROP")
_ROUTE_FIELDS = (
    "type",
    "vrf_id",
    "dst_network",
    "next_hop_addr",
    "outgoing_interface",
    "weight",
    "preference",
    "via_vrf_id",
)


def _decode_vrf_table(m: Message) -> VrfTable:
    return VrfTable(m.uint("id"), IpProtocol(m.enum("protocol", _PROTOCOLS)), m.text("label"))


def _encode_vrf_table(value: VrfTable) -> dict[str, Any]:
    protocol = "" if value.protocol is IpProtocol.IPV4 else value.protocol.value
    return _drop_defaults({"id": value.id, "protocol": protocol, "label": value.label})


def _vrf_table_name(value: VrfTable) -> str:
    return vrf_table_key(value.id, value.protocol).removeprefix(_VRF_TABLE.prefix)


def _decode_route(m: Message) -> Route:
    return Route(
        dst_network=m.text("dst_network"),
        vrf=m.uint("vrf_id"),
        next_hop=m.text("next_hop_addr"),
        outgoing_interface=m.text("outgoing_interface"),
        via_vrf=m.uint("via_vrf_id"),
        weight=m.uint("weight", 0xFF) or 1,
        preference=m.uint("preference", 0xFF),
        type=RouteType[m.enum("type", _ROUTE_TYPES)],
    )


def _encode_route(value: Route) -> dict[str, Any]:
    return _drop_defaults(
        {
            "type": "" if value.type is RouteType.INTRA_VRF else value.type.name,
            "vrf_id": value.vrf,
            "dst_network": value.dst_network,
            "next_hop_addr": value.next_hop,
            "outgoing_interface": value.outgoing_interface,
            "weight": value.weight,
            "preference": value.preference,
            "via_vrf_id": value.via_vrf,
        }
    )


def _route_name(value: Route) -> str:
    key = route_key(value.vrf, value.dst_network, value.next_hop, value.outgoing_interface)
    return key.removeprefix(_ROUTE.prefix)


def _decode_arp(m: Message) -> IPNeighbor:
    return IPNeighbor(
        m.text("interface"), m.text("ip_address"), m.text("phys_address"), m.flag("static")
    )


def _encode_arp(value: IPNeighbor) -> dict[str, Any]:
    return _drop_defaults(
        {
            "interface": value.interface,
            "ip_address": value.ip_address,
            "phys_address": value.phys_address,
            "static": value.static,
        }
    )


def _arp_name(value: IPNeighbor) -> str:
    return arp_key(value.interface, value.ip_address).removeprefix(_ARP.prefix)


# --- vpp L2 ----------------------------------------------------------------------------------

_BD_FIELDS = (
    "name",
    "flood",
    "unknown_unicast_flood",
    "forward",
    "learn",
    "arp_termination",
    "mac_age",
    "interfaces",
    "arp_termination_table",
)
_BD_MEMBER_FIELDS = ("name", "bridged_virtual_interface", "split_horizon_group")
_FIB_FIELDS = (
    "phys_address",
    "bridge_domain",
    "action",
    "outgoing_interface",
    "static_config",
    "bridged_virtual_interface",
)
_FIB_ACTIONS = ("FORWARD", "DROP")


def _decode_bridge_domain(m: Message) -> BridgeDomain:
    m.unsupported("arp_termination_table")
    return BridgeDomain(
        name=m.text("name"),
        flood=m.flag("flood"),
        unknown_unicast_flood=m.flag("unknown_unicast_flood"),
        forward=m.flag("forward"),
        learn=m.flag("learn"),
        arp_termination=m.flag("arp_termination"),
        mac_age=m.uint("mac_age", 0xFF),
        interfaces=tuple(
            BDInterface(
                member.text("name"),
                member.flag("bridged_virtual_interface"),
                member.uint("split_horizon_group", 0xFF),
            )
            for member in m.children("interfaces", _BD_MEMBER_FIELDS)
        ),
    )


def _encode_bridge_domain(value: BridgeDomain) -> dict[str, Any]:
    return _drop_defaults(
        {
            "name": value.name,
            "flood": value.flood,
            "unknown_unicast_flood": value.unknown_unicast_flood,
            "forward": value.forward,
            "learn": value.learn,
            "arp_termination": value.arp_termination,
            "mac_age": value.mac_age,
            "interfaces": [
                _drop_defaults(
                    {
                        "name": member.name,
                        "bridged_virtual_interface": member.bvi,
                        "split_horizon_group": member.split_horizon_group,
                    }
                )
                for member in value.interfaces
            ],
        }
    )


def _decode_fib(m: Message) -> L2FIB:
    return L2FIB(
        bridge_domain=m.text("bridge_domain"),
        phys_address=m.text("phys_address"),
        outgoing_interface=m.text("outgoing_interface"),
        static=m.flag("static_config"),
        bvi=m.flag("bridged_virtual_interface"),
        action=L2FIBAction[m.enum("action", _FIB_ACTIONS)],
    )


def _encode_fib(value: L2FIB) -> dict[str, Any]:
    return _drop_defaults(
        {
            "phys_address": value.phys_address,
            "bridge_domain": value.bridge_domain,
            "action": "" if value.action is L2FIBAction.FORWARD else value.action.name,
            "outgoing_interface": value.outgoing_interface,
            "static_config": value.static,
            "bridged_virtual_interface": value.bvi,
        }
    )


def _fib_name(value: L2FIB) -> str:
    return l2fib_key(value.bridge_domain, value.phys_address).removeprefix(_FIB.prefix)


def _decode_xconnect(m: Message) -> XConnect:
    return XConnect(m.text("receive_interface"), m.text("transmit_interface"))


def _encode_xconnect(value: XConnect) -> dict[str, Any]:
    return _drop_defaults(
        {
            "receive_interface": value.receive_interface,
            "transmit_interface": value.transmit_interface,
        }
    )


# --- linux interfaces --------------------------------------------------------------------------

_LINUX_TYPES = ("UNDEFINED", "VETH", "TAP_TO_VPP", "LOOPBACK", "EXISTING")
_LINUX_TYPE_TO_MODEL = {
    "VETH": LinuxInterfaceType.VETH,
    "TAP_TO_VPP": LinuxInterfaceType.TAP_TO_VPP,
    "LOOPBACK": LinuxInterfaceType.LOOPBACK,
    "EXISTING": LinuxInterfaceType.EXISTING,
}
_LINUX_MODEL_TO_TYPE = {model: name for name, model in _LINUX_TYPE_TO_MODEL.items()}
_LINUX_FIELDS = (
    "name",
    "type",
    "namespace",
    "host_if_name",
    "enabled",
    "ip_addresses",
    "phys_address",
    "mtu",
    "veth",
    "tap",
    "link_only",
    "vrf_master_interface",
)
_NAMESPACE_FIELDS = ("type", "reference")
_NAMESPACE_TYPES = ("UNDEFINED", "NSID", "PID", "FD", "MICROSERVICE")
_VETH_FIELDS = ("peer_if_name", "rx_checksum_offloading", "tx_checksum_offloading")
_NAMED_NETNS = NETNS_RUN_DIR + "/"
_PID_NETNS = re.compile(r"/proc/([0-9]+)/ns/net")


def _decode_linux_interface(m: Message) -> LinuxInterface:
    m.unsupported("link_only", "vrf_master_interface")
    type_name = m.enum("type", _LINUX_TYPES)
    kind = _LINUX_TYPE_TO_MODEL.get(type_name)
    if kind is None:
        raise m.problem("type", f"required (one of {', '.join(_LINUX_TYPE_TO_MODEL)})")
    veth = m.child("veth", _VETH_FIELDS)
    if veth is not None:
        veth.unsupported("rx_checksum_offloading", "tx_checksum_offloading")
    tap = m.child("tap", ("vpp_tap_if_name",))
    if veth is not None and kind is not LinuxInterfaceType.VETH:
        raise m.problem("veth", f"does not fit type {type_name}")
    if tap is not None and kind is not LinuxInterfaceType.TAP_TO_VPP:
        raise m.problem("tap", f"does not fit type {type_name}")
    return LinuxInterface(
        name=m.text("name"),
        type=kind,
        host_if_name=m.text("host_if_name"),
        namespace=_decode_namespace(m.child("namespace", _NAMESPACE_FIELDS)),
        enabled=m.flag("enabled"),
        mtu=m.uint("mtu"),
        phys_address=m.text("phys_address"),
        ip_addresses=m.texts("ip_addresses"),
        veth_peer=veth.text("peer_if_name") if veth else "",
        vpp_tap=tap.text("vpp_tap_if_name") if tap else "",
    )


def _decode_namespace(m: Message | None) -> NetnsRef | None:
    if m is None:
        return None
    kind, reference = m.enum("type", _NAMESPACE_TYPES), m.text("reference")
    try:
        if kind == "UNDEFINED":
            return None
        if kind == "NSID":
            return NetnsRef.named(reference)
        if kind == "FD":
            return NetnsRef.at(reference)
        if kind == "PID":
            return NetnsRef.of_pid(int(reference) if reference.isdigit() else 0)
    except ValueError as error:
        raise m.problem("reference", str(error)) from error
    raise m.problem("type", f"{kind} is not supported by contivpy")


def _encode_linux_interface(value: LinuxInterface) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": value.name,
        "type": _LINUX_MODEL_TO_TYPE[value.type],
        "host_if_name": value.host_if_name,
        "enabled": value.enabled,
        "ip_addresses": list(value.ip_addresses),
        "phys_address": value.phys_address,
        "mtu": value.mtu,
    }
    if value.namespace is not None:
        path = value.namespace.path
        pid = _PID_NETNS.fullmatch(path)
        if path.startswith(_NAMED_NETNS) and "/" not in path[len(_NAMED_NETNS) :]:
            data["namespace"] = {"type": "NSID", "reference": path[len(_NAMED_NETNS) :]}
        elif pid:
            data["namespace"] = {"type": "PID", "reference": pid.group(1)}
        else:
            data["namespace"] = {"type": "FD", "reference": path}
    if value.veth_peer:
        data["veth"] = {"peer_if_name": value.veth_peer}
    if value.vpp_tap:
        data["tap"] = {"vpp_tap_if_name": value.vpp_tap}
    return _drop_defaults(data)


# --- netalloc ----------------------------------------------------------------------------------


def _decode_ip_allocation(m: Message) -> IPAllocation:
    network = m.text("network_name")
    if "/" in network:
        raise m.problem("network_name", "must not contain '/'")
    return IPAllocation(network, m.text("interface_name"), m.text("address"), m.text("gw"))


def _encode_ip_allocation(value: IPAllocation) -> dict[str, Any]:
    return _drop_defaults(
        {
            "network_name": value.network_name,
            "interface_name": value.interface_name,
            "address": value.address,
            "gw": value.gw,
        }
    )


def _ip_allocation_name(value: IPAllocation) -> str:
    return f"network/{value.network_name}/interface/{value.interface_name}"


# --- the table ---------------------------------------------------------------------------------

_INTERFACES = ModelId("vpp", "v2", "interfaces")
_VRF_TABLE = ModelId("vpp", "v2", "vrf-table")
_ROUTE = ModelId("vpp", "v2", "route")
_ARP = ModelId("vpp", "v2", "arp")
_BRIDGE_DOMAIN = ModelId("vpp.l2", "v2", "bridge-domain")
_FIB = ModelId("vpp.l2", "v2", "fib")
_XCONNECT = ModelId("vpp.l2", "v2", "xconnect")
_LINUX_INTERFACE = ModelId("linux.interfaces", "v2", "interface")
_IP_ALLOCATION = ModelId("netalloc", "v1", "ip")

SPECS: dict[ModelId, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            _INTERFACES,
            Interface,
            "name",
            _decode_interface,
            _encode_interface,
            lambda v: v.name,
        ),
        ModelSpec(
            _VRF_TABLE, VrfTable, None, _decode_vrf_table, _encode_vrf_table, _vrf_table_name
        ),
        ModelSpec(_ROUTE, Route, None, _decode_route, _encode_route, _route_name),
        ModelSpec(_ARP, IPNeighbor, None, _decode_arp, _encode_arp, _arp_name),
        ModelSpec(
            _BRIDGE_DOMAIN,
            BridgeDomain,
            "name",
            _decode_bridge_domain,
            _encode_bridge_domain,
            lambda v: v.name,
        ),
        ModelSpec(_FIB, L2FIB, None, _decode_fib, _encode_fib, _fib_name),
        ModelSpec(
            _XCONNECT,
            XConnect,
            "receive_interface",
            _decode_xconnect,
            _encode_xconnect,
            lambda v: v.receive_interface,
        ),
        ModelSpec(
            _LINUX_INTERFACE,
            LinuxInterface,
            "name",
            _decode_linux_interface,
            _encode_linux_interface,
            lambda v: v.name,
        ),
        ModelSpec(
            _IP_ALLOCATION,
            IPAllocation,
            None,
            _decode_ip_allocation,
            _encode_ip_allocation,
            _ip_allocation_name,
        ),
    )
}

_FIELDS: dict[ModelId, tuple[str, ...]] = {
    _INTERFACES: _INTERFACE_FIELDS,
    _VRF_TABLE: ("id", "protocol", "label"),
    _ROUTE: _ROUTE_FIELDS,
    _ARP: ("interface", "ip_address", "phys_address", "static"),
    _BRIDGE_DOMAIN: _BD_FIELDS,
    _FIB: _FIB_FIELDS,
    _XCONNECT: ("receive_interface", "transmit_interface"),
    _LINUX_INTERFACE: _LINUX_FIELDS,
    _IP_ALLOCATION: ("network_name", "interface_name", "address", "gw"),
}

__all__ = [
    "CONFIG",
    "DEFAULT_MEMIF_SOCKET",
    "SPECS",
    "VNF_AGENT_PREFIX",
    "IPAllocation",
    "ModelId",
    "ModelSpec",
    "VnfConfigError",
    "VnfValue",
    "config_prefix",
    "decode_data",
    "decode_value",
    "encode_value",
    "memif_socket_id",
    "microservice_label_problem",
    "microservice_prefix",
    "model_of",
    "parse_config_key",
    "to_json",
    "value_key",
]
