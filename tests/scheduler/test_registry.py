"""Descriptor registration and lookup."""

from __future__ import annotations

import pytest

from contivpy.scheduler import DescriptorBase, RegistryError
from contivpy.scheduler.registry import Registry


def make(
    name: str, prefix: str, after: tuple[str, ...] = (), only: str = "", exact: bool = False
) -> DescriptorBase:
    cls = type(
        name,
        (DescriptorBase,),
        {
            "name": name,
            "key_prefix": prefix,
            "retrieve_after": after,
            "owns": lambda self, key: key == prefix if exact else only in key,
        },
    )
    return cls()  # type: ignore[no-any-return]


def test_lookup_by_prefix_and_owns() -> None:
    registry = Registry()
    registry.register(make("addr", "vpp/interface/", only="/address/"))
    registry.register(make("vrf", "vpp/interface/", only="/vrf/"))
    assert registry.lookup("vpp/interface/a/address/1.2.3.4") is registry.get("addr")
    assert registry.lookup("vpp/interface/a/vrf/1") is registry.get("vrf")
    assert registry.lookup("vpp/route/x") is None


def test_a_key_shorter_than_other_prefixes_has_its_one_owner() -> None:
    """A key that is exactly one descriptor's prefix, among longer prefixes of others."""
    registry = Registry()
    registry.register(make("global", "nat/global", exact=True))
    registry.register(make("interface", "nat/global-interface/"))
    registry.register(make("mapping", "nat/global-mapping/x/"))
    assert registry.lookup("nat/global") is registry.get("global")
    assert registry.lookup("nat/global-interface/tap0") is registry.get("interface")
    assert registry.lookup("nat/glob") is None


def test_two_owners_of_one_key_is_an_error() -> None:
    registry = Registry()
    registry.register(make("one", "k/"))
    registry.register(make("two", "k/x"))
    with pytest.raises(RegistryError, match="one, two"):
        registry.lookup("k/x1")


def test_duplicate_names_are_refused() -> None:
    registry = Registry()
    registry.register(make("one", "a/"))
    with pytest.raises(RegistryError):
        registry.register(make("one", "b/"))


def test_retrieve_order_and_cycles() -> None:
    registry = Registry()
    registry.register(make("route", "r/", after=("iface", "vrf")))
    registry.register(make("vrf", "v/"))
    registry.register(make("iface", "i/", after=("vrf",)))
    assert [d.name for d in registry.retrieve_order()] == ["vrf", "iface", "route"]
    cyclic = Registry()
    cyclic.register(make("a", "a/", after=("b",)))
    cyclic.register(make("b", "b/", after=("a",)))
    with pytest.raises(RegistryError, match="cycle"):
        cyclic.retrieve_order()
