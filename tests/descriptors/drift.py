"""Drift made behind the agent's back, through VPP's API as an operator with vppctl would.

In: a channel to VPP (not the agent's counted one), what VPP holds (a snapshot) and a
hypothesis draw. Out: one change made in VPP and what it was, in words. The changes: delete
one of our interfaces, flip any interface's admin state (ours or not), replace an address of
ours, delete an API route (every path), take a member (the BVI included) out of its bridge
domain, delete a static neighbour. The same calls work on the simulator and on a real VPP.
"""

from __future__ import annotations

import contextlib
import ipaddress

from hypothesis import strategies as st

from contivpy.models.vpp_interfaces import InterfaceType
from contivpy.vppcalls import (
    af_packet,
    bridge_domains,
    interface_ip,
    interfaces,
    loopback,
    memif,
    neighbors,
    routes,
    subinterfaces,
    tap,
    vxlan,
)
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.errors import VppError
from contivpy.vppcalls.routes import SOURCE_API
from vpp_target.snapshot import InterfaceSnapshot, VppSnapshot
from vpp_target.view import kind_of


async def drift(
    vpp: ApiChannel, snapshot: VppSnapshot, data: st.DataObject, keep_up: frozenset[str]
) -> str:
    """Make one change (see the module docstring); what was done. Interfaces VPP names in
    ``keep_up`` keep their admin state (on a real VPP the NIC: with it down VPP refuses to
    bring our sub-interfaces up, and it is not ours to bring up)."""
    tagged = sorted(snapshot.tagged(), key=lambda i: i.tag)
    api_routes = sorted(
        (r for r in snapshot.routes if r.source == SOURCE_API),
        key=lambda r: (r.table_id, str(r.prefix)),
    )
    domains = [b for b in snapshot.bridge_domains if b.members]
    static = sorted((n for n in snapshot.neighbors if n.static), key=str)
    kinds = ["admin"]
    if tagged:
        kinds += ["delete-interface", "admin"]
    if any(i.addresses for i in tagged):
        kinds.append("address")
    if api_routes:
        kinds.append("route")
    if domains:
        kinds.append("member")
    if static:
        kinds.append("neighbour")
    kind = data.draw(st.sampled_from(kinds))
    if kind == "delete-interface":
        victim = data.draw(st.sampled_from(tagged))
        await delete_interface(vpp, victim)
        return f"deleted {victim.tag}"
    if kind == "address":
        victim = data.draw(st.sampled_from([i for i in tagged if i.addresses]))
        await interface_ip.delete_address(vpp, victim.sw_if_index, victim.addresses[0])
        with contextlib.suppress(VppError):  # taken by an earlier drift: removed is drift too
            await interface_ip.add_address(
                vpp, victim.sw_if_index, ipaddress.ip_interface("10.250.250.250/32")
            )
        return f"changed an address of {victim.tag}"
    if kind == "route":
        route = data.draw(st.sampled_from(api_routes))
        await routes.delete_route(vpp, route)
        return f"removed route {route.prefix} of table {route.table_id}"
    if kind == "member":
        bd = data.draw(st.sampled_from(domains))
        member = data.draw(st.sampled_from(sorted(m.sw_if_index for m in bd.members)))
        bvi = member == bd.bvi_sw_if_index
        port = bridge_domains.BridgeDomainPort(member, bd.domain.bd_id, bvi=bvi)
        await bridge_domains.remove_port(vpp, port)
        return f"took {member} out of bridge domain {bd.domain.bd_id}"
    if kind == "neighbour":
        await neighbors.delete_neighbor(vpp, data.draw(st.sampled_from(static)))
        return "removed a neighbour"
    flippable = [i for i in snapshot.interfaces.values() if i.name not in keep_up]
    victim = data.draw(st.sampled_from(sorted(flippable, key=lambda i: i.name)))
    await interfaces.set_admin_state(vpp, victim.sw_if_index, not victim.details.admin_up)
    return f"flipped admin state of {victim.name}"


async def delete_interface(vpp: ApiChannel, iface: InterfaceSnapshot) -> None:
    """Delete the interface the way its kind is deleted."""
    kind = kind_of(iface)
    index = iface.sw_if_index
    if kind is InterfaceType.LOOPBACK:
        await loopback.delete_loopback(vpp, index)
    elif kind is InterfaceType.TAP:
        await tap.delete_tap(vpp, index)
    elif kind is InterfaceType.MEMIF:
        await memif.delete_memif(vpp, index)
    elif kind is InterfaceType.AF_PACKET and iface.af_packet_host is not None:
        await af_packet.delete_af_packet(vpp, iface.af_packet_host)
    elif kind is InterfaceType.SUB_INTERFACE:
        await subinterfaces.delete_subinterface(vpp, index)
    elif kind is InterfaceType.VXLAN_TUNNEL and iface.vxlan is not None:
        await vxlan.delete_vxlan_tunnel(vpp, iface.vxlan.tunnel())
    else:
        raise AssertionError(f"no way to delete {iface.name} ({iface.details.dev_type})")
