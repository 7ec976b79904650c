"""Lookups in one simulated VPP for the packet walk: routes and interfaces.

In: a :class:`~contivpy.sim.vpp.state.VppState` and what to look up. Out:

- :func:`lookup`: the longest-prefix match of an address in one table, as a
  :class:`FibMatch` (prefix, paths, where the route came from), or None when the table does
  not exist. The routes are the API's plus the ones VPP installs by itself, exactly as
  ``fib_view`` dumps them (an API route for the same prefix replaces VPP's), so a walk and a
  route dump never disagree;
- :func:`find_interface`: an interface by VPP's name or by its tag (the logical name);
- :func:`interface_ref`, :func:`path_taken`: interfaces and route paths as a trace names them.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.sim.vpp.fib_view import PATH_DROP, PATH_LOCAL, PATH_NORMAL, system_routes
from contivpy.sim.vpp.forwarding_trace import InterfaceRef, PathTaken
from contivpy.sim.vpp.model import Interface, Path
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.wire import IpAddress, IpNetwork

#: fib_path_type values by name, for traces (vppcalls.routes.PathType, lower case)
PATH_TYPE_NAMES = {
    0: "normal",
    1: "local",
    2: "drop",
    3: "udp-encap",
    4: "bier-imp",
    5: "icmp-unreachable",
    6: "icmp-prohibit",
    7: "source-lookup",
    8: "dvr",
    9: "interface-rx",
    10: "classify",
}


@dataclass(frozen=True)
class FibMatch:
    """The route a lookup matched."""

    prefix: IpNetwork
    paths: tuple[Path, ...]
    #: "api" (installed through the API), or why VPP has it: "connected", "local", "special"
    origin: str


def _system_origin(path: Path) -> str:
    if path.type == PATH_LOCAL:
        return "local"
    if path.type == PATH_DROP:
        return "special"
    return "connected"


def lookup(state: VppState, is_ip6: bool, table_id: int, address: IpAddress) -> FibMatch | None:
    """The longest prefix of the table that holds ``address`` (None: no such table).

    Every existing table has a default drop route, so a lookup in one always matches.
    """
    if state.table(is_ip6, table_id) is None:
        return None
    candidates: dict[IpNetwork, FibMatch] = {}
    for prefix, paths in system_routes(state, is_ip6, table_id).items():
        if address in prefix:
            candidates[prefix] = FibMatch(prefix, tuple(paths), _system_origin(paths[0]))
    for prefix, route in state.routes.get((is_ip6, table_id), {}).items():
        if address in prefix and route.paths:
            candidates[prefix] = FibMatch(prefix, tuple(route.paths), "api")
    if not candidates:
        return None
    return candidates[max(candidates, key=lambda prefix: prefix.prefixlen)]


def find_interface(state: VppState, name: str) -> Interface | None:
    """The interface VPP calls ``name``, else the one tagged ``name`` (a logical name)."""
    if not name:
        return None
    by_name = state.by_name(name)
    if by_name is not None:
        return by_name
    return next((i for i in state.interfaces.values() if i.tag == name), None)


def interface_ref(iface: Interface) -> InterfaceRef:
    """The interface as a trace names it."""
    return InterfaceRef(iface.name, iface.tag)


def path_taken(state: VppState, path: Path) -> PathTaken:
    """A route path as a trace shows it."""
    type_name = PATH_TYPE_NAMES.get(path.type, str(path.type))
    if path.type != PATH_NORMAL:
        return PathTaken(type_name)
    iface = state.interfaces.get(path.sw_if_index)
    if iface is None:
        return PathTaken(type_name, None, path.next_hop, path.table_id)
    return PathTaken(type_name, interface_ref(iface), path.next_hop)
