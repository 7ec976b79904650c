"""VRF tables, routes and IP neighbours.

In: ip_table_add_del, ip_table_dump, ip_route_add_del, ip_route_dump, ip_neighbor_add_del,
ip_neighbor_dump. Out: replies and details.

As a real VPP: creating a table that exists is accepted, deleting a missing one too; a route
into a missing table (or via a missing next-hop table) is NO_SUCH_FIB; a route without paths
NO_PATHS_IN_ROUTE; a non-multipath add replaces the route's paths, a multipath add or delete
changes one path; deleting a route that is not there is a silent no-op (as FIB deletes are).
A path via an interface VPP does not have is NO_MATCHING_INTERFACE.
Deleting a neighbour that is not there is NO_SUCH_ENTRY.
Route dumps (ip_route_dump, and ip_route_v2_dump with the route's FIB source and an optional
source filter) also show what VPP adds by itself: the special routes of every table, the
interface routes of admin-up interfaces' addresses and neighbour host routes (see
``fib_entries.py``).
"""

from __future__ import annotations

from contivpy.sim.vpp.fib_entries import route_details
from contivpy.sim.vpp.fib_view import PATH_NORMAL, path_from_wire
from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import IpTable, Neighbor, Route, SimError
from contivpy.sim.vpp.state import VppState, default_table_name
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import (
    NO_INDEX,
    address_from_wire,
    address_to_wire,
    prefix_from_wire,
)


def ip_table_add_del(state: VppState, msg: Message) -> Fields:
    table = msg.get_struct("table")
    is_ip6 = table.get_bool("is_ip6")
    table_id = table.get_int("table_id")
    existing = state.table(is_ip6, table_id)
    if msg.get_bool("is_add"):
        if existing is None:
            name = table.get_str("name") or default_table_name(is_ip6, table_id)
            state.tables[(is_ip6, table_id)] = IpTable(table_id, is_ip6, name, True)
        else:
            existing.api_owned = True
        return {}
    if existing is not None and table_id != 0:
        existing.api_owned = False
        # The API's routes go with the API's lock on the table.
        state.routes.pop((is_ip6, table_id), None)
        state.drop_unused_tables()
    return {}


def ip_table_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"table": {"table_id": t.table_id, "is_ip6": t.is_ip6, "name": t.name}}
        for (_is_ip6, _table_id), t in sorted(state.tables.items())
    ]


def ip_route_add_del(state: VppState, msg: Message) -> Fields:
    route = msg.get_struct("route")
    prefix = prefix_from_wire(route.get_struct("prefix"))
    is_ip6 = prefix.version == 6
    table_id = route.get_int("table_id")
    state.require_table(is_ip6, table_id)
    paths = [path_from_wire(p, is_ip6) for p in route.get_structs("paths")]
    for path in paths:
        if path.sw_if_index != NO_INDEX:
            state.interface(path.sw_if_index, Retval.NO_MATCHING_INTERFACE)
        elif path.type == PATH_NORMAL:
            # Without an interface the next hop (or the destination) is looked up in the
            # path's table: it must exist.
            state.require_table(is_ip6, path.table_id)
    table_routes = state.routes.setdefault((is_ip6, table_id), {})
    existing = table_routes.get(prefix)
    if msg.get_bool("is_add"):
        if not paths:
            raise SimError(Retval.NO_PATHS_IN_ROUTE, f"{prefix} without paths")
        if existing is None or not msg.get_bool("is_multipath"):
            table_routes[prefix] = Route(table_id, prefix, paths)
        else:
            for path in paths:
                existing.paths = [p for p in existing.paths if not p.same_path(path)] + [path]
        return {"stats_index": 0}
    if existing is None:
        return {"stats_index": 0}
    if msg.get_bool("is_multipath") and paths:
        existing.paths = [p for p in existing.paths if not any(p.same_path(q) for q in paths)]
        if existing.paths:
            return {"stats_index": 0}
    del table_routes[prefix]
    return {"stats_index": 0}


def ip_route_dump(state: VppState, msg: Message) -> list[Fields]:
    table = msg.get_struct("table")
    return route_details(state, table.get_bool("is_ip6"), table.get_int("table_id"))


def ip_route_v2_dump(state: VppState, msg: Message) -> list[Fields]:
    table = msg.get_struct("table")
    return route_details(
        state,
        table.get_bool("is_ip6"),
        table.get_int("table_id"),
        source=msg.get_int("src"),
        with_source=True,
    )


def ip_neighbor_add_del(state: VppState, msg: Message) -> Fields:
    neighbor = msg.get_struct("neighbor")
    iface = state.interface(neighbor.get_int("sw_if_index"))
    ip = address_from_wire(neighbor.get_struct("ip_address"))
    key = (iface.sw_if_index, ip)
    if msg.get_bool("is_add"):
        state.neighbors[key] = Neighbor(
            iface.sw_if_index, ip, neighbor.get_bytes("mac_address"), neighbor.get_int("flags")
        )
        return {"stats_index": 0}
    if key not in state.neighbors:
        raise SimError(Retval.NO_SUCH_ENTRY, f"no neighbour {ip} on {iface.name}")
    del state.neighbors[key]
    return {"stats_index": 0}


def ip_neighbor_dump(state: VppState, msg: Message) -> list[Fields]:
    wanted = msg.get_int("sw_if_index")
    want_ip6 = msg.get_int("af") == 1
    return [
        {
            "age": 0.0,
            "neighbor": {
                "sw_if_index": n.sw_if_index,
                "flags": n.flags,
                "mac_address": n.mac,
                "ip_address": address_to_wire(n.ip),
            },
        }
        for (index, ip), n in state.neighbors.items()
        if wanted in (NO_INDEX, index) and (ip.version == 6) == want_ip6
    ]


HANDLERS: dict[str, Handler] = {
    "ip_table_add_del": ip_table_add_del,
    "ip_table_dump": ip_table_dump,
    "ip_route_add_del": ip_route_add_del,
    "ip_route_dump": ip_route_dump,
    "ip_route_v2_dump": ip_route_v2_dump,
    "ip_neighbor_add_del": ip_neighbor_add_del,
    "ip_neighbor_dump": ip_neighbor_dump,
}
