"""The entries of one simulated FIB table as VPP 26.06 holds them: every prefix with the
sources that put it there, and what a route dump reports of it.

In: a :class:`~contivpy.sim.vpp.state.VppState`, an address family and a table id. Out:
:func:`fib_entries`, prefix → :class:`FibEntry` (its paths per FIB source); ``best_source``
and ``best_paths`` (what VPP forwards with and dumps: the source of highest priority wins);
:func:`route_details`, the ip_route_details / ip_route_v2_details fields of one table.

What VPP adds by itself, with the source it uses (``fib_source_t`` values of VPP 26.06):

- when a table is made (SPECIAL, DEFAULT_ROUTE): IPv4 drops for 0.0.0.0/0, 0.0.0.0/32,
  224.0.0.0/4, 240.0.0.0/4, 255.255.255.255/32; IPv6 a drop for ::/0 and fe80::/10 to the
  link-local table (dumped as a NORMAL path with sw_if_index ~0);
- per address of an admin-up interface (INTERFACE): a local (receive) host route whose path
  names the address, the connected prefix via the interface, and for IPv4 prefixes up to /30
  drop /32s for the network and broadcast addresses (a /31 gets the other address, attached);
  nothing while the interface is admin-down, nothing for an unnumbered interface;
- per static neighbour without NO_FIB_ENTRY (ADJ): a host route via the interface to it.

API routes are source API. A path via an interface (or a special one) reports table_id 0; only
a path resolved in a table (a next hop without an interface, or a lookup in another VRF) names
that table, as VPP's fib_path_encode does.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field, replace

from contivpy.sim.vpp.fib_view import PATH_DROP, PATH_LOCAL, PATH_NORMAL, path_to_wire
from contivpy.sim.vpp.handlers import Fields
from contivpy.sim.vpp.model import Interface, Path
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.wire import NO_INDEX, IpAddress, IpNetwork, prefix_to_wire

PROTO_IP4 = 0
PROTO_IP6 = 1
#: ip_neighbor_flags: the neighbour gets no host route
NEIGHBOR_NO_FIB_ENTRY = 2


class FibSource(enum.IntEnum):
    """fib_source_t (VPP 26.06 src/vnet/fib/fib_source.h), as ip_route_v2 carries it."""

    SPECIAL = 1
    CLASSIFY = 2
    PROXY = 3
    INTERFACE = 4
    API = 8
    CLI = 9
    ADJ = 15
    DEFAULT_ROUTE = 20

    @property
    def priority(self) -> int:
        """Lower wins (foreach_fib_source in fib_source.h)."""
        return _PRIORITY[self]


_PRIORITY = {
    FibSource.SPECIAL: 0x00,
    FibSource.CLASSIFY: 0x01,
    FibSource.PROXY: 0x02,
    FibSource.INTERFACE: 0x03,
    FibSource.API: 0x80,
    FibSource.CLI: 0x81,
    FibSource.ADJ: 0xD0,
    FibSource.DEFAULT_ROUTE: 0xFD,
}

_SPECIALS_4 = (
    ("0.0.0.0/0", FibSource.DEFAULT_ROUTE),
    ("0.0.0.0/32", FibSource.DEFAULT_ROUTE),
    ("224.0.0.0/4", FibSource.SPECIAL),
    ("240.0.0.0/4", FibSource.SPECIAL),
    ("255.255.255.255/32", FibSource.DEFAULT_ROUTE),
)


@dataclass
class FibEntry:
    """One prefix of a table: the paths each source gave it."""

    prefix: IpNetwork
    sources: dict[FibSource, list[Path]] = field(default_factory=dict)

    @property
    def best_source(self) -> FibSource:
        """The source VPP forwards with (and a dump reports)."""
        return min(self.sources, key=lambda s: s.priority)

    @property
    def best_paths(self) -> list[Path]:
        """The paths of the best source."""
        return self.sources[self.best_source]


def _path(
    proto: int,
    *,
    sw_if_index: int = NO_INDEX,
    kind: int = PATH_NORMAL,
    next_hop: IpAddress | None = None,
) -> Path:
    return Path(sw_if_index, 0, next_hop, kind, 0, proto, 1, 0)


def fib_entries(state: VppState, is_ip6: bool, table_id: int) -> dict[IpNetwork, FibEntry]:
    """Every entry of the table (empty when the table does not exist)."""
    if state.table(is_ip6, table_id) is None:
        return {}
    entries: dict[IpNetwork, FibEntry] = {}

    def add(prefix: IpNetwork, source: FibSource, paths: list[Path]) -> None:
        entries.setdefault(prefix, FibEntry(prefix)).sources[source] = paths

    proto = PROTO_IP6 if is_ip6 else PROTO_IP4
    if is_ip6:
        add(ipaddress.ip_network("::/0"), FibSource.DEFAULT_ROUTE, [_path(proto, kind=PATH_DROP)])
        add(ipaddress.ip_network("fe80::/10"), FibSource.SPECIAL, [_path(proto)])
    else:
        for text, source in _SPECIALS_4:
            add(ipaddress.ip_network(text), source, [_path(proto, kind=PATH_DROP)])
    for iface in state.interfaces.values():
        if iface.admin_up and iface.table_id(6 if is_ip6 else 4) == table_id:
            for prefix, paths in _interface_routes(iface, is_ip6):
                add(prefix, FibSource.INTERFACE, paths)
    for (sw_if_index, ip), neighbor in state.neighbors.items():
        owner = state.interfaces.get(sw_if_index)
        if (
            owner is None
            or (ip.version == 6) != is_ip6
            or owner.table_id(ip.version) != table_id
            or neighbor.flags & NEIGHBOR_NO_FIB_ENTRY
            or ip.is_link_local
        ):
            continue
        host = ipaddress.ip_network(ip)
        add(host, FibSource.ADJ, [_path(proto, sw_if_index=sw_if_index, next_hop=ip)])
    for prefix, route in state.routes.get((is_ip6, table_id), {}).items():
        if route.paths:
            add(prefix, FibSource.API, list(route.paths))
    return entries


def _interface_routes(iface: Interface, is_ip6: bool) -> list[tuple[IpNetwork, list[Path]]]:
    """The routes VPP adds for the interface's own addresses of one family."""
    proto = PROTO_IP6 if is_ip6 else PROTO_IP4
    index = iface.sw_if_index
    out: list[tuple[IpNetwork, list[Path]]] = []
    for address in iface.addresses:
        if (address.version == 6) != is_ip6:
            continue
        host = ipaddress.ip_network(address.ip)
        out.append((host, [_path(proto, sw_if_index=index, kind=PATH_LOCAL, next_hop=address.ip)]))
        network = address.network
        if network.prefixlen == network.max_prefixlen:
            continue
        out.append((network, [_path(proto, sw_if_index=index)]))
        if is_ip6:
            continue
        if network.prefixlen <= 30:
            for special in (network.network_address, network.broadcast_address):
                if special != address.ip:
                    out.append((ipaddress.ip_network(special), [_path(proto, kind=PATH_DROP)]))
        else:  # a /31: the other address is attached
            other = ipaddress.ip_address(int(address.ip) ^ 1)
            attached = _path(proto, sw_if_index=index, next_hop=other)
            out.append((ipaddress.ip_network(other), [attached]))
    return out


