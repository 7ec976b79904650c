"""Descriptor of Linux routes.

In: :class:`~contivpy.linux.models.LinuxRoute` values under
``config/linux/l3/v2/route/<dst-net>/<dst-prefix>/<out-if>``. Out: the route in the main
table of the outgoing interface's namespace; a link-scope route also derives the
:class:`LinkScopeRoute` property, so a route via a gateway can wait for the gateway to be
reachable.

Dependencies: the outgoing interface; with a gateway, something that makes it reachable on
that interface: one of its addresses whose network holds the gateway, or a link-scope route
covering it (a pod has ``<ip>/32`` plus a link route to the gateway's /32). Retrieve
recognises routes by the desired and the applied ones (metadata: the value applied): same
destination, same outgoing link; the kernel's own (connected networks, link-local) are never
reported unless they are exactly the route asked for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from contivpy.errors import PermanentError
from contivpy.linux import keys
from contivpy.linux.descriptors import interface as interface_descriptor
from contivpy.linux.descriptors.common import (
    LinuxInterfaceMeta,
    check_ip,
    check_key,
    check_name,
    check_namespace,
    check_type,
    find,
    locate,
)
from contivpy.linux.errors import NetnsNotFoundError, ObjectExistsError, is_gone
from contivpy.linux.models import LinkScopeRoute, LinuxRoute, LinuxRouteScope
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NetnsRef, RouteInfo, RouteScope, RouteSpec
from contivpy.scheduler import (
    KV,
    Dependency,
    DescriptorBase,
    InvalidValueError,
    Key,
    MetadataView,
    Retrieved,
)

NAME = "linux-route"
_IPV6_DEFAULT_METRIC = 1024  # what the kernel gives an IPv6 route added with metric 0


class RouteNamespaceError(PermanentError):
    """The route names a namespace other than its outgoing interface's."""


class RouteDescriptor(DescriptorBase):
    """Routes by (destination, outgoing interface)."""

    name = NAME
    key_prefix = keys.ROUTE_PREFIX
    retrieve_after = (interface_descriptor.NAME,)

    def __init__(self, netlink: Netlink, view: MetadataView) -> None:
        self._netlink = netlink
        self._view = view

    def validate(self, key: Key, value: Any) -> None:
        check_type(value, LinuxRoute, key)
        check_name("outgoing_interface", value.outgoing_interface)
        check_namespace("namespace", value.namespace)
        try:
            dst = ipaddress.ip_network(value.dst_network)
        except ValueError as error:
            raise InvalidValueError("dst_network", str(error)) from None
        check_key(key, keys.route_key(value.dst_network, value.outgoing_interface))
        if value.gw_addr:
            check_ip("gw_addr", value.gw_addr)
            if ipaddress.ip_address(value.gw_addr).version != dst.version:
                raise InvalidValueError("gw_addr", "not of the destination's IP version")
            if value.scope is LinuxRouteScope.LINK:
                raise InvalidValueError("scope", "a link-scope route has no gateway")
        if value.metric < 0:
            raise InvalidValueError("metric", "must not be negative")

    def dependencies(self, key: Key, value: LinuxRoute) -> Sequence[Dependency]:
        out = value.outgoing_interface
        deps = [Dependency("outgoing interface", key=keys.interface_key(out))]
        if value.gw_addr:
            gateway = ipaddress.ip_address(value.gw_addr)

            def reaches_gateway(key: Key) -> bool:
                address = keys.parse_interface_address_key(key)
                if address is not None:
                    return gateway in ipaddress.ip_interface(address[1]).network
                route = keys.parse_link_route_key(key)
                return route is not None and gateway in ipaddress.ip_network(route[1])

            prefixes = (keys.interface_address_prefix(out), keys.link_route_prefix(out))
            deps.append(Dependency("gateway reachable", any_of=prefixes, selector=reaches_gateway))
        return deps

    def derived(self, key: Key, value: LinuxRoute) -> Sequence[KV]:
        if value.scope is not LinuxRouteScope.LINK:
            return ()
        network = str(ipaddress.ip_network(value.dst_network))
        return (
            KV(
                keys.link_route_key(value.outgoing_interface, network),
                LinkScopeRoute(value.outgoing_interface, network),
            ),
        )

    def equivalent(self, key: Key, old: LinuxRoute, new: LinuxRoute) -> bool:
        return _comparable(old) == _comparable(new)

    async def create(self, key: Key, value: LinuxRoute) -> LinuxRoute:
        meta = locate(self._view, value.outgoing_interface)
        if meta.namespace != value.namespace:
            raise RouteNamespaceError(
                f"route {key} is for {value.namespace}, its interface is in {meta.namespace}"
            )
        spec = _spec(value, meta)
        try:
            await self._netlink.add_route(spec, value.namespace)
        except ObjectExistsError:
            # Fine when it is exactly this route (the kernel's own connected route, or one
            # left by an earlier run); another route to the same place is a conflict.
            routes = await self._netlink.routes(value.namespace)
            if not any(_same(r, value, meta) for r in routes):
                raise
        return value  # metadata: what was applied, so a retrieve can look for it later

    async def delete(self, key: Key, value: LinuxRoute, metadata: Any) -> None:
        meta = find(self._view, value.outgoing_interface)
        if meta is None:
            return  # the interface is gone, and the kernel took its routes with it
        try:
            await self._netlink.delete_route(_spec(value, meta), value.namespace)
        except Exception as error:
            if not is_gone(error):
                raise

    async def retrieve(self, correlate: Mapping[Key, Any]) -> Sequence[Retrieved]:
        # Look for the desired routes and for the applied ones (a route dropped from the
        # desired state by a full resync must still be found, to be removed).
        wanted: dict[Key, LinuxRoute] = {}
        for key in self._view.keys_with_prefix(keys.ROUTE_PREFIX):
            applied = self._view.metadata(key)
            if isinstance(applied, LinuxRoute):
                wanted[key] = applied
        wanted.update((k, v) for k, v in correlate.items() if isinstance(v, LinuxRoute))
        by_netns: dict[NetnsRef | None, list[tuple[Key, LinuxRoute]]] = {}
        for key, value in wanted.items():
            by_netns.setdefault(value.namespace, []).append((key, value))
        found = []
        for netns, routes_wanted in by_netns.items():
            try:
                routes = await self._netlink.routes(netns)
            except NetnsNotFoundError:
                continue
            for key, value in routes_wanted:
                meta = find(self._view, value.outgoing_interface)
                if meta is None or meta.namespace != netns:
                    continue
                item = _read_back(routes, value, meta)
                if item is not None:
                    found.append(Retrieved(key, item, metadata=item))
        return found


