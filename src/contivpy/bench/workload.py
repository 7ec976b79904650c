"""Desired states the scheduler benchmark applies, and schedulers ready to apply them.

In: sizes. Out: fresh desired states (new value objects on every call, as an agent rebuilding
its state from the store would have) of the agent's own models: N taps plus one bridge
domain holding all N as members (Ligato's BenchmarkScale shape: 2N + 1 keys, N of them
derived), N taps alone, and schedulers with the agent's VPP descriptors registered as the
agent registers them (``descriptors.registration``), over a given VPP channel.

The taps carry no IP address: an address is a derived value of its own (with the VRF binding
and the has-address property), which would change the graph's shape and what the figures
are compared against.
"""

from __future__ import annotations

from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.models.vpp_interfaces import Interface, InterfaceType, TapLink
from contivpy.models.vpp_keys import bridge_domain_key, interface_key
from contivpy.models.vpp_l2 import BDInterface, BridgeDomain
from contivpy.scheduler import Key, Scheduler
from contivpy.vppcalls.channel import ApiChannel

BRIDGE_DOMAIN = "bd-bench"


def interface_name(i: int) -> str:
    """Name of the i-th benchmark interface."""
    return f"tap{i:06d}"


def interface(i: int, mtu: int = 1500) -> Interface:
    """The i-th benchmark interface: a tap."""
    return Interface(
        name=interface_name(i),
        type=InterfaceType.TAP,
        mtu=mtu,
        phys_address=f"02:fe:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}:01",
        link=TapLink(host_if_name=f"t{i:06d}"),
    )


def interfaces(n: int) -> dict[Key, object]:
    """N interfaces, key -> value."""
    return {interface_key(interface_name(i)): interface(i) for i in range(n)}


def with_bridge_domain(n: int) -> dict[Key, object]:
    """N interfaces and one bridge domain with all of them as members (2N + 1 keys)."""
    state = interfaces(n)
    members = tuple(BDInterface(interface_name(i)) for i in range(n))
    state[bridge_domain_key(BRIDGE_DOMAIN)] = BridgeDomain(BRIDGE_DOMAIN, interfaces=members)
    return state


def interfaces_for_keys(keys: int) -> int:
    """How many interfaces make a ``with_bridge_domain`` graph of about ``keys`` keys."""
    return max(1, keys // 2)


def graph_keys(n: int) -> int:
    """Keys in the graph of ``with_bridge_domain(n)``: interfaces, members, the domain."""
    return 2 * n + 1


def new_scheduler(vpp: ApiChannel, *, concurrency: int = 16) -> Scheduler:
    """A scheduler (not started) with every VPP descriptor over ``vpp``."""
    scheduler = Scheduler(concurrency=concurrency)
    register_vpp_descriptors(scheduler, vpp)
    return scheduler
