"""Static routes (``vpp-route``):
``config/vpp/v2/route/[if/<out-if>/]vrf/<vrf>/dst/<ip>/<len>/gw/<gw>``.

In: :class:`~contivpy.models.Route` values. Out: one path of a VPP route each (routes to the
same destination become one multipath route), and the paths VPP has (retrieve).

Dependencies: the outgoing interface, the route's VRF table (VRF 0 always exists) and, for an
inter-VRF route, the table it looks up in. Every change is a re-create (delete the path, add
the new one). Retrieve leaves out what VPP installs by itself — local routes, the special
drop routes of every table, connected prefixes of interface addresses — unless that very
route is desired; a route through an interface that is not ours is reported as obtained.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.route_checks import same_route, validate_route
from contivpy.models.vpp_keys import (
    ROUTE_PREFIX,
    interface_address_prefix,
    interface_key,
    parse_interface_address_key,
    route_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol, Route, RouteType
from contivpy.scheduler import Dependency, Origin, Retrieved
from contivpy.vppcalls import routes as vpp_routes
from contivpy.vppcalls.routes import PathType, RoutePath
from contivpy.vppcalls.vrf import dump_vrf_tables
from contivpy.vppcalls.wire import NO_INDEX, IpNetwork

#: drop routes VPP puts into every table
_SPECIAL_DROPS = frozenset(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/0", "0.0.0.0/32", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32", "::/0")
)


class RouteDescriptor(VppDescriptor):
    """One path of a static route."""

    name: ClassVar[str] = "vpp-route"
    key_prefix: ClassVar[str] = ROUTE_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface", "vpp-vrf-table")

    def validate(self, key: str, value: Any) -> None:
        validate_route(key, value)

    def dependencies(self, key: str, value: Route) -> Sequence[Dependency]:
        protocol = _protocol(value)
        deps: list[Dependency] = []
        if value.outgoing_interface:
            deps.append(
                Dependency("outgoing interface", key=interface_key(value.outgoing_interface))
            )
        if value.vrf:
            deps.append(Dependency("VRF table", key=vrf_table_key(value.vrf, protocol)))
        if value.type is RouteType.INTER_VRF and value.via_vrf:
            deps.append(
                Dependency("next-hop VRF table", key=vrf_table_key(value.via_vrf, protocol))
            )
        return deps

    def equivalent(self, key: str, old: Route, new: Route) -> bool:
        return same_route(old, new)

    async def create(self, key: str, value: Route) -> None:
        network = ipaddress.ip_network(value.dst_network)
        await vpp_routes.add_path(self.vpp, value.vrf, network, self._path(value))

    async def delete(self, key: str, value: Route, metadata: object) -> None:
        network = ipaddress.ip_network(value.dst_network)
        await vpp_routes.delete_path(self.vpp, value.vrf, network, self._path(value))

    def _path(self, value: Route) -> RoutePath:
        base = RoutePath(weight=value.weight, preference=value.preference)
        if value.type is RouteType.DROP:
            return replace(base, type=PathType.DROP)
        next_hop = ipaddress.ip_address(value.next_hop) if value.next_hop else None
        if value.type is RouteType.INTER_VRF:
            return replace(base, next_hop=next_hop, table_id=value.via_vrf)
        sw_if_index = NO_INDEX
        if value.outgoing_interface:
            sw_if_index = self.interfaces.sw_if_index(value.outgoing_interface)
        return replace(base, sw_if_index=sw_if_index, next_hop=next_hop, table_id=value.vrf)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        tables = [(t.table_id, t.ipv6) for t in await dump_vrf_tables(self.vpp)]
        dumps = await asyncio.gather(
            *(vpp_routes.dump_routes(self.vpp, table_id, ipv6) for table_id, ipv6 in tables)
        )
        interfaces = self.interfaces.by_sw_if_index()
        names = {index: name for index, (name, _) in interfaces.items()}
        owned = {name: meta.owned for name, meta in interfaces.values()}
        found: list[Retrieved] = []
        for routes in dumps:
            for vpp_route in routes:
                for path in vpp_route.paths:
                    route = _route_of(vpp_route, path, names)
                    if route is None:
                        continue
                    key = route_key(
                        route.vrf, route.dst_network, route.next_hop, route.outgoing_interface
                    )
                    desired = correlate.get(key)
                    if isinstance(desired, Route) and same_route(desired, route):
                        route = desired
                    elif desired is None and self._installed_by_vpp(vpp_route.prefix, route):
                        continue
                    found.append(Retrieved(key, route, origin=_origin(route, desired, owned)))
        return found

    def _installed_by_vpp(self, prefix: IpNetwork, route: Route) -> bool:
        """A route VPP adds by itself: a special drop or an interface's connected prefix."""
        if route.type is RouteType.DROP:
            return prefix in _SPECIAL_DROPS
        if route.type is not RouteType.INTRA_VRF or route.next_hop or not route.outgoing_interface:
            return False
        for key in self.view.keys_with_prefix(interface_address_prefix(route.outgoing_interface)):
            parsed = parse_interface_address_key(key)
            if parsed is not None and ipaddress.ip_interface(parsed[1]).network == prefix:
                return True
        return False


def _protocol(value: Route) -> IpProtocol:
    v6 = ipaddress.ip_network(value.dst_network).version == 6
    return IpProtocol.IPV6 if v6 else IpProtocol.IPV4


def _route_of(route: vpp_routes.Route, path: RoutePath, names: Mapping[int, str]) -> Route | None:
    """The Route value one path stands for; None for paths contivpy never makes."""
    base = Route(
        dst_network=str(route.prefix),
        vrf=route.table_id,
        weight=path.weight,
        preference=path.preference,
    )
    if path.type is PathType.DROP:
        return replace(base, type=RouteType.DROP)
    if path.type is not PathType.NORMAL:
        return None  # local routes, ICMP unreachables, ...: VPP's own
    next_hop = str(path.next_hop) if path.next_hop is not None else ""
    if path.sw_if_index != NO_INDEX:
        name = names.get(path.sw_if_index)
        if name is None:
            return None
        return replace(base, next_hop=next_hop, outgoing_interface=name)
    if path.table_id != route.table_id:
        return replace(base, next_hop=next_hop, via_vrf=path.table_id, type=RouteType.INTER_VRF)
    return replace(base, next_hop=next_hop)


def _origin(route: Route, desired: object, owned: Mapping[str, bool]) -> Origin:
    """Ours unless it goes out of an interface that is not ours and is not desired."""
    if desired is not None or not route.outgoing_interface:
        return Origin.NB
    return Origin.NB if owned.get(route.outgoing_interface, False) else Origin.SB
