"""The simulator's address conflict check (an index per table, not a walk over every address)
gives the answers of the plain check it replaced, written out here with ipaddress's
overlaps(): the same refusal or none, naming an address that really conflicts, for random
addresses of both families on interfaces in random VRFs. The existing addresses are added
through the API, so the state is one a VPP can be in; some are removed again, as the index
must follow removals, cleared interfaces and deleted interfaces too."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.sim.vpp.handlers.interface_config import HANDLERS
from contivpy.sim.vpp.model import Interface, Kind, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.codec import ApiDefinitions
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import IpInterface, interface_address_to_wire


def conflicts(state: VppState, iface: Interface, address: IpInterface) -> set[str]:
    """Every refusal text the plain check could give for a conflict with another interface."""
    vrf = iface.vrf6 if address.version == 6 else iface.vrf4
    own = {f"{address} already on {iface.name}"} if address in iface.addresses else set()
    return own | {
        f"{address} conflicts with {existing} on {other.name}"
        for other in state.interfaces.values()
        if other is not iface and (other.vrf6 if address.version == 6 else other.vrf4) == vrf
        for existing in other.addresses
        if existing.version == address.version and existing.network.overlaps(address.network)
    }


def reference_check(state: VppState, iface: Interface, address: IpInterface) -> None:
    """The plain check, with ipaddress's overlaps()."""
    vrf = iface.vrf6 if address.version == 6 else iface.vrf4
    for other in state.interfaces.values():
        for existing in other.addresses:
            if existing.version != address.version:
                continue
            if other is iface:
                if existing == address:  # VPP 26.06: ADDRESS_IN_USE, not DUPLICATE_IF_ADDRESS
                    raise SimError(Retval.ADDRESS_IN_USE, f"{address} already on {iface.name}")
                continue
            other_vrf = other.vrf6 if address.version == 6 else other.vrf4
            if other_vrf == vrf and existing.network.overlaps(address.network):
                raise SimError(
                    Retval.ADDRESS_IN_USE, f"{address} conflicts with {existing} on {other.name}"
                )


@st.composite
def addresses(draw: st.DrawFn) -> IpInterface:
    """Addresses in a small space, so that prefixes often contain each other."""
    if draw(st.booleans()):
        value = 0x0A000000 | draw(st.integers(0, 0xFFFF))
        return ipaddress.ip_interface((value, draw(st.integers(0, 32))))
    value = (0xFD00 << 112) | draw(st.integers(0, 0xFFFF))
    return ipaddress.ip_interface((value, draw(st.integers(0, 128))))


def outcome(action: Callable[..., object], *args: object) -> tuple[int, str] | None:
    try:
        action(*args)
    except SimError as err:
        return int(err.retval), str(err)
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    existing=st.lists(st.tuples(st.integers(0, 4), addresses(), st.booleans()), max_size=12),
    vrfs=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=5, max_size=5),
)
def test_conflicts_are_found_as_before(
    data: st.DataObject,
    existing: list[tuple[int, IpInterface, bool]],
    vrfs: list[tuple[int, int]],
) -> None:
    definitions = ApiDefinitions.bundled()
    name = "sw_interface_add_del_address"

    def call(iface: Interface, address: IpInterface, is_add: bool) -> None:
        fields = {
            "sw_if_index": iface.sw_if_index,
            "is_add": is_add,
            "prefix": interface_address_to_wire(address),
        }
        HANDLERS[name](state, definitions.decode(name, definitions.encode(name, 1, fields)))

    state = VppState()
    interfaces = []
    for n, (vrf4, vrf6) in enumerate(vrfs):
        iface = state.add_interface(f"loop{n}", Kind.LOOPBACK, mac=bytes(6), link_mtu=9000)
        iface.vrf4, iface.vrf6 = vrf4, vrf6
        interfaces.append(iface)
    added: list[tuple[Interface, IpInterface, bool]] = []
    for owner, address, removed_again in existing:
        expected = outcome(reference_check, state, interfaces[owner], address)
        refused = outcome(call, interfaces[owner], address, True)
        assert (refused is None) == (expected is None)
        if refused is None:
            added.append((interfaces[owner], address, removed_again))
    for holder, address, removed_again in added:
        if removed_again:
            call(holder, address, False)
    # Some interfaces lose every address (del_all) or are deleted: their prefixes are free.
    cleared = data.draw(st.sets(st.integers(0, 4), max_size=2), label="cleared")
    deleted = data.draw(st.sets(st.integers(1, 4), max_size=2), label="deleted")
    for n in cleared:
        HANDLERS[name](
            state,
            definitions.decode(
                name,
                definitions.encode(
                    name,
                    1,
                    {
                        "sw_if_index": interfaces[n].sw_if_index,
                        "del_all": True,
                        "prefix": interface_address_to_wire(ipaddress.ip_interface("0.0.0.0/0")),
                    },
                ),
            ),
        )
    for n in deleted:
        state.delete_interface(interfaces[n].sw_if_index)
    interfaces = [i for n, i in enumerate(interfaces) if n not in deleted]
    iface = data.draw(st.sampled_from(interfaces), label="interface")
    taken = [a for _, a, _ in existing]
    address = data.draw(st.one_of(addresses(), *([st.sampled_from(taken)] if taken else [])))
    expected = outcome(reference_check, state, iface, address)
    possible = conflicts(state, iface, address)
    before = list(iface.addresses)
    got = outcome(call, iface, address, True)
    if expected is None or expected[0] != Retval.ADDRESS_IN_USE:
        assert got == expected
    else:
        assert got is not None
        assert got[0] == Retval.ADDRESS_IN_USE
        assert any(got[1].endswith(text) for text in possible), (got, possible)
    assert iface.addresses == (before if expected else [*before, address])
