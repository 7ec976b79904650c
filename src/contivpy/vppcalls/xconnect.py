"""L2 cross-connects: every frame received on one interface leaves through another.

In: the receive and transmit sw_if_indexes. Out: l2_xconnect_dump as :class:`XConnect`. A
cross-connect is one direction; a pair needs two. Cross-connecting takes an interface out of
any bridge domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel


@dataclass(frozen=True)
class XConnect:
    """Frames received on ``rx_sw_if_index`` are sent out of ``tx_sw_if_index``."""

    rx_sw_if_index: int
    tx_sw_if_index: int


async def set_xconnect(vpp: ApiChannel, xconnect: XConnect) -> None:
    """Cross-connect rx to tx."""
    await vpp.call(
        "sw_interface_set_l2_xconnect",
        {
            "rx_sw_if_index": xconnect.rx_sw_if_index,
            "tx_sw_if_index": xconnect.tx_sw_if_index,
            "enable": True,
        },
    )


async def clear_xconnect(vpp: ApiChannel, rx_sw_if_index: int) -> None:
    """Return the interface to L3."""
    await vpp.call(
        "sw_interface_set_l2_xconnect", {"rx_sw_if_index": rx_sw_if_index, "enable": False}
    )


async def dump_xconnects(vpp: ApiChannel) -> list[XConnect]:
    """Every cross-connect."""
    details = await vpp.dump("l2_xconnect_dump")
    return [XConnect(d.get_int("rx_sw_if_index"), d.get_int("tx_sw_if_index")) for d in details]
