"""The state of one simulated VPP run: what a real VPP would hold between API calls.

In: operations from the message handlers (create and delete interfaces, change flags, bind
tables). Out: the interfaces, tables, routes, neighbours, bridge domains and L2 FIB the dumps
report, and the interface events a change causes (``events``, drained by the server).

Rules kept from a real VPP: local0 is sw_if_index 0 and exists from the start; a freed
sw_if_index is handed out again (last freed first, as VPP's pools do); creating an interface
tells subscribers (an admin-down event); deleting an interface also deletes its
sub-interfaces and removes it from bridge domains, cross-connects, neighbours and the L2 FIB
(the interface it cross-connected to goes back to L3), but API routes through it stay (VPP
keeps the path, which now forwards to drop); table 0 of each family always exists; a table
created through the API lives until the API deletes it and no interface is bound to it;
going back to L3 clears an interface's L2 VLAN tag rewrite (moving between bridge and
cross-connect keeps it). "Restart" is a new ``VppState``: nothing survives, the pid changes.

memif: a memif's link is up while it is connected, whatever its admin state (VPP sets the
hardware link flag on connect and clears it on disconnect only). Who connects to whom is
decided outside, by the process's memif links (``memif_links``), which this state tells of
every memif created, deleted or switched admin up/down. Socket file names are seen through
the VPP's ``mounts`` (a container path prefix and the host directory behind it), so two
VPPs meet at the same host file as a vswitch and a CNF pod do.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import posixpath
import random
from collections.abc import Container, Iterable, Iterator, Mapping
from typing import Protocol

from contivpy.sim.vpp.acl_state import AclState
from contivpy.sim.vpp.address_index import AddressIndex
from contivpy.sim.vpp.model import (
    BridgeDomain,
    Interface,
    InterfaceEvent,
    IpTable,
    Kind,
    L2FibEntry,
    MemifInfo,
    Neighbor,
    ProxyArpRange,
    Route,
    SimError,
)
from contivpy.sim.vpp.nat44_state import Nat44State
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.subinterfaces import NO_REWRITE
from contivpy.vppcalls.wire import IpAddress, IpInterface, IpNetwork

#: Where VPP puts memif socket 0 unless told otherwise.
DEFAULT_MEMIF_SOCKET = "/run/vpp/memif.sock"

_pids = itertools.count(os.getpid() * 10 + 1)


def nic_mac(name: str) -> bytes:
    """A NIC's burned-in MAC: the same for a name on every boot, as hardware keeps it."""
    return bytes([0x52, 0x54, 0x00]) + hashlib.sha256(name.encode()).digest()[:3]


def lowest_free(used: Container[int], start: int = 0) -> int:
    """The smallest number from ``start`` on that is not in ``used`` (VPP's instance
    allocation; ``start`` is a floor below which nothing is free)."""
    candidate = start
    while candidate in used:
        candidate += 1
    return candidate


def default_table_name(is_ip6: bool, table_id: int) -> str:
    """The name VPP gives a table created without one."""
    return f"{'ipv6' if is_ip6 else 'ipv4'}-VRF:{table_id}"


def resolve_path(mounts: Mapping[str, str], path: str) -> str:
    """Where ``path``, as a VPP with these mounts names it, is on the host: the longest
    mounted directory that holds it is replaced by its host directory. Abstract socket
    names (``@...``) are no files and stay as they are."""
    if path.startswith("@"):
        return path
    path = posixpath.normpath(path)
    best: tuple[str, str] | None = None
    for inside, host in mounts.items():
        inside = posixpath.normpath(inside)
        within = path == inside or path.startswith(inside.rstrip("/") + "/")
        if within and (best is None or len(inside) > len(best[0])):
            best = (inside, host)
    if best is None:
        return path
    inside, host = best
    return posixpath.normpath(host + "/" + path[len(inside) :].lstrip("/"))


class MemifWatcher(Protocol):
    """Told whenever this VPP's memifs change (``memif_links.MemifLinks``)."""

    def memif_changed(self, state: VppState) -> None:
        """A memif of ``state`` was created, deleted or switched admin up or down."""


