"""An interface's IP side: its VRF, its addresses, unnumbered borrowing, IPv6 on/off.

In: a sw_if_index and the value to set. Out: the VRF an interface is in, its addresses
(ip_address_dump) and who borrows whose addresses (ip_unnumbered_dump). VPP refuses to move
an interface that has addresses to another VRF: remove the addresses first.
"""

from __future__ import annotations

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.wire import (
    NO_INDEX,
    IpInterface,
    interface_address_from_wire,
    interface_address_to_wire,
)


async def set_interface_vrf(vpp: ApiChannel, sw_if_index: int, vrf_id: int, ipv6: bool) -> None:
    """Put the interface into VRF ``vrf_id`` for one address family: its unicast and
    multicast tables both. The VRF must exist (NO_SUCH_FIB), and the interface must have no
    address of the family, borrowed ones included (ADDRESS_FOUND_FOR_INTERFACE, even when it
    is already in that VRF)."""
    await vpp.call(
        "sw_interface_set_table", {"sw_if_index": sw_if_index, "is_ipv6": ipv6, "vrf_id": vrf_id}
    )


async def get_interface_vrf(vpp: ApiChannel, sw_if_index: int, ipv6: bool) -> int:
    """The VRF the interface is in for one address family."""
    reply = await vpp.call("sw_interface_get_table", {"sw_if_index": sw_if_index, "is_ipv6": ipv6})
    return reply.get_int("vrf_id")


async def add_address(vpp: ApiChannel, sw_if_index: int, address: IpInterface) -> None:
    """Add an address (with its prefix length) to the interface."""
    await vpp.call(
        "sw_interface_add_del_address",
        {"sw_if_index": sw_if_index, "is_add": True, "prefix": interface_address_to_wire(address)},
    )


async def delete_address(vpp: ApiChannel, sw_if_index: int, address: IpInterface) -> None:
    """Remove an address from the interface."""
    await vpp.call(
        "sw_interface_add_del_address",
        {"sw_if_index": sw_if_index, "is_add": False, "prefix": interface_address_to_wire(address)},
    )


async def dump_addresses(vpp: ApiChannel, sw_if_index: int, ipv6: bool) -> list[IpInterface]:
    """The interface's addresses of one family, in the order they were added."""
    details = await vpp.dump("ip_address_dump", {"sw_if_index": sw_if_index, "is_ipv6": ipv6})
    return [interface_address_from_wire(d.get_struct("prefix")) for d in details]


async def set_unnumbered(vpp: ApiChannel, sw_if_index: int, ip_sw_if_index: int) -> None:
    """Let ``sw_if_index`` use the addresses of ``ip_sw_if_index``. VPP moves neither: it
    answers UNEXPECTED_INTF_STATE unless ``sw_if_index`` is already in the same IPv4 and
    IPv6 tables as ``ip_sw_if_index`` (see :func:`set_interface_vrf`)."""
    await vpp.call(
        "sw_interface_set_unnumbered",
        {"sw_if_index": ip_sw_if_index, "unnumbered_sw_if_index": sw_if_index, "is_add": True},
    )


async def clear_unnumbered(vpp: ApiChannel, sw_if_index: int, ip_sw_if_index: int) -> None:
    """Stop ``sw_if_index`` borrowing the addresses of ``ip_sw_if_index`` (it stays in the
    tables it is in)."""
    await vpp.call(
        "sw_interface_set_unnumbered",
        {"sw_if_index": ip_sw_if_index, "unnumbered_sw_if_index": sw_if_index, "is_add": False},
    )


async def dump_unnumbered(vpp: ApiChannel, sw_if_index: int | None = None) -> dict[int, int]:
    """Unnumbered interface → the interface whose addresses it uses."""
    fields = {"sw_if_index": NO_INDEX if sw_if_index is None else sw_if_index}
    details = await vpp.dump("ip_unnumbered_dump", fields)
    return {d.get_int("sw_if_index"): d.get_int("ip_sw_if_index") for d in details}


async def enable_ip6(vpp: ApiChannel, sw_if_index: int, enable: bool = True) -> None:
    """Turn IPv6 on (link-local address, ND) or off for the interface."""
    await vpp.call(
        "sw_interface_ip6_enable_disable", {"sw_if_index": sw_if_index, "enable": enable}
    )
