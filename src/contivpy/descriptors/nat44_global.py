"""The NAT44-ED plugin (``vpp-nat44-global``): ``config/vpp/nat/v2/nat44-global``.

In: a :class:`~contivpy.models.Nat44Global` value. Out: the plugin enabled in
endpoint-dependent mode with its session limit and VRFs, forwarding set after (enabling turns
it off), and the plugin as VPP runs it (retrieve). Forwarding is changed in place; any other
change re-creates the plugin, which VPP empties: every NAT value depends on this one and is
re-created after it. Disabling may be answered BUG by a real VPP 26.06 although it disabled:
the running configuration decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from contivpy.descriptors.base import VppDescriptor
from contivpy.descriptors.value_checks import check_range, check_vrf
from contivpy.models.vpp_keys import NAT44_GLOBAL_KEY
from contivpy.models.vpp_nat import Nat44Global
from contivpy.scheduler import InvalidValueError, Retrieved
from contivpy.vppcalls import nat44
from contivpy.vppcalls.errors import VppApiError

MAX_SESSIONS = 0xFFFFFFFF


class Nat44GlobalDescriptor(VppDescriptor):
    """The plugin enabled, once per VPP."""

    name: ClassVar[str] = "vpp-nat44-global"
    key_prefix: ClassVar[str] = NAT44_GLOBAL_KEY

    def owns(self, key: str) -> bool:
        return key == NAT44_GLOBAL_KEY

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, Nat44Global):
            raise InvalidValueError("value", f"expected a Nat44Global, got {type(value).__name__}")
        check_range("sessions", value.sessions, 0, MAX_SESSIONS)
        check_vrf("inside_vrf", value.inside_vrf)
        check_vrf("outside_vrf", value.outside_vrf)
        if not isinstance(value.forwarding, bool):
            raise InvalidValueError("forwarding", "must be true or false")

    def equivalent(self, key: str, old: Nat44Global, new: Nat44Global) -> bool:
        return _normal(old) == _normal(new)

    def needs_recreate(self, key: str, old: Nat44Global, new: Nat44Global) -> bool:
        return replace(_normal(old), forwarding=True) != replace(_normal(new), forwarding=True)

    async def create(self, key: str, value: Nat44Global) -> None:
        await nat44.enable_nat44(self.vpp, value.sessions, value.inside_vrf, value.outside_vrf)
        if value.forwarding:
            await nat44.set_forwarding(self.vpp, True)

    async def update(self, key: str, old: Nat44Global, new: Nat44Global, metadata: object) -> None:
        await nat44.set_forwarding(self.vpp, new.forwarding)

    async def delete(self, key: str, value: Nat44Global, metadata: object) -> None:
        try:
            await nat44.disable_nat44(self.vpp)
        except VppApiError:
            if (await nat44.running_config(self.vpp)).enabled:
                raise

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        config = await nat44.running_config(self.vpp)
        if not config.enabled:
            return ()
        found = Nat44Global(
            config.sessions, config.forwarding, config.inside_vrf, config.outside_vrf
        )
        desired = correlate.get(NAT44_GLOBAL_KEY)
        if isinstance(desired, Nat44Global) and _normal(desired) == found:
            found = desired  # 0 sessions reads back as VPP's default
        return (Retrieved(NAT44_GLOBAL_KEY, found),)


def _normal(value: Nat44Global) -> Nat44Global:
    """The value as VPP reports it: 0 sessions is VPP's default."""
    return replace(value, sessions=value.sessions or nat44.DEFAULT_SESSIONS)