def _comparable(route: LinuxRoute) -> tuple[object, ...]:
    dst = ipaddress.ip_network(route.dst_network)
    metric = route.metric
    if dst.version == 6 and metric == 0:
        metric = _IPV6_DEFAULT_METRIC
    gateway = str(ipaddress.ip_address(route.gw_addr)) if route.gw_addr else ""
    return (dst, route.outgoing_interface, gateway, route.scope, metric, route.namespace)


def _spec(route: LinuxRoute, meta: LinuxInterfaceMeta) -> RouteSpec:
    return RouteSpec(
        dst=str(ipaddress.ip_network(route.dst_network)),
        link=meta.host_if_name,
        gateway=route.gw_addr,
        scope=RouteScope.LINK if route.scope is LinuxRouteScope.LINK else RouteScope.UNIVERSE,
        metric=route.metric,
    )


def _as_value(found: RouteInfo, asked: LinuxRoute) -> LinuxRoute:
    return LinuxRoute(
        dst_network=found.dst,
        outgoing_interface=asked.outgoing_interface,
        gw_addr=found.gateway,
        scope=LinuxRouteScope.LINK if found.scope == RouteScope.LINK else LinuxRouteScope.GLOBAL,
        metric=found.metric,
        namespace=asked.namespace,
    )


def _same(found: RouteInfo, asked: LinuxRoute, meta: LinuxInterfaceMeta) -> bool:
    return found.link_index == meta.index and _comparable(_as_value(found, asked)) == (
        _comparable(asked)
    )


def _read_back(
    routes: Sequence[RouteInfo], asked: LinuxRoute, meta: LinuxInterfaceMeta
) -> LinuxRoute | None:
    dst = str(ipaddress.ip_network(asked.dst_network))
    candidates = [r for r in routes if r.dst == dst and r.link_index == meta.index]
    if not candidates:
        return None
    exact = [r for r in candidates if _same(r, asked, meta)]
    # the asked one when it is there, else one that differs (to be replaced), but never
    # the kernel's own (a connected network): that one is not ours to remove
    best = exact or [r for r in candidates if not r.kernel_added]
    return _as_value(best[0], asked) if best else None
