"""Reading every VPP interface back as an :class:`~contivpy.models.Interface`.

In: the VPP channel and ``correlate`` (the desired interfaces by key). Out: one
:class:`~contivpy.scheduler.Retrieved` per VPP interface, with its metadata and origin:

- named by its tag (ours: Origin.NB); an untagged NIC by its VPP name so it can be configured
  by name (Origin.NB only when desired, else obtained); anything else untagged
  ``UNTAGGED-<vpp name>`` (Origin.SB: local0, hand-made interfaces; never touched);
- the value as it really is, derived parts included (addresses, VRF, unnumbered, a
  sub-interface's VLAN tag rewrite as ``pop_tags``: -1 for a push or translate, which contivpy
  never asks for), so derived values are re-derived from it; IPv6 link-local addresses are
  left out (VPP adds them);
- what VPP cannot report, or reports where the desired value left VPP to choose ("" MAC,
  0 MTU, a tap's Linux name, a memif's secret, queues and ring/buffer sizes: VPP reports the
  running ones, 1 and 0 without a peer), is taken from the desired value,
  and addresses are listed in the desired order, so an unchanged interface compares equal.

Reads: one interface dump, one dump per interface kind, and per interface its addresses
(both families) and, where it matters, its VRF; those run concurrently (bounded). The one
family's table read is also kept in the metadata (``InterfaceMeta.tables``); the other stays
unknown.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import structlog

from contivpy.descriptors.indexes import FibTables, InterfaceMeta
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    Link,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.models.vpp_keys import canonical_mac, interface_key
from contivpy.scheduler import Origin, Retrieved
from contivpy.vppcalls import interface_ip
from contivpy.vppcalls import memif as vpp_memif
from contivpy.vppcalls.af_packet import dump_af_packets
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.interfaces import InterfaceDetails, dump_interfaces
from contivpy.vppcalls.tap import TapDetails, TapFlags, dump_taps
from contivpy.vppcalls.vxlan import VxlanTunnelDetails, dump_vxlan_tunnels

log = structlog.get_logger(__name__)

UNTAGGED_PREFIX = "UNTAGGED-"
#: per-interface reads in flight at once (a real VPP's API queue is finite)
READ_CONCURRENCY = 64
#: sw_interface_details.interface_dev_type (VPP's device class names) -> our type; a
#: sub-interface reports its parent's and is told apart by its type field instead
_DEV_TYPES = {
    "Loopback": InterfaceType.LOOPBACK,
    "virtio": InterfaceType.TAP,
    "memif": InterfaceType.MEMIF,
    "af-packet": InterfaceType.AF_PACKET,
    "VXLAN": InterfaceType.VXLAN_TUNNEL,
    "dpdk": InterfaceType.DPDK,
}
_LINK_LOCAL = ipaddress.ip_network("fe80::/10")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Kinds:
    """Type-specific dumps, by sw_if_index."""

    taps: dict[int, TapDetails]
    memifs: dict[int, vpp_memif.MemifDetails]
    sockets: dict[int, str]
    af_packets: dict[int, str]
    vxlans: dict[int, VxlanTunnelDetails]
    unnumbered: dict[int, int]


@dataclass(frozen=True, slots=True)
class _IpState:
    addresses: tuple[str, ...]
    vrf: int
    #: the tables read (one family at most)
    tables: FibTables


async def retrieve_interfaces(vpp: ApiChannel, correlate: Mapping[str, Any]) -> list[Retrieved]:
    """Every interface VPP has (see the module docstring)."""
    details = await dump_interfaces(vpp)
    kinds = await _dump_kinds(vpp)
    names = _names(details)
    ip_states = await _bounded(
        [
            _ip_state_reader(vpp, d, correlate.get(interface_key(names[d.sw_if_index])))
            for d in details
        ]
    )
    found: list[Retrieved] = []
    for d, ip_state in zip(details, ip_states, strict=True):
        name = names[d.sw_if_index]
        key = interface_key(name)
        desired = correlate.get(key)
        kind = _type(d)
        value = Interface(
            name=name,
            type=kind,
            enabled=d.admin_up,
            phys_address=d.mac,
            mtu=d.mtu[0],
            vrf=ip_state.vrf,
            ip_addresses=ip_state.addresses,
            unnumbered=_name_of(names, kinds.unnumbered.get(d.sw_if_index)),
            link=_link(d, kind, kinds, names),
        )
        if isinstance(desired, Interface) and desired.type is kind:
            value = _as_desired(value, desired)
        owned = bool(d.tag) or (kind is InterfaceType.DPDK and desired is not None)
        meta = InterfaceMeta(d.sw_if_index, d.name, kind, owned, ip_state.tables)
        # A type we do not know cannot be compared or re-created: never act on it.
        unknown = (
            f"VPP dev type {d.dev_type!r} not recognised" if kind is InterfaceType.UNDEFINED else ""
        )
        found.append(Retrieved(key, value, meta, Origin.NB if owned else Origin.SB, unknown))
    return found


async def _dump_kinds(vpp: ApiChannel) -> _Kinds:
    taps, memifs, sockets, af_packets, vxlans, unnumbered = await asyncio.gather(
        dump_taps(vpp),
        vpp_memif.dump_memifs(vpp),
        vpp_memif.dump_memif_sockets(vpp),
        dump_af_packets(vpp),
        dump_vxlan_tunnels(vpp),
        interface_ip.dump_unnumbered(vpp),
    )
    return _Kinds(
        taps={t.sw_if_index: t for t in taps},
        memifs={m.sw_if_index: m for m in memifs},
        sockets={s.socket_id: s.filename for s in sockets},
        af_packets={a.sw_if_index: a.host_if_name for a in af_packets},
        vxlans={v.sw_if_index: v for v in vxlans},
        unnumbered=unnumbered,
    )


def _names(details: Sequence[InterfaceDetails]) -> dict[int, str]:
    """sw_if_index -> the name the interface goes by (see the module docstring)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for d in details:
        name = d.tag or (d.name if _type(d) is InterfaceType.DPDK else UNTAGGED_PREFIX + d.name)
        if name in taken:
            # A second interface with our tag is a leftover of ours (still NB: a full resync
            # removes it); it must not take the first one's key.
            log.warning("interface tag used twice", tag=name, sw_if_index=d.sw_if_index)
            name = f"{UNTAGGED_PREFIX}{d.name}"
        taken.add(name)
        names[d.sw_if_index] = name
    return names


