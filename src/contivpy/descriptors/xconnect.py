"""L2 cross-connects (``vpp-xconnect``): ``config/vpp/l2/v2/xconnect/<rx-if>``.

In: :class:`~contivpy.models.XConnect` values. Out: frames received on one interface sent out
of another (set, changed in place to another transmit interface, cleared), and the
cross-connects VPP has (retrieve; one from an interface that is not ours is obtained).
Depends on both interfaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import check_interface_name, check_key
from contivpy.models.vpp_keys import XCONNECT_PREFIX, interface_key, xconnect_key
from contivpy.models.vpp_l2 import XConnect
from contivpy.scheduler import Dependency, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import xconnect as vpp_xconnect


class XConnectDescriptor(VppDescriptor):
    """One direction of an L2 cross-connect."""

    name: ClassVar[str] = "vpp-xconnect"
    key_prefix: ClassVar[str] = XCONNECT_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface",)

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, XConnect):
            raise InvalidValueError("value", f"expected an XConnect, got {type(value).__name__}")
        check_interface_name("receive_interface", value.receive_interface)
        check_interface_name("transmit_interface", value.transmit_interface)
        if value.receive_interface == value.transmit_interface:
            raise InvalidValueError("transmit_interface", "must differ from receive_interface")
        check_key(key, xconnect_key(value.receive_interface))

    def dependencies(self, key: str, value: XConnect) -> Sequence[Dependency]:
        return (
            Dependency("receive interface", key=interface_key(value.receive_interface)),
            Dependency("transmit interface", key=interface_key(value.transmit_interface)),
        )

    async def create(self, key: str, value: XConnect) -> None:
        await vpp_xconnect.set_xconnect(self.vpp, self._xconnect(value))

    async def update(self, key: str, old: XConnect, new: XConnect, metadata: object) -> None:
        await vpp_xconnect.set_xconnect(self.vpp, self._xconnect(new))

    async def delete(self, key: str, value: XConnect, metadata: object) -> None:
        await vpp_xconnect.clear_xconnect(
            self.vpp, self.interfaces.sw_if_index(value.receive_interface)
        )

    def _xconnect(self, value: XConnect) -> vpp_xconnect.XConnect:
        return vpp_xconnect.XConnect(
            self.interfaces.sw_if_index(value.receive_interface),
            self.interfaces.sw_if_index(value.transmit_interface),
        )

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        interfaces = self.interfaces.by_sw_if_index()
        found: list[Retrieved] = []
        for xc in await vpp_xconnect.dump_xconnects(self.vpp):
            rx, tx = interfaces.get(xc.rx_sw_if_index), interfaces.get(xc.tx_sw_if_index)
            if rx is None or tx is None:
                continue
            key = xconnect_key(rx[0])
            ours = key in correlate or rx[1].owned
            value = XConnect(rx[0], tx[0])
            found.append(Retrieved(key, value, origin=Origin.NB if ours else Origin.SB))
        return found
