"""The compiled codec equals vpp_papi's serializer: same bytes, same Messages, same errors.

For every message of our definitions, hypothesis draws fields from the JSON definitions
themselves (not from the compiled codec's layouts): every integer type over its whole range,
enums with and without a name, f64 including NaN and infinities, strings with NULs, byte
arrays shorter than their size, every union arm, nested types, 0-3 elements in counted arrays,
and any field left out (so its default is packed). The reference is the same definitions with
``fast_path=False``: vpp_papi packs and unpacks everything, as the codec did before.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contivpy.sim.vpp.server import VppSimulator
from contivpy.vppcalls import bridge_domains, interface_ip, interfaces, neighbors, routes, tap
from contivpy.vppcalls.client import VppClient
from contivpy.vppcalls.codec import ApiDefinitions
from contivpy.vppcalls.fast_codec import same_value
from contivpy.vppcalls.message import Message, WireValue
from vppcalls.codec_strategies import Schema

DEFINITIONS = ApiDefinitions.bundled()
NAMES = DEFINITIONS.names()
#: the messages of `bench vpp`, `bench pods` and the agent's refresh
HOT = [
    "tap_create_v3",
    "sw_interface_dump",
    "sw_interface_details",
    "sw_interface_set_flags",
    "sw_interface_set_mtu",
    "sw_interface_add_del_address",
    "sw_interface_set_l2_bridge",
    "sw_interface_set_unnumbered",
    "bridge_domain_add_del_v2",
    "bridge_domain_details",
    "ip_route_add_del",
    "ip_route_details",
    "ip_address_details",
    "sw_interface_tap_v2_details",
    "ip_neighbor_add_del",
    "ip_neighbor_details",
    "control_ping",
    "control_ping_reply",
    "sockclnt_create_reply",
]
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: odd inputs go wrong in many ways: more examples find more of them
MORE_EXAMPLES = settings(EXAMPLES, max_examples=50)


@cache
def reference() -> ApiDefinitions:
    """The same definitions, packed and unpacked by vpp_papi only."""
    return ApiDefinitions(DEFINITIONS.modules, fast_path=False)


SCHEMA = Schema(DEFINITIONS)


def reencodable(value: WireValue) -> Any:
    """A decoded value as fields again; a union as its largest arm, which holds every byte."""
    if isinstance(value, Message):
        arms = [v for v in value.values() if isinstance(v, bytes)]
        if value.name == "vl_api_address_union_t":
            return {"ip6": max(arms, key=len)}
        return {k: reencodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reencodable(v) for v in value]
    return value


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """What an action gave: its value, or its exception's type and text."""
    try:
        return "value", action()
    except Exception as err:
        return type(err).__name__, str(err)


def same_outcome(left: tuple[str, Any], right: tuple[str, Any]) -> bool:
    if left[0] == right[0] == "value":
        return bool(same_value(left[1], right[1]))
    return left == right


# -- equality on valid fields ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(data=st.data())
def test_compiled_codec_packs_and_unpacks_as_vpp_papi(name: str, data: st.DataObject) -> None:
    fields = data.draw(SCHEMA.message(name), label="fields")
    msg_id = data.draw(st.integers(1, 0xFFFF), label="msg_id")
    compiled = DEFINITIONS.compiled(name)
    assert compiled is not None
    expected = reference().encode(name, msg_id, fields)
    # The compiled code itself, not through the codec's fallback: it must not decline these.
    assert compiled.encode(msg_id, fields) == expected
    decoded = reference().decode(name, expected)
    assert same_value(compiled.decode(expected), decoded)
    # Through the codec, as every caller uses it.
    assert DEFINITIONS.encode(name, msg_id, fields) == expected
    assert same_value(DEFINITIONS.decode(name, expected), decoded)
    # Round trip: decoding and packing again are inverse on decoded values.
    again = compiled.encode(msg_id, reencodable(decoded))
    assert same_value(compiled.decode(again), decoded)
    # Decoded Messages given back as fields (vpp_papi reads them as mappings).
    as_messages = {k: decoded[k] for k in decoded}
    assert compiled.encode(msg_id, as_messages) == reference().encode(name, msg_id, as_messages)


# -- equality on anything else: odd values, bad payloads --------------------------------------


@pytest.mark.parametrize("name", NAMES)
@MORE_EXAMPLES
@given(data=st.data())
def test_odd_values_pack_or_fail_as_with_vpp_papi(name: str, data: st.DataObject) -> None:
    fields = data.draw(SCHEMA.message(name, odd=True), label="fields")
    expected = outcome(lambda: reference().encode(name, 7, fields))
    assert same_outcome(outcome(lambda: DEFINITIONS.encode(name, 7, fields)), expected)


@pytest.mark.parametrize("name", NAMES)
@MORE_EXAMPLES
@given(data=st.data())
def test_bad_payloads_unpack_or_fail_as_with_vpp_papi(name: str, data: st.DataObject) -> None:
    payload = bytearray(reference().encode(name, 7, data.draw(SCHEMA.message(name))))
    changes = ["cut", "extend", "flip", "smear", "random"]
    change = data.draw(st.sampled_from(changes), label="change")
    if change == "cut":
        del payload[data.draw(st.integers(0, max(len(payload) - 1, 0))) :]
    elif change == "extend":
        payload += data.draw(st.binary(min_size=1, max_size=40))
    elif change == "flip" and payload:
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(payload) - 1))
            payload[at] = data.draw(st.integers(0, 255))
    elif change == "smear" and payload:  # no NULs from here on, some bytes not ASCII
        at = data.draw(st.integers(0, len(payload) - 1))
        noise = data.draw(st.randoms(use_true_random=False))
        payload[at:] = bytes(noise.randint(1, 255) for _ in range(len(payload) - at))
    else:
        payload = bytearray(data.draw(st.binary(max_size=2 * len(payload) + 8)))
    expected = outcome(lambda: reference().decode(name, bytes(payload)))
    assert same_outcome(outcome(lambda: DEFINITIONS.decode(name, bytes(payload))), expected)


