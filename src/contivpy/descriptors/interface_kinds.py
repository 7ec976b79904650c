"""Creating, changing and deleting a VPP interface of each type.

In: an :class:`~contivpy.models.Interface` (validated), the VPP channel and the interface
index (a sub-interface's parent, a tunnel's multicast interface). Out: the
:class:`~contivpy.descriptors.indexes.InterfaceMeta` of what was created (its tables known:
VPP puts a new interface into table 0; a NIC's or an adopted leftover's unknown), and VPP
calls.

Create = the type's create call, then the tag (the interface's name: how an agent restart
recognises it; taps take it in the create call), the MAC where the create call cannot take
one, the MTU, the admin state where it differs from the one VPP creates the interface in
(down, but up for a VXLAN tunnel). If a step after the create call fails, the half-made interface is
deleted again (best effort) so no untagged leftover remains; the error is re-raised. A NIC
(DPDK) is never created or deleted: "create" finds it by name and applies the settings,
"delete" takes it down.

A leftover can still be there: an agent killed between a create and its tag leaves an
untagged interface VPP keeps, and VPP then refuses to create the same VXLAN tunnel,
af_packet or VLAN sub-interface again. Such an untagged interface with exactly the identity
asked for is adopted (tagged and configured like a new one), with a warning, instead of
failing forever; one tagged by someone else is never taken.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Awaitable, Callable
from functools import partial

import structlog

from contivpy.descriptors.indexes import FibTables, InterfaceIndex, InterfaceMeta
from contivpy.errors import PermanentError
from contivpy.models.vpp_interfaces import (
    AfPacketLink,
    Interface,
    InterfaceType,
    MemifLink,
    MemifMode,
    SubInterfaceLink,
    TapLink,
    VxlanLink,
)
from contivpy.vppcalls import interfaces as vpp_interfaces
from contivpy.vppcalls import memif as vpp_memif
from contivpy.vppcalls.af_packet import (
    AfPacketSpec,
    create_af_packet,
    delete_af_packet,
    dump_af_packets,
)
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.errors import VppApiError, VppError
from contivpy.vppcalls.loopback import LoopbackSpec, create_loopback, delete_loopback
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.subinterfaces import (
    VlanSubinterfaceSpec,
    create_vlan_subinterface,
    delete_subinterface,
)
from contivpy.vppcalls.tap import TapFlags, TapSpec, create_tap, delete_tap
from contivpy.vppcalls.vxlan import (
    VxlanTunnel,
    create_vxlan_tunnel,
    delete_vxlan_tunnel,
    dump_vxlan_tunnels,
)
from contivpy.vppcalls.wire import NO_INDEX

log = structlog.get_logger(__name__)

#: the create calls of these types take the MAC; the others get it set afterwards
_MAC_AT_CREATE = frozenset(
    {InterfaceType.LOOPBACK, InterfaceType.TAP, InterfaceType.MEMIF, InterfaceType.AF_PACKET}
)


class NicNotFoundError(PermanentError):
    """A DPDK interface names a NIC VPP does not have."""


async def create_interface(
    vpp: ApiChannel, index: InterfaceIndex, value: Interface
) -> InterfaceMeta:
    """Create (or, for a NIC, take over) the interface and apply its settings."""
    if value.type is InterfaceType.DPDK:
        meta = await _find_nic(vpp, value.name)
    else:
        meta = await _create_device(vpp, index, value)
    index_ = meta.sw_if_index
    settings: list[Callable[[], Awaitable[object]]] = []
    if value.type not in (InterfaceType.DPDK, InterfaceType.TAP):
        settings.append(partial(vpp_interfaces.set_tag, vpp, index_, value.name))
    if value.phys_address and value.type not in _MAC_AT_CREATE:
        settings.append(partial(vpp_interfaces.set_mac_address, vpp, index_, value.phys_address))
    if value.mtu:
        settings.append(partial(vpp_interfaces.set_mtu, vpp, index_, value.mtu))
    # VPP creates a VXLAN tunnel admin-up; every other interface starts down.
    created_up = value.type is InterfaceType.VXLAN_TUNNEL
    if value.enabled != created_up:
        settings.append(partial(vpp_interfaces.set_admin_state, vpp, index_, value.enabled))
    try:
        # One after the other, not gathered: gathering costs a task per setting, more CPU
        # than the round trip it saves, and the scheduler keeps VPP busy with other ops.
        for setting in settings:
            await setting()
    except Exception:
        if value.type is not InterfaceType.DPDK:
            with contextlib.suppress(VppError):
                await delete_interface(vpp, value, meta)
        raise
    return meta


async def update_interface(
    vpp: ApiChannel, old: Interface, new: Interface, meta: InterfaceMeta
) -> InterfaceMeta:
    """Apply what can change in place: admin state, MTU, MAC."""
    sw_if_index = meta.sw_if_index
    if new.phys_address and new.phys_address.lower() != old.phys_address.lower():
        await vpp_interfaces.set_mac_address(vpp, sw_if_index, new.phys_address)
    if new.mtu and new.mtu != old.mtu:
        await vpp_interfaces.set_mtu(vpp, sw_if_index, new.mtu)
    if new.enabled != old.enabled:
        await vpp_interfaces.set_admin_state(vpp, sw_if_index, new.enabled)
    return meta


async def delete_interface(vpp: ApiChannel, value: Interface, meta: InterfaceMeta) -> None:
    """Delete the interface (a NIC is only taken down)."""
    sw_if_index = meta.sw_if_index
    link = value.link
    kind = value.type
    if kind is InterfaceType.DPDK:
        if value.enabled:
            await vpp_interfaces.set_admin_state(vpp, sw_if_index, False)
    elif kind is InterfaceType.LOOPBACK:
        await delete_loopback(vpp, sw_if_index)
    elif kind is InterfaceType.TAP:
        await delete_tap(vpp, sw_if_index)
    elif isinstance(link, MemifLink):
        await vpp_memif.delete_memif(vpp, sw_if_index)
        await _forget_unused_socket(vpp, link.socket_id)
    elif isinstance(link, AfPacketLink):
        await delete_af_packet(vpp, link.host_if_name)
    elif kind is InterfaceType.SUB_INTERFACE:
        await delete_subinterface(vpp, sw_if_index)
    elif isinstance(link, VxlanLink):
        await delete_vxlan_tunnel(vpp, _tunnel(link, NO_INDEX))
    else:
        raise PermanentError(f"cannot delete interface {value.name!r} of type {kind.value}")


async def _create_device(vpp: ApiChannel, index: InterfaceIndex, value: Interface) -> InterfaceMeta:
    link = value.link
    mac = value.phys_address or None
    kind = value.type
    # What VPP has just created is in table 0 (checked on VPP 26.06 for every type below,
    # an sw_if_index reused after a deleted interface in another table included); what is
    # adopted (``_adopt``) may have been moved since, so its tables are left unknown.
    if kind is InterfaceType.LOOPBACK:
        sw_if_index = await create_loopback(vpp, LoopbackSpec(mac=mac))
        return await _named(vpp, sw_if_index, kind, FibTables.of_new_interface())
    if isinstance(link, TapLink):
        sw_if_index = await create_tap(vpp, _tap_spec(value.name, mac, link))
        return await _named(vpp, sw_if_index, kind, FibTables.of_new_interface())
    if isinstance(link, MemifLink):
        await _ensure_socket(vpp, link)
        sw_if_index = await vpp_memif.create_memif(vpp, _memif_spec(mac, link))
        vpp_name = f"memif{link.socket_id}/{link.id}"
        return InterfaceMeta(sw_if_index, vpp_name, kind, tables=FibTables.of_new_interface())
    if isinstance(link, AfPacketLink):
        spec = AfPacketSpec(host_if_name=link.host_if_name, mac=mac)
        tables = FibTables.of_new_interface()
        try:
            sw_if_index = await create_af_packet(vpp, spec)
        except VppApiError as err:
            if err.retval != Retval.IF_ALREADY_EXISTS:
                raise
            sw_if_index = await _adopt(vpp, value, err, await _af_packet_index(vpp, link))
            tables = FibTables()
        return InterfaceMeta(sw_if_index, f"host-{link.host_if_name}", kind, tables=tables)
    if isinstance(link, SubInterfaceLink):
        parent = index.meta(link.parent)
        parent_index = index.sw_if_index(link.parent)
        spec_sub = VlanSubinterfaceSpec(parent_index, link.sub_id)
        tables = FibTables.of_new_interface()  # not the parent's: VPP does not pass them on
        try:
            sw_if_index = await create_vlan_subinterface(vpp, spec_sub)
        except VppApiError as err:
            if err.retval not in (Retval.VLAN_ALREADY_EXISTS, Retval.SUBIF_ALREADY_EXISTS):
                raise
            found = await _sub_index(vpp, parent_index, link.sub_id)
            sw_if_index = await _adopt(vpp, value, err, found)
            tables = FibTables()
        parent_name = parent.vpp_name if parent is not None else link.parent
        return InterfaceMeta(sw_if_index, f"{parent_name}.{link.sub_id}", kind, tables=tables)
    if isinstance(link, VxlanLink):
        multicast = index.sw_if_index(link.multicast) if link.multicast else NO_INDEX
        tunnel = _tunnel(link, multicast)
        tables = FibTables.of_new_interface()  # the tunnel's own; ``vrf`` is the underlay's
        try:
            sw_if_index = await create_vxlan_tunnel(vpp, tunnel)
        except VppApiError as err:
            if err.retval != Retval.TUNNEL_EXIST:
                raise
            sw_if_index = await _adopt(vpp, value, err, await _tunnel_index(vpp, tunnel))
            tables = FibTables()
        return await _named(vpp, sw_if_index, kind, tables)
    raise PermanentError(f"cannot create interface {value.name!r} of type {kind.value}")


async def _adopt(vpp: ApiChannel, value: Interface, refusal: VppApiError, found: int | None) -> int:
    """The index of the untagged leftover that made VPP refuse the create, or the refusal."""
    if found is None:
        raise refusal
    listed = await vpp_interfaces.dump_interfaces(vpp, found)
    if not listed or listed[0].tag:
        raise refusal  # gone meanwhile, or someone else's
    details = listed[0]
    log.warning(
        "adopting an untagged interface left by an interrupted create",
        interface=value.name,
        vpp_name=details.name,
        sw_if_index=found,
    )
    return found


async def _tunnel_index(vpp: ApiChannel, tunnel: VxlanTunnel) -> int | None:
    for t in await dump_vxlan_tunnels(vpp):
        same = (t.src, t.dst, t.vni, t.encap_vrf_id) == (
            tunnel.src,
            tunnel.dst,
            tunnel.vni,
            tunnel.encap_vrf_id,
        )
        if same:
            return t.sw_if_index
    return None


async def _af_packet_index(vpp: ApiChannel, link: AfPacketLink) -> int | None:
    for found in await dump_af_packets(vpp):
        if found.host_if_name == link.host_if_name:
            return found.sw_if_index
    return None


async def _sub_index(vpp: ApiChannel, parent: int, sub_id: int) -> int | None:
    for d in await vpp_interfaces.dump_interfaces(vpp):
        if d.is_sub and d.sup_sw_if_index == parent and d.sub_id == sub_id:
            return d.sw_if_index
    return None


async def _named(
    vpp: ApiChannel, sw_if_index: int, kind: InterfaceType, tables: FibTables
) -> InterfaceMeta:
    """Metadata with VPP's name of a new interface, which only a dump tells."""
    vpp_name = await vpp_interfaces.interface_name(vpp, sw_if_index)
    return InterfaceMeta(sw_if_index, vpp_name or "", kind, tables=tables)


