"""The simulator's address conflict check gives exactly the answers it gave before it was made
faster: the same refusal (retval and text, so the same conflicting address found first) or
none, for random addresses of both families on interfaces in random VRFs."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.sim.vpp.handlers.interface_config import HANDLERS
from contivpy.sim.vpp.model import Interface, Kind, SimError
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.codec import ApiDefinitions
from contivpy.vppcalls.retvals import Retval
from contivpy.vppcalls.wire import IpInterface, interface_address_to_wire


def reference_check(state: VppState, iface: Interface, address: IpInterface) -> None:
    """The check as it was, with ipaddress's overlaps()."""
    vrf = iface.vrf6 if address.version == 6 else iface.vrf4
    for other in state.interfaces.values():
        for existing in other.addresses:
            if existing.version != address.version:
                continue
            if other is iface:
                if existing == address:
                    raise SimError(Retval.DUPLICATE_IF_ADDRESS, f"{address} on {iface.name}")
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


def outcome(action: object) -> tuple[int, str] | None:
    try:
        action()  # type: ignore[operator]
    except SimError as err:
        return int(err.retval), str(err)
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    existing=st.lists(st.tuples(st.integers(0, 4), addresses()), max_size=12),
    vrfs=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=5, max_size=5),
)
def test_conflicts_are_found_as_before(
    data: st.DataObject, existing: list[tuple[int, IpInterface]], vrfs: list[tuple[int, int]]
) -> None:
    state = VppState()
    interfaces = []
    for n, (vrf4, vrf6) in enumerate(vrfs):
        iface = state.add_interface(f"loop{n}", Kind.LOOPBACK, mac=bytes(6), link_mtu=9000)
        iface.vrf4, iface.vrf6 = vrf4, vrf6
        interfaces.append(iface)
    for owner, address in existing:
        interfaces[owner].addresses.append(address)
    iface = data.draw(st.sampled_from(interfaces), label="interface")
    taken = [a for _, a in existing]
    address = data.draw(st.one_of(addresses(), *([st.sampled_from(taken)] if taken else [])))
    expected = outcome(lambda: reference_check(state, iface, address))

    definitions = ApiDefinitions.bundled()
    fields = {
        "sw_if_index": iface.sw_if_index,
        "is_add": True,
        "prefix": interface_address_to_wire(address),
    }
    name = "sw_interface_add_del_address"
    msg = definitions.decode(name, definitions.encode(name, 1, fields))
    before = list(iface.addresses)
    assert outcome(lambda: HANDLERS[name](state, msg)) == expected
    assert iface.addresses == (before if expected else [*before, address])
