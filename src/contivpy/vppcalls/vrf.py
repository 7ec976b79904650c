"""VRF tables (ip_table_add_del / ip_table_dump).

In: :class:`VrfTable`. Out: the tables VPP has. Table 0 of each family always exists.
Creating an existing table and deleting a missing one are both accepted by VPP.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel


@dataclass(frozen=True)
class VrfTable:
    """A routing table of one address family. VPP names an unnamed one ipv4-VRF:<id>."""

    table_id: int
    ipv6: bool = False
    name: str = ""


def _wire(table: VrfTable) -> dict[str, object]:
    return {"table_id": table.table_id, "is_ip6": table.ipv6, "name": table.name}


async def add_vrf_table(vpp: ApiChannel, table: VrfTable) -> None:
    """Create the table."""
    await vpp.call("ip_table_add_del", {"is_add": True, "table": _wire(table)})


async def delete_vrf_table(vpp: ApiChannel, table: VrfTable) -> None:
    """Delete the table (its API routes go with it)."""
    await vpp.call("ip_table_add_del", {"is_add": False, "table": _wire(table)})


async def dump_vrf_tables(vpp: ApiChannel) -> list[VrfTable]:
    """Every table of both families."""
    tables = [d.get_struct("table") for d in await vpp.dump("ip_table_dump")]
    return [
        VrfTable(t.get_int("table_id"), t.get_bool("is_ip6"), t.get_str("name")) for t in tables
    ]
