"""Validation and comparison of static routes.

In: a route key and its :class:`~contivpy.models.Route`. Out: ``validate_route`` raises
:class:`~contivpy.scheduler.InvalidValueError` naming the field; ``same_route`` says whether
two routes are the same path whatever the spelling of their addresses.
"""

from __future__ import annotations

from typing import Any

from contivpy.descriptors.value_checks import (
    check_interface_name,
    check_ip,
    check_key,
    check_network,
    check_range,
    check_vrf,
)
from contivpy.models.vpp_keys import parse_address, parse_network, route_key
from contivpy.models.vpp_l3 import Route, RouteType
from contivpy.scheduler import InvalidValueError


def validate_route(key: str, value: Any) -> None:
    """Raise InvalidValueError naming the first wrong field of a route."""
    if not isinstance(value, Route):
        raise InvalidValueError("value", f"expected a Route, got {type(value).__name__}")
    network = check_network("dst_network", value.dst_network)
    check_vrf("vrf", value.vrf)
    check_vrf("via_vrf", value.via_vrf)
    check_range("weight", value.weight, 1, 255)
    check_range("preference", value.preference, 0, 255)
    if not isinstance(value.type, RouteType):
        raise InvalidValueError("type", "must be INTRA_VRF, INTER_VRF or DROP")
    if value.next_hop:
        next_hop = check_ip("next_hop", value.next_hop)
        if next_hop.version != network.version:
            raise InvalidValueError("next_hop", "not of the destination's address family")
    if value.outgoing_interface:
        check_interface_name("outgoing_interface", value.outgoing_interface)
    if value.type is RouteType.DROP and (value.next_hop or value.outgoing_interface):
        raise InvalidValueError("type", "a DROP route has no next hop or outgoing interface")
    if value.type is RouteType.INTER_VRF:
        if value.outgoing_interface:
            raise InvalidValueError(
                "outgoing_interface", "an INTER_VRF route is looked up in via_vrf, not sent out"
            )
        if value.via_vrf == value.vrf:
            raise InvalidValueError("via_vrf", "an INTER_VRF route needs another VRF")
    elif value.via_vrf:
        raise InvalidValueError("via_vrf", "only for INTER_VRF routes")
    if value.type is RouteType.INTRA_VRF and not (value.next_hop or value.outgoing_interface):
        raise InvalidValueError("next_hop", "an INTRA_VRF route needs a next hop or an interface")
    check_key(
        key, route_key(value.vrf, value.dst_network, value.next_hop, value.outgoing_interface)
    )


def same_route(a: Route, b: Route) -> bool:
    """True when both are the same path (addresses compared as addresses)."""
    return _normalized(a) == _normalized(b)


def _normalized(route: Route) -> tuple[object, ...]:
    try:
        network: object = parse_network(route.dst_network)
    except ValueError:
        network = route.dst_network
    try:
        next_hop: object = parse_address(route.next_hop) if route.next_hop else None
    except ValueError:
        next_hop = route.next_hop
    return (
        network,
        route.vrf,
        next_hop,
        route.outgoing_interface,
        route.via_vrf,
        route.weight,
        route.preference,
        route.type,
    )