def _type(d: InterfaceDetails) -> InterfaceType:
    if d.is_sub:
        return InterfaceType.SUB_INTERFACE
    return _DEV_TYPES.get(d.dev_type, InterfaceType.UNDEFINED)


def _name_of(names: Mapping[int, str], sw_if_index: int | None) -> str | None:
    return None if sw_if_index is None else names.get(sw_if_index)


def _ip_state_reader(
    vpp: ApiChannel, d: InterfaceDetails, desired: object
) -> Callable[[], Awaitable[_IpState]]:
    async def read() -> _IpState:
        sw_if_index = d.sw_if_index
        # One after the other, not gathered: ``_bounded`` keeps READ_CONCURRENCY interfaces
        # in flight already, and gathering would cost two tasks per interface.
        v4 = await interface_ip.dump_addresses(vpp, sw_if_index, False)
        v6 = await interface_ip.dump_addresses(vpp, sw_if_index, True)
        v6 = [a for a in v6 if a.ip not in _LINK_LOCAL]
        # The VRF binding exists per family only where the interface has addresses of it;
        # without any, VPP cannot tell what was asked for, the desired value can.
        tables = FibTables()
        if v4 or v6 or not isinstance(desired, Interface):
            ipv6 = bool(v6) and not v4
            vrf = await interface_ip.get_interface_vrf(vpp, sw_if_index, ipv6)
            tables.remember(ipv6, vrf)
        else:
            vrf = desired.vrf
        return _IpState(tuple(str(a) for a in (*v4, *v6)), vrf, tables)

    return read


