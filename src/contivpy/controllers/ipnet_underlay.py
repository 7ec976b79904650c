"""Keeping the VXLAN underlay out of the overlay.

In: the node context, the VXLAN tunnel endpoints (this node's underlay address and every
other node's), and the routes the mesh renders. Out: which management addresses of another
node may be routed through the overlay, and the /32 routes ("pins") that keep an endpoint
covered by an overlay prefix on the underlay.

Why: VPP looks a VXLAN packet's outer destination up in the tunnel's encap VRF (the main
VRF). When that lookup leads into the pod VRF and out of the ``vxlanBVI``, VPP puts its own
VXLAN packet into the tunnel again, and again: two real VPPs crashed so (issue 9, item 10).
Contiv routes each other node's management IP through the overlay (main VRF -> pod VRF ->
via the other node's BVI); a node whose InternalIP is its interconnect address made that /32
the tunnel's destination. Such an address is reachable directly on the underlay, so it gets
no overlay route at all; a management IP that is no endpoint keeps Contiv's overlay route.
An endpoint inside a wider overlay prefix (published addresses inside the cluster ranges, a
misconfiguration the settings cannot see) gets a pin: in the main VRF via the underlay (on
link through the main interface, else via the default gateway, else a DROP: dropping the
tunnel's packets beats looping them), in the pod VRF into the main VRF.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from contivpy.controllers import naming
from contivpy.models.vpp_interfaces import Interface
from contivpy.models.vpp_l3 import Route, RouteType
from contivpy.settings import AgentSettings, IPAddress, IPNetwork


def overlay_routable(address: str, endpoints: frozenset[IPAddress]) -> IPAddress | None:
    """``address`` (a management IP) when the overlay may carry it: parseable and no tunnel
    endpoint."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return None if ip in endpoints else ip


def _network(cidr: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def overlay_prefixes(
    config: Mapping[str, object], settings: AgentSettings
) -> dict[int, list[IPNetwork]]:
    """Per VRF, the prefixes whose traffic the rendered ``config`` sends towards the overlay:
    routes out of the BVI or a tunnel, the BVI's connected network, and (main VRF) routes
    into the pod VRF, which carries the overlay."""
    found: dict[int, list[IPNetwork]] = {}

    def add(vrf: int, cidr: str) -> None:
        network = _network(cidr)
        if network is not None:
            found.setdefault(vrf, []).append(network)

    for value in config.values():
        if isinstance(value, Route):
            into_pod_vrf = (
                value.type is RouteType.INTER_VRF
                and value.vrf == settings.main_vrf_id
                and value.via_vrf == settings.pod_vrf_id
            )
            out_of_overlay = value.type is RouteType.INTRA_VRF and _is_overlay(
                value.outgoing_interface
            )
            if into_pod_vrf or out_of_overlay:
                add(value.vrf, value.dst_network)
        elif isinstance(value, Interface) and _is_overlay(value.name):
            for cidr in value.ip_addresses:
                add(value.vrf, cidr)
    return found


def _is_overlay(interface: str) -> bool:
    return interface == naming.VXLAN_BVI or naming.is_vxlan_tunnel(interface)


def pin_routes(
    settings: AgentSettings,
    *,
    own_address: IPAddress,
    node_network: IPNetwork,
    main_interface: str,
    endpoints: Iterable[IPAddress],
    overlay: Mapping[int, list[IPNetwork]],
) -> list[Route]:
    """/32 routes that keep every endpoint an overlay prefix covers on the underlay."""
    main_vrf, pod_vrf = settings.main_vrf_id, settings.pod_vrf_id
    gateway = settings.ipam.default_gateway
    pins: list[Route] = []
    for endpoint in sorted(endpoints, key=lambda ip: (ip.version, int(ip))):
        host = f"{endpoint}/{endpoint.max_prefixlen}"

        def covered(vrf: int, ip: IPAddress = endpoint) -> bool:
            return any(ip in network for network in overlay.get(vrf, ()))

        # This node's own address is local in the main VRF: the interface's /32 wins there.
        if endpoint != own_address and covered(main_vrf):
            if endpoint in node_network:
                pins.append(Route(host, main_vrf, str(endpoint), main_interface))
            elif gateway is not None and gateway.version == endpoint.version:
                pins.append(Route(host, main_vrf, str(gateway), main_interface))
            else:
                pins.append(Route(host, main_vrf, type=RouteType.DROP))
        if covered(pod_vrf):
            pins.append(Route(host, pod_vrf, via_vrf=main_vrf, type=RouteType.INTER_VRF))
    return pins