class VppState:
    """Everything one simulated VPP process holds; gone on restart."""

    def __init__(
        self,
        *,
        nics: Iterable[str] = ("GigabitEthernet0/a/0",),
        vhost_net: bool = True,
        host_interfaces: Iterable[str] | None = None,
        seed: int = 0,
        mounts: Mapping[str, str] | None = None,
    ) -> None:
        self.pid = next(_pids)
        self.random = random.Random(seed)
        #: /dev/vhost-net exists: without it tap_create fails with SYSCALL_ERROR_1
        self.vhost_net = vhost_net
        #: Linux interfaces af_packet can attach to; None means any name exists
        self.host_interfaces = None if host_interfaces is None else set(host_interfaces)
        self.interfaces: dict[int, Interface] = {}
        # sw_if_indexes by kind (an interface's kind never changes): memif_links lists the
        # memifs at every memif change, which scanned and sorted every interface
        self._of_kind: dict[Kind, set[int]] = {}
        self._free_indexes: list[int] = []
        self._next_index = 0
        self.memif_sockets: dict[int, str] = {0: DEFAULT_MEMIF_SOCKET}
        #: container path prefix -> host directory (kept by reference: the simulator's
        #: mounts, which outlive a restart)
        self.mounts: Mapping[str, str] = {} if mounts is None else mounts
        # socket filename -> host path, for the mounts they were resolved under: every memif
        # change re-reads every memif's path (memif_links), ~30 % of the simulator's work
        # in the pods benchmark's memif ADDs when each was normalised again
        self._host_paths: dict[str, str] = {}
        self._host_paths_mounts: tuple[tuple[str, str], ...] = ()
        #: the memif links this VPP takes part in while it runs (set by MemifLinks.attach)
        self.memif_links: MemifWatcher | None = None
        self.tables: dict[tuple[bool, int], IpTable] = {}
        self.routes: dict[tuple[bool, int], dict[IpNetwork, Route]] = {}
        self.neighbors: dict[tuple[int, IpAddress], Neighbor] = {}
        self.proxy_arp_ranges: list[ProxyArpRange] = []
        self.bridge_domains: dict[int, BridgeDomain] = {}
        self.l2fib: dict[tuple[int, bytes], L2FibEntry] = {}
        #: the acl plugin's ACLs, interface lists and reflect sessions
        self.acl = AclState()
        #: the nat44_ed plugin's state (disabled at start, as VPP starts it)
        self.nat44 = Nat44State()
        #: bd_get_unused_id's static seed: 0 in every new VPP process
        self.bd_id_seed = 0
        self.events: list[InterfaceEvent] = []
        self._address_index = AddressIndex()
        #: the tap ids in use, and the lowest one that may be free (every id below is used)
        self.tap_ids: set[int] = set()
        self._tap_id_floor = 0
        for is_ip6 in (False, True):
            self.tables[(is_ip6, 0)] = IpTable(0, is_ip6, default_table_name(is_ip6, 0), True)
        self.add_interface("local0", Kind.LOCAL, mac=bytes(6), link_mtu=0)
        for nic in nics:
            self.add_interface(nic, Kind.ETHERNET, mac=nic_mac(nic), link_mtu=1500)
        self.events.clear()  # nobody can subscribe before VPP is up

    # -- interfaces ---------------------------------------------------------------------

    def random_mac(self) -> bytes:
        """A locally administered MAC as VPP makes them (02:fe:xx:xx:xx:xx)."""
        return bytes([0x02, 0xFE, *self.random.randbytes(4)])

    def interface(self, sw_if_index: int, retval: Retval = Retval.INVALID_SW_IF_INDEX) -> Interface:
        """The interface at ``sw_if_index``, or SimError(``retval``) if there is none."""
        iface = self.interfaces.get(sw_if_index)
        if iface is None:
            raise SimError(retval, f"no interface {sw_if_index}")
        return iface

    def by_name(self, name: str) -> Interface | None:
        """The interface VPP calls ``name``."""
        return next((i for i in self.interfaces.values() if i.name == name), None)

    def of_kind(self, kind: Kind) -> Iterator[Interface]:
        """Interfaces of one kind, by sw_if_index."""
        indexes = sorted(self._of_kind.get(kind, ()))
        return iter([self.interfaces[index] for index in indexes])

    def add_interface(self, name: str, kind: Kind, *, mac: bytes, link_mtu: int) -> Interface:
        """A new interface (admin down) at the next sw_if_index VPP would hand out; like
        VPP, tell subscribers of it with an event (admin and link down)."""
        if self._free_indexes:
            index = self._free_indexes.pop()
        else:
            index = self._next_index
            self._next_index += 1
        l3_mtu = min(link_mtu, 9000)
        iface = Interface(
            sw_if_index=index,
            name=name,
            kind=kind,
            dev_type=kind.value,
            mac=mac,
            link_mtu=link_mtu,
            mtu=[l3_mtu, 0, 0, 0] if l3_mtu else [0, 0, 0, 0],
        )
        self.interfaces[index] = iface
        self._of_kind.setdefault(kind, set()).add(index)
        self.events.append(InterfaceEvent(index, False, False, deleted=False))
        return iface

    def delete_interface(self, sw_if_index: int) -> None:
        """Delete an interface, its sub-interfaces and every reference to it."""
        for sub in [i for i in self.interfaces.values() if i.sub and i.sub.parent == sw_if_index]:
            self.delete_interface(sub.sw_if_index)
        iface = self.interface(sw_if_index)
        self.leave_bridge_domain(iface)
        peer = self.interfaces.get(iface.xconnect_to) if iface.xconnect_to is not None else None
        if peer is not None and peer is not iface:
            # VPP puts the cross-connect's other end back into L3 (l2_input_interface_add_del)
            self.to_l3(peer)
        for other in self.interfaces.values():
            if other.xconnect_to == sw_if_index:
                other.xconnect_to = None
            if other.unnumbered_of == sw_if_index:
                other.unnumbered_of = None
        for key in [k for k, n in self.neighbors.items() if n.sw_if_index == sw_if_index]:
            del self.neighbors[key]
        self._unindex_addresses(iface)
        self.acl.interface_gone(sw_if_index)
        self.nat44.interface_deleted(sw_if_index)
        del self.interfaces[sw_if_index]
        self._of_kind[iface.kind].discard(sw_if_index)
        if iface.tap is not None:
            self.tap_ids.remove(iface.tap.id)
            self._tap_id_floor = min(self._tap_id_floor, iface.tap.id)
        self._free_indexes.append(sw_if_index)
        self.drop_unused_tables()
        self.events.append(InterfaceEvent(sw_if_index, False, False, deleted=True))
        if iface.memif is not None:
            self.memif_changed()

    # -- addresses ----------------------------------------------------------------------

    def add_address(self, iface: Interface, address: IpInterface) -> None:
        """Add an address, refused as VPP does: ADDRESS_IN_USE when the interface has it or
        it overlaps another interface's in the same table."""
        if address in iface.addresses:
            # VPP's overlap check finds the address itself first: ADDRESS_IN_USE, not
            # DUPLICATE_IF_ADDRESS.
            raise SimError(Retval.ADDRESS_IN_USE, f"{address} already on {iface.name}")
        vrf = iface.table_id(address.version)
        held = self._address_index.overlapping(iface.sw_if_index, vrf, address)
        if held is not None:
            other = self.interfaces[held[0]]
            raise SimError(
                Retval.ADDRESS_IN_USE, f"{address} conflicts with {held[1]} on {other.name}"
            )
        iface.addresses.append(address)
        self._address_index.added(iface.sw_if_index, vrf, address)
        if address.version == 6:
            iface.ip6_enabled = True

    def remove_address(self, iface: Interface, address: IpInterface) -> None:
        """Remove an address (ADDRESS_NOT_FOUND_FOR_INTERFACE when it is not there)."""
        if address not in iface.addresses:
            raise SimError(Retval.ADDRESS_NOT_FOUND_FOR_INTERFACE, f"{address} not on {iface.name}")
        iface.addresses.remove(address)
        self._address_index.removed(iface.sw_if_index, iface.table_id(address.version), address)

    def clear_addresses(self, iface: Interface) -> None:
        """Remove every address of the interface."""
        self._unindex_addresses(iface)
        iface.addresses.clear()

    def set_tables(self, iface: Interface, vrf4: int, vrf6: int) -> None:
        """Put the interface (with any addresses it has) into these tables."""
        self._unindex_addresses(iface)
        iface.vrf4, iface.vrf6 = vrf4, vrf6
        for address in iface.addresses:
            self._address_index.added(iface.sw_if_index, iface.table_id(address.version), address)
        self.drop_unused_tables()

    def _unindex_addresses(self, iface: Interface) -> None:
        for address in iface.addresses:
            self._address_index.removed(iface.sw_if_index, iface.table_id(address.version), address)

    # -- tap ids --------------------------------------------------------------------------

    def free_tap_id(self) -> int:
        """The lowest tap id not in use (what VPP picks when the request names none)."""
        return lowest_free(self.tap_ids, self._tap_id_floor)

    def claim_tap_id(self, tap_id: int) -> None:
        """Mark a tap id as used (by a tap just created)."""
        self.tap_ids.add(tap_id)
        if tap_id == self._tap_id_floor:
            self._tap_id_floor = lowest_free(self.tap_ids, tap_id)

    def mac_of(self, iface: Interface) -> bytes:
        """The interface's MAC: a sub-interface has its parent's (they share the hardware)."""
        if iface.sub is not None and iface.sub.parent in self.interfaces:
            return self.interfaces[iface.sub.parent].mac
        return iface.mac

    def link_up(self, iface: Interface) -> bool:
        """Whether the link is up: the device's hardware flag (see ``change_link``).

        A memif's link is its connection (admin down does not disconnect it), a
        sub-interface shares its parent's link, local0 has no link.
        """
        if iface.kind == Kind.LOCAL:
            return False
        if iface.sub is not None:
            parent = self.interfaces.get(iface.sub.parent)
            return parent is not None and self.link_up(parent)
        if iface.memif is not None:
            return iface.memif.connected
        return iface.hw_link_up

    def flags(self, iface: Interface) -> int:
        """if_status_flags: ADMIN_UP=1, LINK_UP=2."""
        return (1 if iface.admin_up else 0) | (2 if self.link_up(iface) else 0)

    def change_link(self, iface: Interface, *, admin_up: bool) -> None:
        """Apply an admin change and record the event."""
        before = self.flags(iface)
        iface.admin_up = admin_up
        # Every device VPP has here sets its link flag on an admin change (an af_packet
        # starts with the link up, yet goes down with admin down like the others).
        iface.hw_link_up = admin_up
        self._record_change(iface, before)
        if iface.memif is not None:
            self.memif_changed()  # an admin-up slave starts connecting

    def _record_change(self, iface: Interface, before: int) -> None:
        after = self.flags(iface)
        if after != before:
            self.events.append(
                InterfaceEvent(iface.sw_if_index, bool(after & 1), bool(after & 2), False)
            )

    # -- memif --------------------------------------------------------------------------

    def memif_path(self, info: MemifInfo) -> str:
        """The host path of the memif's socket file ("" if its socket is gone)."""
        filename = self.memif_sockets.get(info.socket_id)
        if filename is None:
            return ""
        mounts = tuple(self.mounts.items())
        if mounts != self._host_paths_mounts:  # a mount added since: resolve again
            self._host_paths, self._host_paths_mounts = {}, mounts
        path = self._host_paths.get(filename)
        if path is None:
            path = self._host_paths[filename] = resolve_path(self.mounts, filename)
        return path

    def set_memif_connected(self, iface: Interface, connected: bool) -> None:
        """A memif's connection came or went: its link follows, with an event."""
        assert iface.memif is not None, f"{iface.name} is not a memif"
        before = self.flags(iface)
        iface.memif.connected = connected
        self._record_change(iface, before)

    def memif_changed(self) -> None:
        """Tell the memif links (if this VPP runs with any) that a memif changed."""
        if self.memif_links is not None:
            self.memif_links.memif_changed(self)

    def drain_events(self) -> list[InterfaceEvent]:
        """The interface events since the last call."""
        events, self.events = self.events, []
        return events

    # -- tables -------------------------------------------------------------------------

    def table(self, is_ip6: bool, table_id: int) -> IpTable | None:
        """The table, if it exists."""
        return self.tables.get((is_ip6, table_id))

    def require_table(
        self, is_ip6: bool, table_id: int, retval: Retval = Retval.NO_SUCH_FIB
    ) -> IpTable:
        """The table, or SimError(NO_SUCH_FIB) as VPP answers for a missing VRF."""
        table = self.table(is_ip6, table_id)
        if table is None:
            raise SimError(retval, f"no {'ip6' if is_ip6 else 'ip4'} table {table_id}")
        return table

    def table_users(self, table: IpTable) -> int:
        """Interfaces bound to the table."""
        return sum(
            1
            for i in self.interfaces.values()
            if (i.vrf6 if table.is_ip6 else i.vrf4) == table.table_id
        )

    def drop_unused_tables(self) -> None:
        """Remove tables the API deleted once no interface holds them (their routes go too)."""
        for key, table in list(self.tables.items()):
            if table.table_id != 0 and not table.api_owned and not self.table_users(table):
                del self.tables[key]
                self.routes.pop(key, None)

    # -- L2 -----------------------------------------------------------------------------

    def leave_bridge_domain(self, iface: Interface) -> None:
        """Take the interface out of its bridge domain (and its MACs out of the L2 FIB)."""
        if iface.bd_id is None:
            return
        bd = self.bridge_domains.get(iface.bd_id)
        if bd is not None:
            bd.members.pop(iface.sw_if_index, None)
        for key in [k for k, e in self.l2fib.items() if e.sw_if_index == iface.sw_if_index]:
            del self.l2fib[key]
        iface.bd_id = None

    def leave_l2_mode(self, iface: Interface) -> None:
        """Leave the bridge domain or cross-connect, to enter another L2 mode: VPP moves an
        interface between L2 modes without passing through L3, so its tag rewrite stays."""
        self.leave_bridge_domain(iface)
        iface.xconnect_to = None

    def to_l3(self, iface: Interface) -> None:
        """Back to L3, as set_int_l2_mode(L3) does: out of any L2 mode, and with its L2 output
        configuration cleared, the VLAN tag rewrite included (even if it was in L3 already)."""
        self.leave_l2_mode(iface)
        iface.tag_rewrite = NO_REWRITE