def reported(path: Path) -> Path:
    """The path as a dump shows it: only a path resolved in a table names that table."""
    resolves_in_table = path.sw_if_index == NO_INDEX and path.type == PATH_NORMAL
    return path if resolves_in_table else replace(path, table_id=0)


def route_details(
    state: VppState, is_ip6: bool, table_id: int, source: int = 0, with_source: bool = False
) -> list[Fields]:
    """ip_route_details (or, ``with_source``, ip_route_v2_details) of every entry of one
    table; ``source`` other than 0 keeps only entries whose best source it is, as a real
    VPP's ip_route_v2_dump filter does: an API route shadowed by a better source (the
    interface route of the same prefix) is not listed under the API's source at all."""
    out: list[Fields] = []
    entries = fib_entries(state, is_ip6, table_id)
    for prefix in sorted(entries, key=lambda p: (p.network_address, p.prefixlen)):
        entry = entries[prefix]
        if source and entry.best_source != source:
            continue
        paths = entry.best_paths
        route: Fields = {
            "table_id": table_id,
            "stats_index": 0,
            "prefix": prefix_to_wire(prefix),
            "n_paths": len(paths),
            "paths": [path_to_wire(reported(p)) for p in paths],
        }
        if with_source:
            route["src"] = int(entry.best_source)
        out.append({"route": route})
    return out