async def _bounded(readers: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Every reader's result, in order, with at most READ_CONCURRENCY of them running."""
    # A few workers taking the next reader, not a task per reader behind a semaphore: with
    # thousands of interfaces the tasks and the waits on the semaphore cost more than reads.
    results: list[Any] = [None] * len(readers)
    todo = iter(enumerate(readers))

    async def worker() -> None:
        for i, reader in todo:
            results[i] = await reader()

    await asyncio.gather(*(worker() for _ in range(min(READ_CONCURRENCY, len(readers)))))
    return results


def _link(
    d: InterfaceDetails, kind: InterfaceType, kinds: _Kinds, names: Mapping[int, str]
) -> Link | None:
    index = d.sw_if_index
    if kind is InterfaceType.SUB_INTERFACE:
        popped = d.tag_rewrite.popped_tags
        # a push or translate (not ours) reads as -1: unlike any desired value, so a resync
        # puts the desired rewrite in its place
        return SubInterfaceLink(
            names.get(d.sup_sw_if_index, ""), d.sub_id, -1 if popped is None else popped
        )
    if kind is InterfaceType.TAP and index in kinds.taps:
        tap = kinds.taps[index]
        return TapLink(
            host_if_name=tap.host_if_name,
            host_namespace=tap.host_namespace,
            host_mac=tap.host_mac,
            host_mtu=tap.host_mtu,
            rx_ring_size=tap.rx_ring_size,
            tx_ring_size=tap.tx_ring_size,
            gso=bool(tap.flags & TapFlags.GSO),
        )
    if kind is InterfaceType.MEMIF and index in kinds.memifs:
        memif = kinds.memifs[index]
        return MemifLink(
            id=memif.id,
            socket_filename=kinds.sockets.get(memif.socket_id, ""),
            socket_id=memif.socket_id,
            master=memif.role is vpp_memif.MemifRole.MASTER,
            mode=MemifMode[memif.mode.name],
            ring_size=memif.ring_size,
            buffer_size=memif.buffer_size,
        )
    if kind is InterfaceType.AF_PACKET and index in kinds.af_packets:
        return AfPacketLink(kinds.af_packets[index])
    if kind is InterfaceType.VXLAN_TUNNEL and index in kinds.vxlans:
        tunnel = kinds.vxlans[index]
        return VxlanLink(
            src_address=str(tunnel.src),
            dst_address=str(tunnel.dst),
            vni=tunnel.vni,
            vrf=tunnel.encap_vrf_id,
            multicast=names.get(tunnel.mcast_sw_if_index, ""),
        )
    return None


def _same_mac(desired: str, found: str) -> bool:
    if desired == found:
        return True  # ``found`` is canonical already: no parsing needed
    try:
        return canonical_mac(desired) == found
    except ValueError:
        return False


def _same_ip(desired: str, found: str) -> bool:
    try:
        return ipaddress.ip_interface(desired) == ipaddress.ip_interface(found)
    except ValueError:
        return False


def _same_address(desired: str, found: str) -> bool:
    try:
        return ipaddress.ip_address(desired) == ipaddress.ip_address(found)
    except ValueError:
        return False


def _ordered_addresses(found: tuple[str, ...], desired: tuple[str, ...]) -> tuple[str, ...]:
    """The found addresses, in the desired order and spelling; the others after them."""
    rest = list(found)
    ordered: list[str] = []
    for want in desired:
        match = next((f for f in rest if _same_ip(want, f)), None)
        if match is not None:
            rest.remove(match)
            ordered.append(want)
    return (*ordered, *rest)


def _as_desired(found: Interface, desired: Interface) -> Interface:
    """``found`` with the fields VPP chose or cannot report taken from ``desired``."""
    phys_address = found.phys_address
    if desired.phys_address == "" or _same_mac(desired.phys_address, phys_address):
        phys_address = desired.phys_address
    return replace(
        found,
        phys_address=phys_address,
        mtu=0 if desired.mtu == 0 else found.mtu,
        ip_addresses=_ordered_addresses(found.ip_addresses, desired.ip_addresses),
        link=_link_as_desired(found.link, desired.link),
    )


def _link_as_desired(found: Link | None, desired: Link | None) -> Link | None:
    if isinstance(found, TapLink) and isinstance(desired, TapLink):
        host_mac = found.host_mac
        if desired.host_mac == "" or _same_mac(desired.host_mac, host_mac):
            host_mac = desired.host_mac
        return replace(
            found,
            host_if_name="" if desired.host_if_name == "" else found.host_if_name,
            host_mac=host_mac,
            num_rx_queues=desired.num_rx_queues,
        )
    if isinstance(found, MemifLink) and isinstance(desired, MemifLink):
        filename = found.socket_filename
        if found.socket_id == 0 and desired.socket_id == 0:
            filename = desired.socket_filename
        # VPP reports the sizes a connection runs with (ring 1, buffer 0 without a peer),
        # not those asked for: only the desired value knows them.
        return replace(
            found,
            socket_filename=filename,
            secret=desired.secret,
            rx_queues=desired.rx_queues,
            tx_queues=desired.tx_queues,
            ring_size=desired.ring_size,
            buffer_size=desired.buffer_size,
        )
    if isinstance(found, AfPacketLink) and isinstance(desired, AfPacketLink):
        # Which Linux value made the link is ours to know, not VPP's.
        return replace(found, linux_interface=desired.linux_interface)
    if isinstance(found, VxlanLink) and isinstance(desired, VxlanLink):
        src, dst = found.src_address, found.dst_address
        if _same_address(desired.src_address, src):
            src = desired.src_address
        if _same_address(desired.dst_address, dst):
            dst = desired.dst_address
        return replace(found, src_address=src, dst_address=dst)
    return found
