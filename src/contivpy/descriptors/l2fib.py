"""Static L2 FIB entries (``vpp-l2-fib``): ``config/vpp/l2/v2/fib/<bd>/mac/<mac>``.

In: :class:`~contivpy.models.L2FIB` values. Out: MAC entries added to and removed from a
bridge domain's forwarding table (any change re-creates the entry), and the static entries VPP
has (retrieve; the entries VPP adds for BVIs and the MACs it learns are left out unless
desired). A FORWARD entry waits for its interface's membership of the domain
(``vpp/bd/<bd>/interface/<if>``), a DROP entry for the domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import (
    check_bridge_domain_name,
    check_interface_name,
    check_key,
    check_mac,
)
from contivpy.models.vpp_keys import (
    L2FIB_PREFIX,
    bd_member_key,
    bridge_domain_key,
    canonical_mac,
    l2fib_key,
)
from contivpy.models.vpp_l2 import L2FIB, L2FIBAction
from contivpy.scheduler import Dependency, InvalidValueError, Retrieved
from contivpy.vppcalls import l2fib as vpp_l2fib
from contivpy.vppcalls.wire import NO_INDEX


class L2FibDescriptor(VppDescriptor):
    """One static MAC entry of one bridge domain."""

    name: ClassVar[str] = "vpp-l2-fib"
    key_prefix: ClassVar[str] = L2FIB_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface", "vpp-bridge-domain")

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, L2FIB):
            raise InvalidValueError("value", f"expected an L2FIB, got {type(value).__name__}")
        check_bridge_domain_name("bridge_domain", value.bridge_domain)
        check_mac("phys_address", value.phys_address, optional=False)
        if not isinstance(value.action, L2FIBAction):
            raise InvalidValueError("action", "must be FORWARD or DROP")
        if value.action is L2FIBAction.FORWARD:
            check_interface_name("outgoing_interface", value.outgoing_interface)
        elif value.outgoing_interface:
            raise InvalidValueError("outgoing_interface", "a DROP entry sends nowhere")
        check_key(key, l2fib_key(value.bridge_domain, value.phys_address))

    def dependencies(self, key: str, value: L2FIB) -> Sequence[Dependency]:
        if value.action is L2FIBAction.DROP:
            return (Dependency("bridge domain", key=bridge_domain_key(value.bridge_domain)),)
        member = bd_member_key(value.bridge_domain, value.outgoing_interface)
        return (Dependency("interface in the bridge domain", key=member),)

    def equivalent(self, key: str, old: L2FIB, new: L2FIB) -> bool:
        return _normalized(old) == _normalized(new)

    async def create(self, key: str, value: L2FIB) -> None:
        await vpp_l2fib.add_l2fib_entry(self.vpp, self._entry(value))

    async def delete(self, key: str, value: L2FIB, metadata: object) -> None:
        await vpp_l2fib.delete_l2fib_entry(self.vpp, self._entry(value))

    def _entry(self, value: L2FIB) -> vpp_l2fib.L2FibEntry:
        drop = value.action is L2FIBAction.DROP
        return vpp_l2fib.L2FibEntry(
            bd_id=self.bridge_domains.bd_id(value.bridge_domain),
            mac=value.phys_address,
            sw_if_index=NO_INDEX if drop else self.interfaces.sw_if_index(value.outgoing_interface),
            static=value.static,
            bvi=value.bvi,
            filter=drop,
        )

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        domains = self.bridge_domains.names_by_id()
        interfaces = self.interfaces.by_sw_if_index()
        found: list[Retrieved] = []
        for entry in await vpp_l2fib.dump_l2fib(self.vpp):
            bd = domains.get(entry.bd_id)
            if bd is None:
                continue
            key = l2fib_key(bd, entry.mac)
            desired = correlate.get(key)
            if desired is None and (entry.bvi or not entry.static):
                continue  # VPP's own entry for a BVI, or a learnt MAC
            if entry.filter:
                value = L2FIB(bd, entry.mac, "", entry.static, entry.bvi, L2FIBAction.DROP)
            else:
                known = interfaces.get(entry.sw_if_index)
                if known is None:
                    continue
                value = L2FIB(bd, entry.mac, known[0], entry.static, entry.bvi)
            if isinstance(desired, L2FIB) and _normalized(desired) == _normalized(value):
                value = desired
            found.append(Retrieved(key, value))
        return found


def _normalized(value: L2FIB) -> tuple[object, ...]:
    try:
        mac = canonical_mac(value.phys_address)
    except ValueError:
        mac = value.phys_address
    return (
        value.bridge_domain,
        mac,
        value.outgoing_interface,
        value.static,
        value.bvi,
        value.action,
    )
