"""IP routes: multipath, via an interface, via a next hop, via a lookup in another VRF, drop.

In: :class:`Route` (a prefix in a VRF and its paths). Out: ip_route_v2_dump as :class:`Route`
values, each with the FIB source VPP forwards it with. :func:`add_route` replaces the prefix's
paths with the given ones; :func:`add_path` and :func:`delete_path` change one path of a
multipath route. A table also holds what VPP installs itself (special drops, fe80::/10,
interface routes of admin-up interfaces, network/broadcast drops, neighbour host routes):
tell them apart by ``source`` (:data:`SOURCE_API` for routes made through the API), never by
prefix; :func:`dump_routes` with ``source=SOURCE_API`` lists only prefixes whose best source
is the API's (a prefix the API shares with a better source, e.g. an interface route, is listed
under that source only).
Paths read back as VPP encodes them: weight 0 as 1 (so paths default to weight 1), and
``table_id`` 0 unless the path resolves in a table (no interface).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.wire import (
    NO_INDEX,
    IpAddress,
    IpNetwork,
    prefix_from_wire,
    prefix_to_wire,
    union_from_wire,
    union_to_wire,
)

PROTO_IP4 = 0
PROTO_IP6 = 1
#: fib_source_t values (VPP 26.06): routes made through the API, and what VPP makes itself
SOURCE_ANY = 0
SOURCE_SPECIAL = 1
SOURCE_INTERFACE = 4
SOURCE_API = 8
SOURCE_CLI = 9
SOURCE_ADJ = 15
SOURCE_DEFAULT_ROUTE = 20
#: vpp_papi's serializer wants every one of the 16 label slots present, used or not; an
#: empty one is packed as zeros (and the codec packs sixteen empty ones at once).
_EMPTY_LABELS: list[dict[str, object]] = [{} for _ in range(16)]


class PathType(enum.IntEnum):
    """fib_path_type."""

    NORMAL = 0
    LOCAL = 1
    DROP = 2
    UDP_ENCAP = 3
    BIER_IMP = 4
    ICMP_UNREACH = 5
    ICMP_PROHIBIT = 6
    SOURCE_LOOKUP = 7
    DVR = 8
    INTERFACE_RX = 9
    CLASSIFY = 10


@dataclass(frozen=True)
class RoutePath:
    """One way out: an interface and/or next hop, a lookup in ``table_id``, or drop."""

    sw_if_index: int = NO_INDEX
    next_hop: IpAddress | None = None
    #: with no interface and no next hop: look the destination up in this VRF
    table_id: int = 0
    type: PathType = PathType.NORMAL
    weight: int = 1
    preference: int = 0
    flags: int = 0

    @classmethod
    def via_interface(cls, sw_if_index: int, next_hop: IpAddress | None = None) -> RoutePath:
        """Out of an interface (to a next hop on it, or attached)."""
        return cls(sw_if_index=sw_if_index, next_hop=next_hop)

    @classmethod
    def via_next_hop(cls, next_hop: IpAddress, table_id: int = 0) -> RoutePath:
        """To a next hop resolved in VRF ``table_id``."""
        return cls(next_hop=next_hop, table_id=table_id)

    @classmethod
    def via_vrf(cls, table_id: int) -> RoutePath:
        """Look the destination up again in another VRF."""
        return cls(table_id=table_id)

    @classmethod
    def drop(cls) -> RoutePath:
        """Drop the traffic."""
        return cls(type=PathType.DROP)

    def to_wire(self, ipv6: bool) -> dict[str, object]:
        """fib_path fields."""
        return {
            "sw_if_index": self.sw_if_index,
            "table_id": self.table_id,
            "rpf_id": 0,
            "weight": self.weight,
            "preference": self.preference,
            "type": int(self.type),
            "flags": self.flags,
            "proto": PROTO_IP6 if ipv6 else PROTO_IP4,
            "nh": {"address": union_to_wire(self.next_hop)},
            "n_labels": 0,
            "label_stack": _EMPTY_LABELS,
        }

    @classmethod
    def from_message(cls, path: Message) -> RoutePath:
        """From a decoded fib_path."""
        ipv6 = path.get_int("proto") == PROTO_IP6
        address = union_from_wire(path.get_struct("nh").get_struct("address"), ipv6)
        return cls(
            sw_if_index=path.get_int("sw_if_index"),
            next_hop=None if not int(address) else address,
            table_id=path.get_int("table_id"),
            type=PathType(path.get_int("type")),
            weight=path.get_int("weight"),
            preference=path.get_int("preference"),
            flags=path.get_int("flags"),
        )


@dataclass(frozen=True)
class Route:
    """``prefix`` in VRF ``table_id``, leaving by ``paths``; ``source`` is the FIB source
    whose paths VPP uses (the API's unless VPP holds the prefix with a better source)."""

    prefix: IpNetwork
    paths: tuple[RoutePath, ...]
    table_id: int = 0
    source: int = SOURCE_API

    @classmethod
    def from_message(cls, route: Message) -> Route:
        """From a decoded ip_route_v2 struct."""
        return cls(
            prefix=prefix_from_wire(route.get_struct("prefix")),
            paths=tuple(RoutePath.from_message(p) for p in route.get_structs("paths")),
            table_id=route.get_int("table_id"),
            source=route.get_int("src"),
        )


def _wire(route: Route, is_add: bool, multipath: bool) -> dict[str, object]:
    ipv6 = route.prefix.version == 6
    return {
        "is_add": is_add,
        "is_multipath": multipath,
        "route": {
            "table_id": route.table_id,
            "stats_index": 0,
            "prefix": prefix_to_wire(route.prefix),
            "n_paths": len(route.paths),
            "paths": [p.to_wire(ipv6) for p in route.paths],
        },
    }


async def add_route(vpp: ApiChannel, route: Route) -> None:
    """Install the route; an existing route for the prefix gets exactly these paths."""
    await vpp.call("ip_route_add_del", _wire(route, True, False))


async def delete_route(vpp: ApiChannel, route: Route) -> None:
    """Remove the route for the prefix (all its paths)."""
    await vpp.call("ip_route_add_del", _wire(Route(route.prefix, (), route.table_id), False, False))


async def add_path(vpp: ApiChannel, table_id: int, prefix: IpNetwork, path: RoutePath) -> None:
    """Add one path to the prefix's route (creating the route if needed)."""
    await vpp.call("ip_route_add_del", _wire(Route(prefix, (path,), table_id), True, True))


async def delete_path(vpp: ApiChannel, table_id: int, prefix: IpNetwork, path: RoutePath) -> None:
    """Remove one path; the route goes when its last path does."""
    await vpp.call("ip_route_add_del", _wire(Route(prefix, (path,), table_id), False, True))


async def dump_routes(
    vpp: ApiChannel, table_id: int, ipv6: bool, source: int = SOURCE_ANY
) -> list[Route]:
    """Every route of one VRF, VPP's own included; with ``source``, only prefixes whose best
    source it is (as a real VPP 26.06 filters)."""
    table = {"table_id": table_id, "is_ip6": ipv6, "name": ""}
    details = await vpp.dump("ip_route_v2_dump", {"src": source, "table": table})
    return [Route.from_message(d.get_struct("route")) for d in details]
