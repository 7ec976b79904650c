"""NAT44 endpoint-dependent (nat44_ed): the plugin, interface features, the address pool.

In: sw_if_indexes, :class:`NatAddressRange` values. Out: the running configuration, the
interfaces with an inside/outside feature, the output (post-routing) interfaces and the pool's
addresses, as a VPP 26.06 reports them. Static, load-balanced and identity mappings are
``nat44_mappings``; sessions ``nat44_sessions``.

Facts of a real VPP 26.06 that callers must know:

- Until the plugin is enabled every configuration call is refused with UNSUPPORTED and the
  dumps are empty; enabling twice is FEATURE_ALREADY_ENABLED, disabling a disabled plugin
  FEATURE_ALREADY_DISABLED. Disabling forgets every NAT object.
- ``running_config().sessions`` is 0 while the plugin is disabled; enabled with 0 sessions it
  reads VPP's default (:data:`DEFAULT_SESSIONS`).
- Enabling turns forwarding off; ``nat44_forwarding_enable_disable`` (deprecated in 26.06, and
  the only way to set it) must come after.
- An interface feature given twice is accepted; deleting either direction of an interface
  that has only one removes its feature; the output feature is refused (VALUE_EXIST) on an
  interface with an inside/outside feature and vice versa.
- Adding a pool address twice is VALUE_EXIST (a range stops at the first such address, the
  earlier ones stay); deleting needs the same twice-NAT flag (else NO_SUCH_ENTRY). A pool
  address with a VRF other than ~0 makes VPP create that FIB table.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.wire import NO_INDEX

#: max translations per thread VPP uses when enabled with sessions=0
DEFAULT_SESSIONS = 64512
#: nat44_config_flags: the only mode VPP 26.06 has
ENDPOINT_DEPENDENT = 1


class NatFlags(enum.IntFlag):
    """vl_api_nat_config_flags_t."""

    NONE = 0
    TWICE_NAT = 1
    SELF_TWICE_NAT = 2
    OUT2IN_ONLY = 4
    ADDR_ONLY = 8
    OUTSIDE = 16
    INSIDE = 32
    STATIC = 64
    EXT_HOST_VALID = 128


@dataclass(frozen=True)
class NatRunningConfig:
    """What nat44_show_running_config reports (the parts contivpy uses)."""

    enabled: bool
    sessions: int
    inside_vrf: int
    outside_vrf: int
    forwarding: bool
    translation_buckets: int


async def enable_nat44(
    vpp: ApiChannel, sessions: int = 0, inside_vrf: int = 0, outside_vrf: int = 0
) -> None:
    """Enable the plugin (endpoint-dependent; ``sessions`` 0 is VPP's default)."""
    await vpp.call(
        "nat44_ed_plugin_enable_disable",
        {
            "enable": True,
            "sessions": sessions,
            "session_memory": 0,
            "inside_vrf": inside_vrf,
            "outside_vrf": outside_vrf,
            "flags": ENDPOINT_DEPENDENT,
        },
    )


async def disable_nat44(vpp: ApiChannel) -> None:
    """Disable the plugin: every NAT object goes with it."""
    await vpp.call("nat44_ed_plugin_enable_disable", {"enable": False})


async def set_forwarding(vpp: ApiChannel, enable: bool) -> None:
    """Let packets that match no mapping or session pass untranslated (or not)."""
    await vpp.call("nat44_forwarding_enable_disable", {"enable": enable})


async def running_config(vpp: ApiChannel) -> NatRunningConfig:
    """The plugin's state."""
    reply = await vpp.call("nat44_show_running_config")
    sessions = reply.get_int("sessions")
    return NatRunningConfig(
        enabled=sessions != 0,
        sessions=sessions,
        inside_vrf=reply.get_int("inside_vrf"),
        outside_vrf=reply.get_int("outside_vrf"),
        forwarding=reply.get_bool("forwarding_enabled"),
        translation_buckets=reply.get_int("translation_buckets"),
    )


# --- interface features ----------------------------------------------------------------


@dataclass(frozen=True)
class NatInterface:
    """An interface with the NAT inside and/or outside feature."""

    sw_if_index: int
    inside: bool = False
    outside: bool = False


async def add_interface_feature(vpp: ApiChannel, sw_if_index: int, inside: bool) -> None:
    """Turn the inside (or outside) feature on."""
    flags = NatFlags.INSIDE if inside else NatFlags.OUTSIDE
    await vpp.call(
        "nat44_interface_add_del_feature",
        {"is_add": True, "flags": int(flags), "sw_if_index": sw_if_index},
    )


async def delete_interface_feature(vpp: ApiChannel, sw_if_index: int, inside: bool) -> None:
    """Turn the inside (or outside) feature off."""
    flags = NatFlags.INSIDE if inside else NatFlags.OUTSIDE
    await vpp.call(
        "nat44_interface_add_del_feature",
        {"is_add": False, "flags": int(flags), "sw_if_index": sw_if_index},
    )


async def dump_interface_features(vpp: ApiChannel) -> list[NatInterface]:
    """Every interface with an inside/outside feature (output interfaces are not here)."""
    out = []
    for d in await vpp.dump("nat44_interface_dump"):
        flags = d.get_int("flags")
        out.append(
            NatInterface(
                d.get_int("sw_if_index"),
                inside=bool(flags & NatFlags.INSIDE),
                outside=bool(flags & NatFlags.OUTSIDE),
            )
        )
    return out


async def add_output_interface(vpp: ApiChannel, sw_if_index: int) -> None:
    """Post-routing (output) NAT on the interface: SNAT of what leaves through it."""
    await vpp.call(
        "nat44_ed_add_del_output_interface", {"is_add": True, "sw_if_index": sw_if_index}
    )


async def delete_output_interface(vpp: ApiChannel, sw_if_index: int) -> None:
    """Remove the output feature (NO_SUCH_ENTRY when the interface has none)."""
    await vpp.call(
        "nat44_ed_add_del_output_interface", {"is_add": False, "sw_if_index": sw_if_index}
    )


async def dump_output_interfaces(vpp: ApiChannel) -> list[int]:
    """The sw_if_indexes with the output feature."""
    return [d.get_int("sw_if_index") for d in await vpp.dump("nat44_ed_output_interface_get")]


# --- address pool --------------------------------------------------------------------------


@dataclass(frozen=True)
class NatAddressRange:
    """Pool addresses ``first`` to ``last`` (inclusive) for VRF ``vrf_id`` (~0: every VRF);
    the twice-NAT pool when ``twice_nat``."""

    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address
    vrf_id: int = NO_INDEX
    twice_nat: bool = False


@dataclass(frozen=True)
class NatAddress:
    """One pool address as VPP lists it."""

    ip: ipaddress.IPv4Address
    vrf_id: int = NO_INDEX
    twice_nat: bool = False


def _range_wire(entry: NatAddressRange, is_add: bool) -> dict[str, object]:
    return {
        "first_ip_address": entry.first.packed,
        "last_ip_address": entry.last.packed,
        "vrf_id": entry.vrf_id,
        "is_add": is_add,
        "flags": int(NatFlags.TWICE_NAT if entry.twice_nat else NatFlags.NONE),
    }


async def add_address_range(vpp: ApiChannel, entry: NatAddressRange) -> None:
    """Add the range's addresses to the pool."""
    await vpp.call("nat44_add_del_address_range", _range_wire(entry, True))


async def delete_address_range(vpp: ApiChannel, entry: NatAddressRange) -> None:
    """Remove the range's addresses from the pool."""
    await vpp.call("nat44_add_del_address_range", _range_wire(entry, False))


async def dump_addresses(vpp: ApiChannel) -> list[NatAddress]:
    """Every pool address: the normal pool first, then the twice-NAT pool."""
    return [
        NatAddress(
            ipaddress.IPv4Address(d.get_bytes("ip_address")),
            d.get_int("vrf_id"),
            bool(d.get_int("flags") & NatFlags.TWICE_NAT),
        )
        for d in await vpp.dump("nat44_address_dump")
    ]
