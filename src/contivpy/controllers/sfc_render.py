"""This node's part of a chain's path: L2 cross-connects and per-hop VXLAN tunnels.

In: a chain's :class:`~contivpy.sfc.paths.Path` (the same on every node), this node's name,
the VPP interface of each local instance's interface (None while a local pod is not wired
yet), every node's underlay address, the VNI of each hop that crosses nodes. Out: the VPP
values this node holds for the path (cross-connects keyed by their receive interface, tunnel
interfaces), and the hops it cannot render yet (a local interface not wired).

Per hop i (element i's output to element i+1's input): both ends here — a cross-connect
from the output to the input, and back unless the chain is unidirectional; one end here —
the tunnel ``sfc-<chain>-<i>`` (VNI from the ``vni`` pool under that label, from this node's
address to the other end's node, in the main VRF), cross-connected with the local interface
(towards the tunnel on the sending side, from it on the receiving side; both ways unless
unidirectional); no end here — nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from contivpy.controllers import naming
from contivpy.events.types import Config
from contivpy.models.vpp_interfaces import Interface, InterfaceType, VxlanLink
from contivpy.models.vpp_keys import interface_key, xconnect_key
from contivpy.models.vpp_l2 import XConnect
from contivpy.sfc.chains import Chain
from contivpy.sfc.paths import Instance, Path

#: the VPP interface of a local instance's interface (None: not wired yet)
LocalInterface = Callable[[Instance, str], str | None]


@dataclass(frozen=True, slots=True)
class NodeSide:
    """What rendering needs to know of this node and the others."""

    node: str
    addresses: Mapping[str, str]  # node name -> underlay (VPP) address
    main_vrf: int = 0


@dataclass(slots=True)
class Rendered:
    """This node's values for one path, and what is still missing."""

    config: Config = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)


def crossing_hops(path: Path, node: str) -> list[int]:
    """The hops of the path that cross nodes with one end on ``node`` (they need a VNI)."""
    found = []
    for hop, (a, b) in enumerate(itertools.pairwise(path.instances)):
        if a.node != b.node and node in (a.node, b.node):
            found.append(hop)
    return found


def tunnel_label(chain: Chain, hop: int) -> str:
    """The name of a hop's tunnel, and its VNI's label."""
    return naming.sfc_tunnel(chain.label, hop)


def render_path(
    path: Path, side: NodeSide, local: LocalInterface, vnis: Mapping[int, int]
) -> Rendered:
    """This node's values for ``path`` (``vnis``: hop -> VNI for its crossing hops)."""
    rendered = Rendered()
    both_ways = not path.chain.unidirectional
    for hop, (a, b) in enumerate(itertools.pairwise(path.instances)):
        if side.node not in (a.node, b.node):
            continue
        sender = local(a, a.output) if a.node == side.node else None
        receiver = local(b, b.input) if b.node == side.node else None
        missing = [
            f"{i.describe()} interface {name}"
            for i, name, vpp in ((a, a.output, sender), (b, b.input, receiver))
            if i.node == side.node and vpp is None
        ]
        if missing:
            rendered.waiting.append(f"hop {hop}: " + ", ".join(missing) + " not wired yet")
            continue
        if a.node == b.node:
            assert sender is not None
            assert receiver is not None
            _xconnect(rendered.config, sender, receiver, both_ways)
            continue
        other = b if a.node == side.node else a
        tunnel = _tunnel(rendered, path, hop, side, other, vnis)
        if tunnel is None:
            continue
        if sender is not None:
            _xconnect(rendered.config, sender, tunnel, both_ways)
        elif receiver is not None:
            _xconnect(rendered.config, tunnel, receiver, both_ways)
    return rendered


def _tunnel(
    rendered: Rendered,
    path: Path,
    hop: int,
    side: NodeSide,
    other: Instance,
    vnis: Mapping[int, int],
) -> str | None:
    name = tunnel_label(path.chain, hop)
    source, destination = side.addresses.get(side.node), side.addresses.get(other.node)
    vni = vnis.get(hop)
    if source is None or destination is None or vni is None:
        what = (
            "a VNI" if vni is None else f"the address of node {other.node if source else side.node}"
        )
        rendered.waiting.append(f"hop {hop}: tunnel {name} waits for {what}")
        return None
    rendered.config[interface_key(name)] = Interface(
        name,
        InterfaceType.VXLAN_TUNNEL,
        link=VxlanLink(source, destination, vni, side.main_vrf),
    )
    return name


def _xconnect(config: Config, rx: str, tx: str, both_ways: bool) -> None:
    config[xconnect_key(rx)] = XConnect(rx, tx)
    if both_ways:
        config[xconnect_key(tx)] = XConnect(tx, rx)