def test_unknown_message_names_fail_as_before() -> None:
    with pytest.raises(KeyError):
        DEFINITIONS.encode("no_such_message", 1, {})
    with pytest.raises(KeyError):
        DEFINITIONS.decode("no_such_message", b"\x00\x01")


def test_absent_fields_pack_as_vpp_papi_packs_them() -> None:
    # Also where the JSON has no default: vpp_papi carries a default option given to an
    # alias-typed field (sw_if_index ~0 in several dumps) into every message it parses later.
    for name in NAMES:
        expected = outcome(lambda: reference().encode(name, 3, {}))  # noqa: B023
        assert same_outcome(outcome(lambda: DEFINITIONS.encode(name, 3, {})), expected)  # noqa: B023


# -- the fast path is used --------------------------------------------------------------------


def test_every_bundled_message_is_compiled_the_hot_ones_included() -> None:
    compiled = DEFINITIONS.fast_path_names()
    assert set(HOT) <= compiled
    assert compiled == set(NAMES)
    # A VPP's own JSON (what the client loads on connect) compiles as well.
    from_vpp = ApiDefinitions.from_api_json(DEFINITIONS.api_json(), keep=set(HOT))
    assert set(HOT) <= from_vpp.fast_path_names()


def test_what_the_compiled_codec_declines_is_counted_and_packed_by_vpp_papi() -> None:
    definitions = ApiDefinitions(DEFINITIONS.modules)
    fields = {"sw_if_index": 1, "prefix": {"address": "10.1.1.1", "len": 24}, "is_add": True}
    assert definitions.encode("sw_interface_add_del_address", 1, fields) == reference().encode(
        "sw_interface_add_del_address", 1, fields
    )
    assert definitions.fallbacks == {("sw_interface_add_del_address", "encode"): 1}
    assert ApiDefinitions(DEFINITIONS.modules, fast_path=False).fast_path_names() == set()


async def test_typed_calls_use_the_compiled_codec_on_both_sides(
    vpp: VppClient, sim: VppSimulator
) -> None:
    sim_fallbacks = sum(sim.definitions.fallbacks.values())
    spec = tap.TapSpec(
        host_if_name="tap-a",
        host_namespace="/var/run/netns/a",
        host_mtu=1450,
        host_ip4=ipaddress.IPv4Interface("10.1.1.2/32"),
        tag="contiv-pod-a",
    )
    index = await tap.create_tap(vpp, spec)
    await interfaces.set_admin_state(vpp, index, True)
    await interfaces.set_mtu(vpp, index, 1450)
    await interface_ip.add_address(vpp, index, ipaddress.ip_interface("10.1.1.1/24"))
    await interface_ip.add_address(vpp, index, ipaddress.ip_interface("fd00::1/64"))
    domain = bridge_domains.BridgeDomain(10, tag="pods")
    await bridge_domains.add_bridge_domain(vpp, domain)
    await bridge_domains.add_port(vpp, bridge_domains.BridgeDomainPort(index, 10))
    route = routes.Route(
        ipaddress.ip_network("10.2.0.0/16"),
        (routes.RoutePath.via_interface(index, ipaddress.ip_address("10.1.1.2")),),
    )
    await routes.add_route(vpp, route)
    neighbor = neighbors.IpNeighbor(index, ipaddress.ip_address("10.1.1.2"), "02:fe:00:00:00:02")
    await neighbors.add_neighbor(vpp, neighbor)

    assert [t.host_if_name for t in await tap.dump_taps(vpp)] == ["tap-a"]
    assert index in {i.sw_if_index for i in await interfaces.dump_interfaces(vpp)}
    assert len(await interface_ip.dump_addresses(vpp, index, ipv6=True)) == 1
    assert [d.members for d in await bridge_domains.dump_bridge_domains(vpp, 10)] == [
        (bridge_domains.BridgeDomainMember(index, 0),)
    ]
    assert route in await routes.dump_routes(vpp, 0, ipv6=False)
    assert neighbor in await neighbors.dump_neighbors(vpp, ipv6=False)

    connection = vpp._current()
    assert connection.table.definitions.fallbacks == {}
    assert sum(sim.definitions.fallbacks.values()) == sim_fallbacks


def test_an_array_of_absent_structs_packs_as_vpp_papi_packs_it() -> None:
    # A path's sixteen MPLS label slots, all empty (every plain route): the compiled codec
    # packs them at once; the bytes must stay vpp_papi's, also with one slot used.
    path = routes.RoutePath(sw_if_index=1, next_hop=ipaddress.ip_address("10.2.0.2"))
    route = routes.Route(ipaddress.ip_network("10.1.0.0/24"), (path,))
    fields = routes._wire(route, True, False)
    compiled = DEFINITIONS.compiled("ip_route_add_del")
    assert compiled is not None
    assert compiled.encode(7, fields) == reference().encode("ip_route_add_del", 7, fields)
    wire_path = dict(fields["route"]["paths"][0])  # type: ignore[index]
    labels: list[dict[str, object]] = [{} for _ in range(16)]
    labels[3] = {"label": 100, "ttl": 64}
    wire_path.update(n_labels=1, label_stack=labels)
    used = {**fields, "route": {**fields["route"], "paths": [wire_path]}}  # type: ignore[dict-item]
    assert compiled.encode(7, used) == reference().encode("ip_route_add_del", 7, used)
    assert compiled.encode(7, used) != compiled.encode(7, fields)
