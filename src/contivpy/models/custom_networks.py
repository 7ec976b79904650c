"""CustomNetworks, checked: the networks pods and external interfaces may join, or why not.

In: reflected ``CustomNetwork`` models, and the address ranges a network must stay out of
(the node agent passes its pod, VPP-host, node-interconnect, VXLAN and service ranges; the
reflector, which does not know them, passes none). Out: the accepted networks by name
(:class:`Network`: type, subnet and per-node prefix length) and the problems of the refused
ones by object, each naming the object and the field.

Rules: a name other than ``default`` and ``stub`` (the built-in ones), short enough for the VPP
interfaces named after it (``podGwLoop-<name>``, ``vxlan-<name>-<node id>``: 40 characters at
most) and unique across namespaces (networks are joined by name). L3: a ``subnetCIDR`` that is
a network address with a prefix length (``10.300.0.0/16`` is not), a ``subnetOneNodePrefixLen``
longer than the subnet's and leaving room for a gateway and pods (at most 30; IPv6 networks are
not rendered yet: refused), a subnet that overlaps no reserved range and no network accepted
before it (by namespace/name). L2 and stub networks take no subnet (one given is refused: it
would suggest addresses nobody assigns).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contivpy.models.k8s_codec import CustomNetwork, NetworkType

BUILT_IN = ("default", "stub")
MAX_NAME = 40
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class NetworkKind(enum.Enum):
    """What a custom network is."""

    L2 = "L2"
    L3 = "L3"
    STUB = "stub"


@dataclass(frozen=True, slots=True)
class Network:
    """An accepted custom network."""

    name: str
    owner: str  # <namespace>/<name>
    kind: NetworkKind
    subnet: IPNetwork | None = None  # L3 only
    node_prefix_len: int = 0  # L3 only


def owner_of(model: CustomNetwork) -> str:
    """How a CustomNetwork is named in problems."""
    return f"{model.namespace}/{model.name}" if model.namespace else model.name


def check_networks(
    models: Iterable[CustomNetwork], reserved: Mapping[str, IPNetwork] | None = None
) -> tuple[dict[str, Network], dict[str, list[str]]]:
    """The accepted networks by name and the refused ones' problems by object (see the
    module doc); ``reserved``: what each range is -> the range."""
    accepted: dict[str, Network] = {}
    problems: dict[str, list[str]] = {}
    for model in sorted(models, key=owner_of):
        owner = owner_of(model)
        found = _problems(model, accepted, reserved or {})
        if found:
            problems[owner] = [f"CustomNetwork {owner} {problem}" for problem in found]
            continue
        accepted[model.name] = _network(model, owner)
    return accepted, problems


def _kind(model: CustomNetwork) -> NetworkKind | None:
    return {
        NetworkType.L2: NetworkKind.L2,
        NetworkType.L3: NetworkKind.L3,
        NetworkType.STUB: NetworkKind.STUB,
    }.get(model.type)


def _network(model: CustomNetwork, owner: str) -> Network:
    kind = _kind(model)
    assert kind is not None
    if kind is not NetworkKind.L3:
        return Network(model.name, owner, kind)
    subnet = ipaddress.ip_network(model.subnet_cidr.strip())
    return Network(model.name, owner, kind, subnet, model.subnet_one_node_prefix_len)


def _problems(
    model: CustomNetwork, accepted: Mapping[str, Network], reserved: Mapping[str, IPNetwork]
) -> list[str]:
    name = model.name
    if name in BUILT_IN:
        return [f"metadata.name: {name!r} is a built-in network and cannot be redefined"]
    if len(name) > MAX_NAME:
        return [f"metadata.name: longer than {MAX_NAME} characters (VPP interfaces carry it)"]
    if name in accepted:
        return [f"metadata.name: network {name!r} is already defined by {accepted[name].owner}"]
    kind = _kind(model)
    if kind is None:
        return ["spec.type: missing (L2, L3 or stub)"]
    cidr = model.subnet_cidr.strip()
    if kind is not NetworkKind.L3:
        if cidr:
            return [f"spec.subnetCIDR: an {kind.value} network has no subnet (given {cidr!r})"]
        return []
    if not cidr:
        return ["spec.subnetCIDR: an L3 network needs one"]
    try:
        subnet = ipaddress.ip_network(cidr)
    except ValueError as error:
        return [f"spec.subnetCIDR {cidr!r}: not a network address with a prefix length ({error})"]
    if subnet.version != 4:
        return [f"spec.subnetCIDR {cidr!r}: IPv6 custom networks are not supported yet"]
    length = model.subnet_one_node_prefix_len
    longest = subnet.max_prefixlen - 2
    if not subnet.prefixlen < length <= longest:
        return [
            f"spec.subnetOneNodePrefixLen {length}: must be longer than the subnet's "
            f"/{subnet.prefixlen} and at most {longest}"
        ]
    for what, kept_out in sorted(reserved.items()):
        if kept_out.version == subnet.version and kept_out.overlaps(subnet):
            return [f"spec.subnetCIDR {subnet} overlaps the {what} {kept_out}"]
    for network in accepted.values():
        taken = network.subnet
        if taken is not None and taken.version == subnet.version and taken.overlaps(subnet):
            return [
                f"spec.subnetCIDR {subnet} overlaps network {network.name} ({taken}, "
                f"{network.owner})"
            ]
    return []
