"""VRF tables (``vpp-vrf-table``): ``config/vpp/v2/vrf-table/id/<id>/protocol/<IPV4|IPV6>``.

In: :class:`~contivpy.models.VrfTable` values. Out: tables created in and deleted from VPP,
and the tables VPP has (retrieve). Table 0 of each family always exists and is never
configured (nor reported). A change of label re-creates the table (VPP keeps the first name
it was given); its routes and bindings depend on it and are re-created after it. A table
VPP named itself (``ipv4-VRF:<id>``) reads back with an empty label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import MAX_TABLE_ID, check_key, check_range
from contivpy.models.vpp_keys import VRF_TABLE_PREFIX, vrf_table_key
from contivpy.models.vpp_l3 import IpProtocol, VrfTable
from contivpy.scheduler import InvalidValueError, Retrieved
from contivpy.vppcalls import vrf as vpp_vrf

MAX_LABEL = 63


def default_label(table_id: int, protocol: IpProtocol) -> str:
    """The name VPP gives a table created without one."""
    return f"{'ipv6' if protocol is IpProtocol.IPV6 else 'ipv4'}-VRF:{table_id}"


class VrfTableDescriptor(VppDescriptor):
    """Non-zero VRF tables of both families."""

    name: ClassVar[str] = "vpp-vrf-table"
    key_prefix: ClassVar[str] = VRF_TABLE_PREFIX

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, VrfTable):
            raise InvalidValueError("value", f"expected a VrfTable, got {type(value).__name__}")
        check_range("id", value.id, 1, MAX_TABLE_ID)
        if not isinstance(value.protocol, IpProtocol):
            raise InvalidValueError("protocol", "must be IPV4 or IPV6")
        if len(value.label) > MAX_LABEL:
            raise InvalidValueError("label", f"longer than {MAX_LABEL} characters")
        check_key(key, vrf_table_key(value.id, value.protocol))

    async def create(self, key: str, value: VrfTable) -> None:
        await vpp_vrf.add_vrf_table(self.vpp, _table(value))

    async def delete(self, key: str, value: VrfTable, metadata: object) -> None:
        await vpp_vrf.delete_vrf_table(self.vpp, _table(value))

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        found: list[Retrieved] = []
        for table in await vpp_vrf.dump_vrf_tables(self.vpp):
            if table.table_id == 0:
                continue
            protocol = IpProtocol.IPV6 if table.ipv6 else IpProtocol.IPV4
            label = "" if table.name == default_label(table.table_id, protocol) else table.name
            key = vrf_table_key(table.table_id, protocol)
            found.append(Retrieved(key, VrfTable(table.table_id, protocol, label)))
        return found


def _table(value: VrfTable) -> vpp_vrf.VrfTable:
    return vpp_vrf.VrfTable(value.id, value.protocol is IpProtocol.IPV6, value.label)
