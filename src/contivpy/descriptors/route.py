"""Static routes (``vpp-route``):
``config/vpp/v2/route/[if/<out-if>/]vrf/<vrf>/dst/<ip>/<len>/gw/<gw>``.

In: :class:`~contivpy.models.Route` values. Out: one path of a VPP route each (routes to the
same destination become one multipath route), and the paths VPP has (retrieve).

Dependencies: the outgoing interface, the route's VRF table (VRF 0 always exists) and, for an
inter-VRF route, the table it looks up in. Every change is a re-create (delete the path, add
the new one). The path a route was made with is its metadata, so it can be deleted even once
its interface is gone (VPP keeps a route through a deleted interface, forwarding to drop).

Retrieve reads every route of every table and takes only those whose (best) FIB source is
the API's as ours: VPP's own routes (special drops, fe80::/10, interface, network/broadcast
and neighbour routes) are never read as ours, whatever their prefix, so a resync never
deletes them. Where a source better than the API's holds a prefix (an interface route), VPP
reports only that source: whether the API holds the prefix too cannot be read back (a real
VPP lists it under neither source), so the desired routes for that prefix are taken as they
are (VPP forwards by the better source's paths while it is there). A route
through an interface that is not ours is reported as obtained; one through an interface VPP no
longer has (deleted behind the agent's back: VPP keeps the route, forwarding to drop) as ours
and undesired, named ``GONE-sw_if_index-<n>``, so a resync removes it before the index is
handed to a new interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.route_checks import same_route, validate_route
from contivpy.models.vpp_keys import (
    ROUTE_PREFIX,
    interface_key,
    parse_address,
    parse_network,
    route_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol, Route, RouteType
from contivpy.scheduler import Dependency, Origin, Retrieved
from contivpy.vppcalls import routes as vpp_routes
from contivpy.vppcalls.errors import VppApiError
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.routes import SOURCE_API, PathType, RoutePath
from contivpy.vppcalls.vrf import dump_vrf_tables
from contivpy.vppcalls.wire import NO_INDEX, IpNetwork

#: how a route through a deleted interface names it: VPP keeps such a route (forwarding to
#: drop) with the old sw_if_index, which may later be handed to a new interface
GONE_INTERFACE_PREFIX = "GONE-sw_if_index-"


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

    async def create(self, key: str, value: Route) -> RoutePath:
        network = parse_network(value.dst_network)
        path = self._path(value)
        await vpp_routes.add_path(self.vpp, value.vrf, network, path)
        return path

    async def delete(self, key: str, value: Route, metadata: object) -> None:
        network = parse_network(value.dst_network)
        # The path as made (or read back): it names the interface even if that is gone.
        path = metadata if isinstance(metadata, RoutePath) else self._path(value)
        try:
            await vpp_routes.delete_path(self.vpp, value.vrf, network, path)
        except VppApiError as error:
            if error.retval != Retval.NO_MATCHING_INTERFACE:
                raise
            await self._drop_dead_paths(value.vrf, network)

    async def _drop_dead_paths(self, vrf: int, network: IpNetwork) -> None:
        """Remove the paths of the prefix through interfaces VPP no longer has.

        VPP refuses to name such a path in a request (NO_MATCHING_INTERFACE), delete
        included: so the API's paths of the prefix are replaced by the live ones (or the
        API's route is deleted when none is left)."""
        known = self.interfaces.by_sw_if_index()
        routes = await vpp_routes.dump_routes(
            self.vpp, vrf, network.version == 6, source=SOURCE_API
        )
        current = next((r for r in routes if r.prefix == network), None)
        if current is None:
            return
        live = tuple(p for p in current.paths if p.sw_if_index in (NO_INDEX, *known))
        if live and current.source == SOURCE_API:
            await vpp_routes.add_route(self.vpp, vpp_routes.Route(network, live, vrf))
        else:
            await vpp_routes.delete_route(self.vpp, vpp_routes.Route(network, (), vrf))

    def _path(self, value: Route) -> RoutePath:
        # Built in one go (no dataclasses.replace of a base path): this runs per route add.
        weight, preference = value.weight, value.preference
        if value.type is RouteType.DROP:
            return RoutePath(type=PathType.DROP, weight=weight, preference=preference)
        next_hop = parse_address(value.next_hop) if value.next_hop else None
        if value.type is RouteType.INTER_VRF:
            return RoutePath(
                next_hop=next_hop, table_id=value.via_vrf, weight=weight, preference=preference
            )
        sw_if_index = NO_INDEX
        if value.outgoing_interface:
            sw_if_index = self.interfaces.sw_if_index(value.outgoing_interface)
        return RoutePath(
            sw_if_index=sw_if_index,
            next_hop=next_hop,
            table_id=value.vrf,
            weight=weight,
            preference=preference,
        )

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        tables = [(t.table_id, t.ipv6) for t in await dump_vrf_tables(self.vpp)]
        dumps = await asyncio.gather(
            *(vpp_routes.dump_routes(self.vpp, table_id, ipv6) for table_id, ipv6 in tables)
        )
        interfaces = self.interfaces.by_sw_if_index()
        names = {index: name for index, (name, _) in interfaces.items()}
        owned = {name: meta.owned for name, meta in interfaces.values()}
        desired_by_prefix = _by_prefix(correlate)
        found: list[Retrieved] = []
        for routes in dumps:
            for vpp_route in routes:
                if vpp_route.source != SOURCE_API:
                    if vpp_route.source < SOURCE_API:  # better than the API's: may hide ours
                        # The desired routes of a prefix VPP forwards by that source's paths.
                        found += [
                            Retrieved(key, desired, None, origin=Origin.NB)
                            for key, desired in desired_by_prefix.get(
                                (vpp_route.table_id, vpp_route.prefix), ()
                            )
                        ]
                    continue
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
                    origin = _origin(route, desired, owned)
                    found.append(Retrieved(key, route, path, origin=origin))
        return found


def _by_prefix(
    correlate: Mapping[str, Any],
) -> dict[tuple[int, IpNetwork], list[tuple[str, Route]]]:
    """The desired routes by (VRF, destination network), built once per retrieve: every
    interface address gives VPP a route of a better source than the API's, so looking each
    one up in the whole desired state would cost routes times desired values."""
    out: dict[tuple[int, IpNetwork], list[tuple[str, Route]]] = {}
    for key, desired in correlate.items():
        if not isinstance(desired, Route):
            continue
        try:
            network = parse_network(desired.dst_network)
        except ValueError:
            continue  # invalid: never applied
        out.setdefault((desired.vrf, network), []).append((key, desired))
    return out


def _protocol(value: Route) -> IpProtocol:
    v6 = parse_network(value.dst_network).version == 6
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
        name = names.get(path.sw_if_index, f"{GONE_INTERFACE_PREFIX}{path.sw_if_index}")
        return replace(base, next_hop=next_hop, outgoing_interface=name)
    if path.table_id != route.table_id:
        return replace(base, next_hop=next_hop, via_vrf=path.table_id, type=RouteType.INTER_VRF)
    return replace(base, next_hop=next_hop)


def _origin(route: Route, desired: object, owned: Mapping[str, bool]) -> Origin:
    """Ours unless it goes out of an interface that is not ours and is not desired; a route
    through an interface VPP no longer has is ours to remove (it only drops traffic)."""
    name = route.outgoing_interface
    if desired is not None or not name or name.startswith(GONE_INTERFACE_PREFIX):
        return Origin.NB
    return Origin.NB if owned.get(name, False) else Origin.SB