async def _find_nic(vpp: ApiChannel, name: str) -> InterfaceMeta:
    for details in await vpp_interfaces.dump_interfaces(vpp, name_contains=name):
        if details.name == name and not details.is_sub:
            return InterfaceMeta(details.sw_if_index, details.name, InterfaceType.DPDK)
    raise NicNotFoundError(f"VPP has no NIC named {name!r}")


def _tap_spec(name: str, mac: str | None, link: TapLink) -> TapSpec:
    return TapSpec(
        mac=mac,
        host_if_name=link.host_if_name or None,
        host_namespace=link.host_namespace or None,
        host_mac=link.host_mac or None,
        host_mtu=link.host_mtu or None,
        flags=TapFlags.GSO if link.gso else TapFlags.NONE,
        rx_ring_size=link.rx_ring_size,
        tx_ring_size=link.tx_ring_size,
        num_rx_queues=link.num_rx_queues,
        tag=name,
    )


def _memif_spec(mac: str | None, link: MemifLink) -> vpp_memif.MemifSpec:
    return vpp_memif.MemifSpec(
        socket_id=link.socket_id,
        id=link.id,
        role=vpp_memif.MemifRole.MASTER if link.master else vpp_memif.MemifRole.SLAVE,
        mode=vpp_memif.MemifMode[link.mode.name],
        mac=mac if link.mode is MemifMode.ETHERNET else None,
        secret=link.secret,
        ring_size=link.ring_size,
        buffer_size=link.buffer_size,
        rx_queues=link.rx_queues,
        tx_queues=link.tx_queues,
    )


