"""Desired states the benchmarks apply, and schedulers ready to apply them.

In: sizes. Out: fresh desired states (new value objects on every call, as an agent rebuilding
its state from the store would have) of N interfaces plus one bridge domain holding all N as
members (Ligato's BenchmarkScale shape: 2N + 1 keys, N of them derived), N interfaces alone,
and schedulers with the benchmark's descriptors registered.
"""

from __future__ import annotations

from contivpy.bench.descriptors import descriptors
from contivpy.bench.southbound import MemorySouthbound
from contivpy.bench.values import BridgeDomain, Interface, bridge_domain_key, interface_key
from contivpy.scheduler import Key, Scheduler

BRIDGE_DOMAIN = "bd-bench"


def interface_name(i: int) -> str:
    """Name of the i-th benchmark interface."""
    return f"tap{i:06d}"


def interface(i: int, mtu: int = 1500) -> Interface:
    """The i-th benchmark interface."""
    return Interface(
        name=interface_name(i),
        mtu=mtu,
        mac=f"02:fe:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}:01",
        ip_addresses=(f"10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}/32",),
    )


def interfaces(n: int) -> dict[Key, object]:
    """N interfaces, key -> value."""
    return {interface_key(interface_name(i)): interface(i) for i in range(n)}


def with_bridge_domain(n: int) -> dict[Key, object]:
    """N interfaces and one bridge domain with all of them as members (2N + 1 keys)."""
    state = interfaces(n)
    members = tuple(interface_name(i) for i in range(n))
    state[bridge_domain_key(BRIDGE_DOMAIN)] = BridgeDomain(BRIDGE_DOMAIN, members=members)
    return state


def interfaces_for_keys(keys: int) -> int:
    """How many interfaces make a ``with_bridge_domain`` graph of about ``keys`` keys."""
    return max(1, keys // 2)


def graph_keys(n: int) -> int:
    """Keys in the graph of ``with_bridge_domain(n)``: interfaces, members, the domain."""
    return 2 * n + 1


def new_scheduler(sb: MemorySouthbound, *, concurrency: int = 16) -> Scheduler:
    """A scheduler (not started) with the benchmark's descriptors over ``sb``."""
    scheduler = Scheduler(concurrency=concurrency)
    for descriptor in descriptors(sb):
        scheduler.register(descriptor)
    return scheduler
