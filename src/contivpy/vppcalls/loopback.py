"""Loopback interfaces (also what a bridge domain's BVI usually is).

In: :class:`LoopbackSpec`. Out: the new sw_if_index. VPP names the interface
``loop<instance>``; without a MAC it gives de:ad:00:00:00:<instance>. Read back with
:func:`contivpy.vppcalls.interfaces.dump_interfaces` (device type ``Loopback``).
"""

from __future__ import annotations

from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.wire import mac_to_wire


@dataclass(frozen=True)
class LoopbackSpec:
    """A loopback to create."""

    mac: str | None = None
    #: the N of loopN; None lets VPP take the lowest free one
    instance: int | None = None


async def create_loopback(vpp: ApiChannel, spec: LoopbackSpec) -> int:
    """Create the loopback; its sw_if_index."""
    reply = await vpp.call(
        "create_loopback_instance",
        {
            "mac_address": mac_to_wire(spec.mac),
            "is_specified": spec.instance is not None,
            "user_instance": spec.instance or 0,
        },
    )
    return reply.get_int("sw_if_index")


async def delete_loopback(vpp: ApiChannel, sw_if_index: int) -> None:
    """Delete a loopback."""
    await vpp.call("delete_loopback", {"sw_if_index": sw_if_index})
