"""Make a real VPP as clean as a freshly started one, without restarting it.

In: the API socket of a running VPP. Out: that VPP without what tests made: every interface
but ``local0`` and NICs (sub-interfaces first, then loopbacks, taps, memifs, af_packets, VXLAN
tunnels), ACLs (and interfaces' ACL lists), NAT44-ED (disabled), bridge domains, proxy ARP
ranges, memif socket files but id 0, API routes and VRF tables other than 0. Errors of single
deletes are collected and raised together at the end, so one odd object does not leave the
rest behind.

An API delete of a route that VPP owns (connected, special) removes nothing (the API source is
not on it), so every route listed is asked to go and only the API's do.
"""

from __future__ import annotations

import contextlib

from contivpy.vppcalls import (
    acl,
    af_packet,
    bridge_domains,
    interfaces,
    loopback,
    memif,
    nat44,
    proxy_arp,
    routes,
    subinterfaces,
    tap,
    vrf,
    vxlan,
)
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.errors import VppError

#: device types VPP's own start-up creates: left alone
_KEPT_DEV_TYPES = frozenset({"local", "dpdk", ""})


async def clean(socket_path: str) -> None:
    """Delete what a fresh VPP does not have (RuntimeError listing what could not go)."""
    client = VppClient(socket_path, call_timeout=10.0)
    await client.start(connect_timeout=30.0)
    try:
        problems = await _clean(client)
    finally:
        await client.close()
    if problems:
        raise RuntimeError("cleaning the real VPP failed: " + "; ".join(problems))


async def _clean(vpp: ApiChannel) -> list[str]:
    problems: list[str] = []

    async def attempt(what: str, call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except VppError as err:
            problems.append(f"{what}: {err}")

    found = await interfaces.dump_interfaces(vpp)
    for d in found:
        if d.is_sub:
            await attempt(
                f"sub-interface {d.name}", subinterfaces.delete_subinterface(vpp, d.sw_if_index)
            )
    hosts = {a.sw_if_index: a.host_if_name for a in await af_packet.dump_af_packets(vpp)}
    tunnels = {t.sw_if_index: t for t in await vxlan.dump_vxlan_tunnels(vpp)}
    for d in found:
        if d.is_sub or d.sw_if_index == 0 or d.dev_type.lower() in _KEPT_DEV_TYPES:
            continue
        kind = d.dev_type
        if kind == "Loopback":
            await attempt(d.name, loopback.delete_loopback(vpp, d.sw_if_index))
        elif kind == "virtio":
            await attempt(d.name, tap.delete_tap(vpp, d.sw_if_index))
        elif kind == "memif":
            await attempt(d.name, memif.delete_memif(vpp, d.sw_if_index))
        elif d.sw_if_index in hosts:
            await attempt(d.name, af_packet.delete_af_packet(vpp, hosts[d.sw_if_index]))
        elif d.sw_if_index in tunnels:
            await attempt(d.name, vxlan.delete_vxlan_tunnel(vpp, tunnels[d.sw_if_index].tunnel()))
        else:
            problems.append(f"interface {d.name} of type {kind!r}: no way to delete it")
    # ACLs go once no interface uses them (deleting an interface drops its lists)
    for bound in await acl.dump_interface_acls(vpp):
        if bound.input or bound.output:
            await attempt(
                f"ACLs of interface {bound.sw_if_index}",
                acl.set_interface_acls(vpp, bound.sw_if_index, (), ()),
            )
    for found_acl in await acl.dump_acls(vpp):
        await attempt(f"ACL {found_acl.acl_index}", acl.delete_acl(vpp, found_acl.acl_index))
    for bd in await bridge_domains.dump_bridge_domains(vpp):
        if bd.domain.bd_id != 0:
            await attempt(
                f"bridge domain {bd.domain.bd_id}",
                bridge_domains.delete_bridge_domain(vpp, bd.domain.bd_id),
            )
    for entry in await proxy_arp.dump_proxy_arp_ranges(vpp):
        await attempt(f"proxy ARP {entry}", proxy_arp.delete_proxy_arp_range(vpp, entry))
    for socket in await memif.dump_memif_sockets(vpp):
        if socket.socket_id != 0:
            await attempt(
                f"memif socket {socket.socket_id}", memif.delete_memif_socket(vpp, socket.socket_id)
            )
    # Disabling NAT44-ED forgets every NAT object (before the tables: NAT holds some)
    if (await nat44.running_config(vpp)).enabled:
        # a real VPP 26.06 may answer BUG (-168) and still disable: judge by what it says
        with contextlib.suppress(VppError):
            await nat44.disable_nat44(vpp)
        if (await nat44.running_config(vpp)).enabled:
            problems.append("NAT44-ED: still enabled after disabling it")
    tables = await vrf.dump_vrf_tables(vpp)
    for table in tables:
        for route in await routes.dump_routes(vpp, table.table_id, table.ipv6):
            # not the API's: VPP keeps it, as a fresh VPP has it
            with contextlib.suppress(VppError):
                await routes.delete_route(vpp, route)
    for table in tables:
        if table.table_id != 0:
            await attempt(f"VRF {table}", vrf.delete_vrf_table(vpp, table))
    return problems
