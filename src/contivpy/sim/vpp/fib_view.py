"""Routes as a VPP's FIB shows them, and fib_path in and out of the wire format.

In: the state's API routes, interface addresses and VRF bindings, or a decoded fib_path.
Out: :class:`~contivpy.sim.vpp.model.Path` values, and ip_route_details field dicts for one
table: the API's routes plus what VPP installs by itself, which a control plane must learn to
leave alone when it reads routes back:

- every IPv4 table: drop routes for 0.0.0.0/0, 0.0.0.0/32, 224.0.0.0/4, 240.0.0.0/4 and
  255.255.255.255/32; every IPv6 table: a drop route for ::/0 and a local one for fe80::/10;
- per interface address in the table: the connected prefix via the interface and a local
  host route (an approximation: no glean/broadcast entries).

VPP stores a path weight of 0 as 1; so does the simulator.
"""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.handlers import Fields
from contivpy.sim.vpp.model import Path
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import (
    NO_INDEX,
    IpNetwork,
    prefix_to_wire,
    union_from_wire,
    union_to_wire,
)

PATH_NORMAL = 0
PATH_LOCAL = 1
PATH_DROP = 2
PROTO_IP4 = 0
PROTO_IP6 = 1
_LABELS = 16

_SPECIAL_DROPS_4 = ("0.0.0.0/0", "0.0.0.0/32", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32")


def path_from_wire(path: Message, is_ip6: bool) -> Path:
    """A route path from a decoded fib_path."""
    proto = path.get_int("proto")
    address = union_from_wire(path.get_struct("nh").get_struct("address"), proto == PROTO_IP6)
    return Path(
        sw_if_index=path.get_int("sw_if_index"),
        table_id=path.get_int("table_id"),
        next_hop=None if address.packed == bytes(len(address.packed)) else address,
        type=path.get_int("type"),
        flags=path.get_int("flags"),
        proto=proto,
        weight=path.get_int("weight") or 1,
        preference=path.get_int("preference"),
        rpf_id=path.get_int("rpf_id"),
    )


def path_to_wire(path: Path) -> Fields:
    """fib_path fields for a path (with the 16 empty labels the serializer insists on)."""
    return {
        "sw_if_index": path.sw_if_index,
        "table_id": path.table_id,
        "rpf_id": path.rpf_id,
        "weight": path.weight,
        "preference": path.preference,
        "type": path.type,
        "flags": path.flags,
        "proto": path.proto,
        "nh": {"address": union_to_wire(path.next_hop)},
        "n_labels": 0,
        "label_stack": [{}] * _LABELS,
    }


def system_routes(state: VppState, is_ip6: bool, table_id: int) -> dict[IpNetwork, list[Path]]:
    """The routes VPP installs by itself in one table (special drops, connected, local)."""
    proto = PROTO_IP6 if is_ip6 else PROTO_IP4

    def special(kind: int) -> list[Path]:
        return [Path(NO_INDEX, table_id, None, kind, 0, proto, 1, 0)]

    routes: dict[IpNetwork, list[Path]] = {}
    if is_ip6:
        routes[ipaddress.ip_network("::/0")] = special(PATH_DROP)
        routes[ipaddress.ip_network("fe80::/10")] = special(PATH_LOCAL)
    else:
        for prefix in _SPECIAL_DROPS_4:
            routes[ipaddress.ip_network(prefix)] = special(PATH_DROP)
    for iface in state.interfaces.values():
        if (iface.vrf6 if is_ip6 else iface.vrf4) != table_id:
            continue
        for address in iface.addresses:
            if (address.version == 6) != is_ip6:
                continue
            via = Path(iface.sw_if_index, table_id, None, PATH_NORMAL, 0, proto, 1, 0)
            local = Path(iface.sw_if_index, table_id, None, PATH_LOCAL, 0, proto, 1, 0)
            host = ipaddress.ip_network(address.ip)
            if address.network != host:
                routes[address.network] = [via]
            routes[host] = [local]
    return routes


def route_details(state: VppState, is_ip6: bool, table_id: int) -> list[Fields]:
    """ip_route_details for every route of one table (none if the table does not exist)."""
    if state.table(is_ip6, table_id) is None:
        return []
    routes = system_routes(state, is_ip6, table_id)
    for prefix, route in state.routes.get((is_ip6, table_id), {}).items():
        routes[prefix] = route.paths
    out: list[Fields] = []
    for prefix, paths in sorted(
        routes.items(), key=lambda kv: (kv[0].network_address, kv[0].prefixlen)
    ):
        out.append(
            {
                "route": {
                    "table_id": table_id,
                    "stats_index": 0,
                    "prefix": prefix_to_wire(prefix),
                    "n_paths": len(paths),
                    "paths": [path_to_wire(p) for p in paths],
                }
            }
        )
    return out
