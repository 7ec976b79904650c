"""ExternalInterfaces' entries, checked: which node interface each asks for, and what is wrong.

In: reflected ``ExternalInterface`` models. Out: their entries (one per ``spec.nodes[i]``:
the node, the NIC, the VLAN, the IP and the network), in a stable order, split into the
accepted ones and the problems of the refused ones by object, each naming the object, the
entry and the field. The node agent applies the accepted entries of its node; the reflector
reports the problems on the objects' statuses: both read the same rules here.

Rules: ``vppInterfaceName`` given; ``vlan`` 0 (untagged) or 1..4094; one entry per NIC and
VLAN on a node (the first, by object and index, has it; untagged entries first); an ``ip``
is an address with a prefix length, and a stub or L2 network takes none; the network is
``stub``, ``default``, empty or a CustomNetwork that exists. Where it goes: a stub network
(empty or ``stub``, unless the interface is L3 with an empty network) — the link only; the
default network (``default``, or empty in an L3 interface) — the pod VRF; a CustomNetwork —
its VRF (L3) or its bridge domain (L2).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from contivpy.models.k8s_codec import ExternalInterface, NetworkType

MAX_VLAN = 4094
STUB_NETWORKS = ("", "stub")
DEFAULT_NETWORK = "default"


@dataclass(frozen=True, slots=True)
class ExternalEntry:
    """One entry of an ExternalInterface: a node's NIC (or a VLAN of it) put to use."""

    owner: str  # the ExternalInterface's namespace/name
    index: int  # in spec.nodes
    node: str
    nic: str
    vlan: int  # 0: untagged
    ip: str  # "" for none
    stub: bool  # no IP, no VRF, no bridge domain
    network: str = DEFAULT_NETWORK  # "default", or a CustomNetwork's name (stub: "")

    @property
    def name(self) -> str:
        """The ExternalInterface's name (what a chain's element names)."""
        return self.owner.rpartition("/")[2]

    @property
    def where(self) -> str:
        return f"ExternalInterface {self.owner} spec.nodes[{self.index}]"

    @property
    def vpp_interface(self) -> str:
        """The VPP interface it uses: the NIC, or its sub-interface ``<nic>.<vlan>``."""
        return f"{self.nic}.{self.vlan}" if self.vlan else self.nic


def owner_of(model: ExternalInterface) -> str:
    """How an ExternalInterface is named in entries and problems."""
    return f"{model.namespace}/{model.name}" if model.namespace else model.name


def check_entries(
    models: Iterable[ExternalInterface], networks: Mapping[str, bool] | None = None
) -> tuple[list[ExternalEntry], dict[str, list[str]]]:
    """The accepted entries (untagged first per node, then by object and index) and the
    problems of the refused ones, by object. ``networks``: the CustomNetworks that exist and
    whether each is L3 (takes IPs); None: any name is taken for one (only the VPP interfaces
    are wanted)."""
    entries: list[tuple[ExternalEntry, str]] = []
    for model in sorted(models, key=owner_of):
        network = model.network.strip()
        stub = network == "stub" or (network == "" and model.type is not NetworkType.L3)
        joined = "" if stub else (network or DEFAULT_NETWORK)
        for index, spec in enumerate(model.nodes):
            entry = ExternalEntry(
                owner_of(model),
                index,
                spec.node,
                spec.vpp_interface_name.strip(),
                spec.vlan,
                spec.ip.strip(),
                stub,
                joined,
            )
            entries.append((entry, network))
    entries.sort(key=lambda e: (e[0].node, e[0].vlan != 0, e[0].owner, e[0].index))
    accepted: list[ExternalEntry] = []
    problems: dict[str, list[str]] = {}
    taken: dict[tuple[str, str, int], str] = {}
    for entry, network in entries:
        problem = _problem(entry, network, taken, networks)
        if problem:
            problems.setdefault(entry.owner, []).append(f"{entry.where}: {problem}")
            continue
        taken[(entry.node, entry.nic, entry.vlan)] = entry.where
        accepted.append(entry)
    return accepted, problems


def _problem(
    entry: ExternalEntry,
    network: str,
    taken: dict[tuple[str, str, int], str],
    networks: Mapping[str, bool] | None,
) -> str:
    custom = network not in (*STUB_NETWORKS, DEFAULT_NETWORK)
    if custom and networks is not None and network not in networks:
        return f"network {network!r}: no such CustomNetwork (or it is refused: see its status)"
    if not entry.node:
        return "node: missing"
    if not entry.nic:
        return "vppInterfaceName: missing"
    if entry.vlan < 0 or entry.vlan > MAX_VLAN:
        return f"vlan {entry.vlan}: outside 1..{MAX_VLAN} (0: untagged)"
    used = taken.get((entry.node, entry.nic, entry.vlan))
    if used is not None:
        what = f"VLAN {entry.vlan}" if entry.vlan else "the untagged interface"
        return f"{what} of {entry.nic} on node {entry.node} is already used by {used}"
    if entry.ip:
        if entry.stub:
            return f"ip {entry.ip!r}: an interface in a stub network has no IP"
        if custom and networks is not None and not networks[network]:
            return f"ip {entry.ip!r}: an interface in the L2 network {network} has no IP"
        if "/" not in entry.ip:
            return f"ip {entry.ip!r}: give the prefix length (e.g. {entry.ip}/24)"
        try:
            ipaddress.ip_interface(entry.ip)
        except ValueError:
            return f"ip {entry.ip!r}: not an address with a prefix length (e.g. 10.0.0.1/24)"
    return ""
