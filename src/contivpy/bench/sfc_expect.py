"""What each VPP must hold for the SFC benchmark's chains, and how it differs from that.

In: the chains' pods in element order (``sfc_workload.placements``, as they are now), the
nodes' underlay addresses, and each node's VPP read through a dump-only API client
(``sw_interface_dump``, ``l2_xconnect_dump``, ``vxlan_tunnel_v2_dump``). Out: ``expected``
(per node: cross-connects by the tags of their receive and transmit interfaces, and the SFC
tunnels by name with the node they lead to), ``read`` (the same, as VPP holds it: every
cross-connect, and every VXLAN tunnel whose tag starts with ``sfc-`` with its source,
destination, VNI and encap VRF) and ``mismatches`` (empty when both VPPs hold exactly that).

The rule checked is the issue's, derived here from the placement alone (every element has
one instance, so the path is fixed): per hop between element ``i``'s output and element
``i+1``'s input, on one node a cross-connect both ways; across nodes, on each node the tunnel
``sfc-<chain>-<i>`` cross-connected both ways with the local interface, from this node's
address to the other's in VRF 0; both ends with the same VNI, no two tunnels with one VNI.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from contivpy.bench.sfc_workload import INTERFACES, CnfPod, chain_name
from contivpy.controllers import naming
from contivpy.vppcalls import interfaces, vxlan, xconnect
from contivpy.vppcalls.channel import ApiChannel

SFC_TUNNEL_PREFIX = "sfc-"
_SHOWN = 3  # differences named per kind and node; the rest are counted


@dataclass(frozen=True, slots=True)
class Tunnel:
    """An SFC tunnel as VPP holds it."""

    src: str
    dst: str
    vni: int
    vrf: int


@dataclass
class NodeView:
    """One node's SFC configuration: cross-connects rx tag -> tx tag; tunnels by name (the
    expected view holds the peer node's name in ``peers`` instead of ``tunnels``)."""

    xconnects: dict[str, str] = field(default_factory=dict)
    tunnels: dict[str, Tunnel] = field(default_factory=dict)
    peers: dict[str, str] = field(default_factory=dict)


def tunnel_name(chain: int, hop: int) -> str:
    """The tunnel of a chain's hop (chains live in ``default``: the label is the name)."""
    return naming.sfc_tunnel(chain_name(chain), hop)


def expected(chains: Mapping[int, Sequence[CnfPod]], nodes: Sequence[str]) -> list[NodeView]:
    """Per node (in ``nodes`` order) what it must hold for ``chains`` (module docstring)."""
    views = [NodeView() for _ in nodes]
    for index, pods in chains.items():
        for hop, (a, b) in enumerate(itertools.pairwise(pods)):
            out = a.vpp_tap(INTERFACES[a.role][1])
            into = b.vpp_tap(INTERFACES[b.role][0])
            if a.node == b.node:
                _both_ways(views[a.node].xconnects, out, into)
                continue
            name = tunnel_name(index, hop)
            _both_ways(views[a.node].xconnects, out, name)
            _both_ways(views[b.node].xconnects, name, into)
            views[a.node].peers[name] = nodes[b.node]
            views[b.node].peers[name] = nodes[a.node]
    return views


def _both_ways(xconnects: dict[str, str], one: str, other: str) -> None:
    xconnects[one] = other
    xconnects[other] = one


async def read(vpp: ApiChannel) -> NodeView:
    """What one VPP holds: every cross-connect and every SFC tunnel, by tags."""
    found = await interfaces.dump_interfaces(vpp)
    names = {i.sw_if_index: i.tag or i.name for i in found}
    view = NodeView()
    for pair in await xconnect.dump_xconnects(vpp):
        rx = names.get(pair.rx_sw_if_index, f"#{pair.rx_sw_if_index}")
        view.xconnects[rx] = names.get(pair.tx_sw_if_index, f"#{pair.tx_sw_if_index}")
    for tunnel in await vxlan.dump_vxlan_tunnels(vpp):
        name = names.get(tunnel.sw_if_index, "")
        if name.startswith(SFC_TUNNEL_PREFIX):
            view.tunnels[name] = Tunnel(
                str(tunnel.src), str(tunnel.dst), tunnel.vni, tunnel.encap_vrf_id
            )
    return view


def mismatches(
    want: Sequence[NodeView],
    held: Sequence[NodeView],
    nodes: Sequence[str],
    addresses: Mapping[str, str],
) -> list[str]:
    """How the VPPs differ from ``want`` (empty when they hold exactly that);
    ``addresses``: node name -> its underlay address (the tunnels' ends)."""
    found: list[str] = []
    for node, wanted, view in zip(nodes, want, held, strict=True):
        found += _differences(f"{node}: cross-connects", wanted.xconnects, view.xconnects)
        expected_tunnels = {
            name: (addresses.get(node, "?"), addresses.get(peer, "?"), 0)
            for name, peer in wanted.peers.items()
        }
        held_tunnels = {name: (t.src, t.dst, t.vrf) for name, t in view.tunnels.items()}
        found += _differences(
            f"{node}: SFC tunnels (src, dst, vrf)", expected_tunnels, held_tunnels
        )
        by_vni: dict[int, list[str]] = {}
        for name, tunnel in view.tunnels.items():
            by_vni.setdefault(tunnel.vni, []).append(name)
        shared = sorted(names for names in by_vni.values() if len(names) > 1)
        if shared:
            found.append(f"{node}: {len(shared)} VNIs used by two tunnels, e.g. {shared[0]}")
    disagree = sorted(
        name
        for name, tunnel in held[0].tunnels.items()
        if name in held[1].tunnels and held[1].tunnels[name].vni != tunnel.vni
    )
    if disagree:
        found.append(
            f"{len(disagree)} tunnels have another VNI on each node, e.g. {disagree[:_SHOWN]}"
        )
    return found


def _differences(what: str, want: Mapping[str, object], held: Mapping[str, object]) -> list[str]:
    missing = sorted(set(want) - set(held))
    extra = sorted(set(held) - set(want))
    wrong = sorted(k for k in set(want) & set(held) if want[k] != held[k])
    found = []
    for label, keys in (("missing", missing), ("unexpected", extra)):
        if keys:
            found.append(f"{what} {label}: {len(keys)}, e.g. {keys[:_SHOWN]}")
    if wrong:
        shown = [f"{k}: {held[k]} instead of {want[k]}" for k in wrong[:_SHOWN]]
        found.append(f"{what} wrong: {len(wrong)}, e.g. {shown}")
    return found
