"""NAT features of an interface (``vpp-nat44-interface``):
``config/vpp/nat/v2/nat44-interface/<if>``.

In: :class:`~contivpy.models.Nat44Interface` values. Out: the inside/outside features or the
output feature on the interface, changed in place, and those VPP has (retrieve; output
interfaces come from their own listing). Depends on the interface and the plugin. VPP drops
an interface's features with the interface.

Changes keep what stays: directions are added before others are removed (deleting the last
direction of an interface removes its feature, whichever direction is named); the output
feature excludes the other two, so switching between them removes the old one first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.nat44_checks import PLUGIN
from contivpy.descriptors.value_checks import check_interface_name, check_key
from contivpy.models.vpp_keys import (
    NAT44_INTERFACE_PREFIX,
    interface_key,
    nat44_interface_key,
)
from contivpy.models.vpp_nat import Nat44Interface
from contivpy.scheduler import Dependency, InvalidValueError, Origin, Retrieved
from contivpy.vppcalls import nat44


class Nat44InterfaceDescriptor(VppDescriptor):
    """Inside/outside/output NAT on one interface."""

    name: ClassVar[str] = "vpp-nat44-interface"
    key_prefix: ClassVar[str] = NAT44_INTERFACE_PREFIX
    retrieve_after: ClassVar[Sequence[str]] = ("vpp-interface", "vpp-nat44-global")

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Nat44Interface):
            raise InvalidValueError(
                "value", f"expected a Nat44Interface, got {type(value).__name__}"
            )
        check_interface_name("name", value.name)
        if value.output and (value.inside or value.outside):
            raise InvalidValueError("output", "excludes inside and outside (VPP refuses both)")
        if not (value.inside or value.outside or value.output):
            raise InvalidValueError("value", "names no feature (inside, outside or output)")
        check_key(key, nat44_interface_key(value.name))

    def dependencies(self, key: str, value: Nat44Interface) -> Sequence[Dependency]:
        return (Dependency("interface", key=interface_key(value.name)), PLUGIN)

    async def create(self, key: str, value: Nat44Interface) -> None:
        await self._add(self.interfaces.sw_if_index(value.name), value)

    async def update(
        self, key: str, old: Nat44Interface, new: Nat44Interface, metadata: object
    ) -> None:
        sw_if_index = self.interfaces.sw_if_index(new.name)
        if old.output != new.output:
            await self._remove(sw_if_index, old)
            await self._add(sw_if_index, new)
            return
        if new.inside and not old.inside:
            await nat44.add_interface_feature(self.vpp, sw_if_index, inside=True)
        if new.outside and not old.outside:
            await nat44.add_interface_feature(self.vpp, sw_if_index, inside=False)
        if old.inside and not new.inside:
            await nat44.delete_interface_feature(self.vpp, sw_if_index, inside=True)
        if old.outside and not new.outside:
            await nat44.delete_interface_feature(self.vpp, sw_if_index, inside=False)

    async def delete(self, key: str, value: Nat44Interface, metadata: object) -> None:
        meta = self.interfaces.meta(value.name)
        if meta is None:
            return  # the interface is gone, and VPP dropped its features with it
        await self._remove(meta.sw_if_index, value)

    async def _add(self, sw_if_index: int, value: Nat44Interface) -> None:
        if value.output:
            await nat44.add_output_interface(self.vpp, sw_if_index)
        if value.inside:
            await nat44.add_interface_feature(self.vpp, sw_if_index, inside=True)
        if value.outside:
            await nat44.add_interface_feature(self.vpp, sw_if_index, inside=False)

    async def _remove(self, sw_if_index: int, value: Nat44Interface) -> None:
        if value.output:
            await nat44.delete_output_interface(self.vpp, sw_if_index)
        if value.inside:
            await nat44.delete_interface_feature(self.vpp, sw_if_index, inside=True)
        if value.outside:
            await nat44.delete_interface_feature(self.vpp, sw_if_index, inside=False)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        names = self.interfaces.by_sw_if_index()
        found: list[Retrieved] = []

        def add(sw_if_index: int, value_of: Any) -> None:
            entry = names.get(sw_if_index)
            if entry is None:
                return  # an interface that is not ours and not known: not ours either
            name, meta = entry
            key = nat44_interface_key(name)
            origin = Origin.NB if meta.owned or key in correlate else Origin.SB
            found.append(Retrieved(key, value_of(name), origin=origin))

        for feature in await nat44.dump_interface_features(self.vpp):
            add(
                feature.sw_if_index,
                lambda name, f=feature: Nat44Interface(name, f.inside, f.outside),
            )
        for sw_if_index in await nat44.dump_output_interfaces(self.vpp):
            add(sw_if_index, lambda name: Nat44Interface(name, output=True))
        return found