def _tunnel(link: VxlanLink, multicast: int) -> VxlanTunnel:
    return VxlanTunnel(
        src=ipaddress.ip_address(link.src_address),
        dst=ipaddress.ip_address(link.dst_address),
        vni=link.vni,
        encap_vrf_id=link.vrf,
        mcast_sw_if_index=multicast,
    )


async def _ensure_socket(vpp: ApiChannel, link: MemifLink) -> None:
    """Register the memif's socket file under its id (replacing another file of that id).

    VPP accepts the same id and file again and refuses the id with another file
    (ENTRY_ALREADY_EXISTS): one request in the usual case, no dump of every socket (which
    made each memif create cost more the more pods a node has)."""
    if link.socket_id == 0:
        return
    socket = vpp_memif.MemifSocket(link.socket_id, link.socket_filename)
    try:
        await vpp_memif.add_memif_socket(vpp, socket)
        return
    except VppApiError as error:
        if error.error_name != "ENTRY_ALREADY_EXISTS":
            raise
    await vpp_memif.delete_memif_socket(vpp, link.socket_id)  # another file had the id
    await vpp_memif.add_memif_socket(vpp, socket)


async def _forget_unused_socket(vpp: ApiChannel, socket_id: int) -> None:
    """Unregister a socket file no memif uses any more. VPP refuses while a memif still uses
    it (another memif of the pod, or a create under way): then it is kept."""
    if socket_id == 0:
        return
    try:
        await vpp_memif.delete_memif_socket(vpp, socket_id)
    except VppError as error:
        log.debug("memif socket kept", socket_id=socket_id, error=str(error))
