"""Proxy ARP: address ranges per VRF, and the interfaces that answer for them.

In: proxy_arp_add_del, proxy_arp_dump, proxy_arp_intfc_enable_disable, proxy_arp_intfc_dump.
Out: replies and details. As VPP's arp_proxy: the range's VRF must exist (NO_SUCH_FIB);
adding a range twice is accepted, deleting a missing one is NO_SUCH_ENTRY.
"""

from __future__ import annotations

import ipaddress

from contivpy.sim.vpp.handlers import Fields, Handler
from contivpy.sim.vpp.model import ProxyArpRange, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message
from contivpy.vppcalls.retvals import Retval


def proxy_arp_add_del(state: VppState, msg: Message) -> Fields:
    proxy = msg.get_struct("proxy")
    entry = ProxyArpRange(
        proxy.get_int("table_id"),
        ipaddress.IPv4Address(proxy.get_bytes("low")),
        ipaddress.IPv4Address(proxy.get_bytes("hi")),
    )
    state.require_table(False, entry.table_id)
    if msg.get_bool("is_add"):
        if entry not in state.proxy_arp_ranges:
            state.proxy_arp_ranges.append(entry)
        return {}
    if entry not in state.proxy_arp_ranges:
        raise SimError(Retval.NO_SUCH_ENTRY, "no such proxy ARP range")
    state.proxy_arp_ranges.remove(entry)
    return {}


def proxy_arp_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"proxy": {"table_id": r.table_id, "low": r.low.packed, "hi": r.high.packed}}
        for r in state.proxy_arp_ranges
    ]


def proxy_arp_intfc_enable_disable(state: VppState, msg: Message) -> Fields:
    iface = state.interface(msg.get_int("sw_if_index"))
    iface.proxy_arp = msg.get_bool("enable")
    return {}


def proxy_arp_intfc_dump(state: VppState, msg: Message) -> list[Fields]:
    return [
        {"sw_if_index": index}
        for index, iface in sorted(state.interfaces.items())
        if iface.proxy_arp
    ]


HANDLERS: dict[str, Handler] = {
    "proxy_arp_add_del": proxy_arp_add_del,
    "proxy_arp_dump": proxy_arp_dump,
    "proxy_arp_intfc_enable_disable": proxy_arp_intfc_enable_disable,
    "proxy_arp_intfc_dump": proxy_arp_intfc_dump,
}
