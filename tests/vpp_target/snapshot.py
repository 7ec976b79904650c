"""What a VPP holds, read through its binary API (the same on the simulator and a real VPP).

In: a connected channel. Out: :class:`VppSnapshot`: interfaces with their settings, addresses,
per-family VRFs, unnumbered source and type-specific details; VRF tables; routes of every
table (VPP's own included: the caller decides which are of interest); neighbours; proxy ARP;
bridge domains with members; L2 FIB; cross-connects; memif socket files.

Read with contivpy's vppcalls dumps, not with the descriptors' retrieve, so a retrieve bug
cannot hide a wrong VPP; and not from the simulator's memory, so the same assertion holds on
a real VPP.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from contivpy.vppcalls import (
    af_packet,
    bridge_domains,
    interface_ip,
    interfaces,
    l2fib,
    memif,
    neighbors,
    proxy_arp,
    routes,
    tap,
    vrf,
    vxlan,
    xconnect,
)
from contivpy.vppcalls.channel import ApiChannel

_LINK_LOCAL = ipaddress.ip_network("fe80::/10")


@dataclass(frozen=True)
class InterfaceSnapshot:
    """One interface and what hangs off it."""

    details: interfaces.InterfaceDetails
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    vrf4: int
    vrf6: int
    unnumbered_of: int | None
    tap: tap.TapDetails | None = None
    memif: memif.MemifDetails | None = None
    af_packet_host: str | None = None
    vxlan: vxlan.VxlanTunnelDetails | None = None

    @property
    def sw_if_index(self) -> int:
        return self.details.sw_if_index

    @property
    def tag(self) -> str:
        return self.details.tag

    @property
    def name(self) -> str:
        return self.details.name


@dataclass
class VppSnapshot:
    """Everything :func:`read_snapshot` read, by sw_if_index where it is per interface."""

    interfaces: dict[int, InterfaceSnapshot] = field(default_factory=dict)
    tables: list[vrf.VrfTable] = field(default_factory=list)
    routes: list[routes.Route] = field(default_factory=list)
    neighbors: list[neighbors.IpNeighbor] = field(default_factory=list)
    proxy_arp_ranges: list[proxy_arp.ProxyArpRange] = field(default_factory=list)
    proxy_arp_interfaces: list[int] = field(default_factory=list)
    bridge_domains: list[bridge_domains.BridgeDomainDetails] = field(default_factory=list)
    l2fib: list[l2fib.L2FibEntry] = field(default_factory=list)
    xconnects: list[xconnect.XConnect] = field(default_factory=list)
    memif_sockets: dict[int, str] = field(default_factory=dict)

    def by_tag(self, tag: str) -> InterfaceSnapshot:
        """The interface tagged ``tag`` (KeyError if none)."""
        for iface in self.interfaces.values():
            if iface.tag == tag:
                return iface
        raise KeyError(tag)

    def by_name(self, name: str) -> InterfaceSnapshot:
        """The interface VPP names ``name`` (KeyError if none)."""
        for iface in self.interfaces.values():
            if iface.name == name:
                return iface
        raise KeyError(name)

    def tagged(self) -> list[InterfaceSnapshot]:
        """The interfaces that carry a tag (contivpy's and other control planes')."""
        return [i for i in self.interfaces.values() if i.tag]

    def routes_in(self, table_id: int, ipv6: bool = False) -> list[routes.Route]:
        """The routes of one table."""
        return [
            r
            for r in self.routes
            if r.table_id == table_id and r.prefix.version == (6 if ipv6 else 4)
        ]


async def read_snapshot(vpp: ApiChannel) -> VppSnapshot:
    """Read everything (see the module docstring)."""
    found = await interfaces.dump_interfaces(vpp)
    taps, memifs, sockets, hosts, tunnels, unnumbered = await asyncio.gather(
        tap.dump_taps(vpp),
        memif.dump_memifs(vpp),
        memif.dump_memif_sockets(vpp),
        af_packet.dump_af_packets(vpp),
        vxlan.dump_vxlan_tunnels(vpp),
        interface_ip.dump_unnumbered(vpp),
    )
    by_tap = {t.sw_if_index: t for t in taps}
    by_memif = {m.sw_if_index: m for m in memifs}
    by_host = {a.sw_if_index: a.host_if_name for a in hosts}
    by_tunnel = {t.sw_if_index: t for t in tunnels}

    async def one(d: interfaces.InterfaceDetails) -> InterfaceSnapshot:
        index = d.sw_if_index
        v4, v6, vrf4, vrf6 = await asyncio.gather(
            interface_ip.dump_addresses(vpp, index, False),
            interface_ip.dump_addresses(vpp, index, True),
            interface_ip.get_interface_vrf(vpp, index, False),
            interface_ip.get_interface_vrf(vpp, index, True),
        )
        return InterfaceSnapshot(
            details=d,
            addresses=(*v4, *(a for a in v6 if a.ip not in _LINK_LOCAL)),
            vrf4=vrf4,
            vrf6=vrf6,
            unnumbered_of=unnumbered.get(index),
            tap=by_tap.get(index),
            memif=by_memif.get(index),
            af_packet_host=by_host.get(index),
            vxlan=by_tunnel.get(index),
        )

    snapshot = VppSnapshot()
    for item in await asyncio.gather(*(one(d) for d in found)):
        snapshot.interfaces[item.sw_if_index] = item
    snapshot.tables = await vrf.dump_vrf_tables(vpp)
    route_lists = await asyncio.gather(
        *(routes.dump_routes(vpp, t.table_id, t.ipv6) for t in snapshot.tables)
    )
    snapshot.routes = [r for listed in route_lists for r in listed]
    v4n, v6n = await asyncio.gather(
        neighbors.dump_neighbors(vpp, False), neighbors.dump_neighbors(vpp, True)
    )
    snapshot.neighbors = [*v4n, *v6n]
    snapshot.proxy_arp_ranges = await proxy_arp.dump_proxy_arp_ranges(vpp)
    snapshot.proxy_arp_interfaces = await proxy_arp.dump_proxy_arp_interfaces(vpp)
    snapshot.bridge_domains = await bridge_domains.dump_bridge_domains(vpp)
    snapshot.l2fib = await l2fib.dump_l2fib(vpp)
    snapshot.xconnects = await xconnect.dump_xconnects(vpp)
    snapshot.memif_sockets = {s.socket_id: s.filename for s in sockets}
    return snapshot
