"""Bridge-domain members (``vpp-bd-interface``), derived from the bridge-domain value:
``vpp/bd/<bd>/interface/<if>``.

In: :class:`~contivpy.models.BridgeDomainMember` values. Out: the interface put into the
bridge domain (as its BVI, with its split-horizon group) or taken out again. Waits for the
interface; the domain itself exists whenever a member value does (members are derived from
it). A change of BVI flag or group re-creates the membership. No retrieve: members come back
inside the bridge domain's value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.models.vpp_derived import BridgeDomainMember
from contivpy.models.vpp_keys import BD_MEMBER_PREFIX, interface_key
from contivpy.scheduler import Dependency
from contivpy.vppcalls import bridge_domains as vpp_bd


class BridgeDomainMemberDescriptor(VppDescriptor):
    """One interface in one bridge domain."""

    name: ClassVar[str] = "vpp-bd-interface"
    key_prefix: ClassVar[str] = BD_MEMBER_PREFIX

    def dependencies(self, key: str, value: BridgeDomainMember) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.interface)),)

    async def create(self, key: str, value: BridgeDomainMember) -> None:
        await vpp_bd.add_port(self.vpp, self._port(value))

    async def delete(self, key: str, value: BridgeDomainMember, metadata: object) -> None:
        await vpp_bd.remove_port(self.vpp, self._port(value))

    def _port(self, value: BridgeDomainMember) -> vpp_bd.BridgeDomainPort:
        return vpp_bd.BridgeDomainPort(
            sw_if_index=self.interfaces.sw_if_index(value.interface),
            bd_id=self.bridge_domains.bd_id(value.bridge_domain),
            bvi=value.bvi,
            shg=value.split_horizon_group,
        )
