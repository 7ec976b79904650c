"""An interface's VRF bindings (``vpp-interface-vrf``), derived from the interface value.

In: :class:`~contivpy.models.InterfaceVrf` values under
``vpp/interface/<if>/vrf/<id>/ip-version/<v4|v6>``, and :class:`~contivpy.models.InheritedVrf`
values under ``vpp/interface/<if>/vrf/from-interface/<numbered>``. Out: the interface put into
the VRF (and back into table 0 on delete), and the tables it is in remembered in its
metadata.

- One family's binding waits for that VRF table's key (VRF 0 always exists). VPP refuses to
  move an interface that has addresses of the family; the addresses depend on the binding, so
  they are removed first and added after. Interfaces start in table 0, so binding to VRF 0
  needs no call.
- The inherited binding of an unnumbered interface: VPP 26.06 sets unnumbered only when the
  interface is already in the very tables (IPv4 and IPv6) of the numbered one, and moves
  neither (UNEXPECTED_INTF_STATE otherwise). So this binding puts the unnumbered one into both
  of the numbered one's tables, moving only the families that differ; the unnumbered binding
  depends on it (created after, deleted before: VPP refuses to move an interface while it
  borrows addresses). It waits until the numbered interface has an address (its addresses
  wait for its own VRF bindings, so those are done) and one of its VRF bindings exists.

Which table each interface is in comes from its metadata (``InterfaceMeta.tables``: known for
what contivpy created, retrieved or moved); only what is not known is read from VPP, and what
is read is remembered. Every move is remembered once VPP took it; while it is under way, and
after it failed, that family is unknown again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.indexes import InterfaceMeta
from contivpy.models.vpp_derived import InheritedVrf, InterfaceVrf
from contivpy.models.vpp_keys import (
    DERIVED_INTERFACE_PREFIX,
    has_ip_address_key,
    interface_vrf_prefix,
    parse_inherited_vrf_key,
    parse_interface_vrf_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol
from contivpy.scheduler import Dependency
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.interface_ip import get_interface_vrf, set_interface_vrf


class InterfaceVrfDescriptor(VppDescriptor):
    """One interface in one VRF for one address family, or in its numbered one's VRFs."""

    name: ClassVar[str] = "vpp-interface-vrf"
    key_prefix: ClassVar[str] = DERIVED_INTERFACE_PREFIX

    def owns(self, key: str) -> bool:
        # "/vrf/" first: most keys under the shared prefix are not ours, and the test is
        # cheaper than parsing them (both key forms contain it).
        if "/vrf/" not in key:
            return False
        return parse_interface_vrf_key(key) is not None or parse_inherited_vrf_key(key) is not None

    def dependencies(self, key: str, value: InterfaceVrf | InheritedVrf) -> Sequence[Dependency]:
        if isinstance(value, InheritedVrf):
            return (
                Dependency(
                    "numbered interface has an address", key=has_ip_address_key(value.numbered)
                ),
                Dependency(
                    "numbered interface in its VRF", any_of=(interface_vrf_prefix(value.numbered),)
                ),
            )
        if value.vrf == 0:
            return ()
        protocol = IpProtocol.IPV6 if value.ipv6 else IpProtocol.IPV4
        return (Dependency("VRF table", key=vrf_table_key(value.vrf, protocol)),)

    async def create(self, key: str, value: InterfaceVrf | InheritedVrf) -> None:
        if isinstance(value, InheritedVrf):
            meta = self.interfaces.known(value.interface)
            numbered = self.interfaces.known(value.numbered)
            v4, v6, held4, held6 = await _tables(
                self.vpp, ((numbered, False), (numbered, True), (meta, False), (meta, True))
            )
            await _moves(self.vpp, meta, ((False, held4, v4), (True, held6, v6)))
        elif value.vrf != 0:
            meta = self.interfaces.known(value.interface)
            await _move(self.vpp, meta, value.vrf, value.ipv6)

    async def delete(self, key: str, value: InterfaceVrf | InheritedVrf, metadata: object) -> None:
        meta = self.interfaces.known(value.interface)
        if isinstance(value, InheritedVrf):
            held4, held6 = await _tables(self.vpp, ((meta, False), (meta, True)))
            await _moves(self.vpp, meta, ((False, held4, 0), (True, held6, 0)))
        elif value.vrf != 0:
            await _move(self.vpp, meta, 0, value.ipv6)


async def _tables(vpp: ApiChannel, wanted: Sequence[tuple[InterfaceMeta, bool]]) -> list[int]:
    """The table of each (interface, family): as known, else read from VPP and remembered."""
    tables = [meta.tables.get(ipv6) for meta, ipv6 in wanted]
    unknown = [n for n, table in enumerate(tables) if table is None]
    if unknown:
        # all of them in one round trip (the client pipelines the requests)
        read = await asyncio.gather(*(_read(vpp, *wanted[n]) for n in unknown))
        for n, table in zip(unknown, read, strict=True):
            tables[n] = table
    return [table for table in tables if table is not None]


async def _read(vpp: ApiChannel, meta: InterfaceMeta, ipv6: bool) -> int:
    table = await get_interface_vrf(vpp, meta.sw_if_index, ipv6)
    meta.tables.remember(ipv6, table)
    return table


async def _moves(
    vpp: ApiChannel, meta: InterfaceMeta, moves: Sequence[tuple[bool, int, int]]
) -> None:
    """Each (family, table held, table wanted) that differs moved, all in one round trip."""
    todo = [_move(vpp, meta, wanted, ipv6) for ipv6, held, wanted in moves if held != wanted]
    if len(todo) == 1:
        await todo[0]  # the usual case (one family in a VRF): no task needed
    elif todo:
        await asyncio.gather(*todo)


async def _move(vpp: ApiChannel, meta: InterfaceMeta, table: int, ipv6: bool) -> None:
    # Unknown while under way: a move that fails (or is cancelled) may or may not have
    # happened, and the next binding then asks VPP.
    meta.tables.forget(ipv6)
    await set_interface_vrf(vpp, meta.sw_if_index, table, ipv6)
    meta.tables.remember(ipv6, table)
