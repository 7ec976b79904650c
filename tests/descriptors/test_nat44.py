"""NAT44-ED values against VPP (the simulator, or a real VPP), read back through the API.

The plugin, interface features, the pool, load-balanced / single / identity mappings: create
-> VPP holds them and retrieve gives back exactly the desired values -> an agent restart
writes nothing -> a VPP restart loses them and a downstream resync restores them; locals
change in place; validation names the field; nothing NAT is tried before the plugin is on.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

import pytest

from contivpy.models.vpp_interfaces import Interface, InterfaceType
from contivpy.models.vpp_keys import (
    NAT44_GLOBAL_KEY,
    interface_key,
    nat44_address_key,
    nat44_identity_key,
    nat44_interface_key,
    nat44_mapping_key,
    vrf_table_key,
)
from contivpy.models.vpp_l3 import IpProtocol, VrfTable
from contivpy.models.vpp_nat import (
    Nat44AddressRange,
    Nat44Global,
    Nat44IdentityMapping,
    Nat44Interface,
    Nat44Local,
    Nat44Mapping,
    NatProtocol,
    TwiceNat,
)
from contivpy.scheduler import OpKind, Txn, ValueState
from contivpy.vppcalls import nat44
from contivpy.vppcalls import nat44_mappings as vpp_maps
from descriptors.harness import Agent, reconnected, start_agent
from vpp_target.target import RESTART_VARIABLE, running_on_real_vpp

pytestmark = pytest.mark.vpp

IP = ipaddress.IPv4Address
WEB = Nat44Mapping(
    "10.96.0.10",
    80,
    NatProtocol.TCP,
    (Nat44Local("10.1.1.2", 8080, 1, 1), Nat44Local("10.1.2.2", 8080, 2, 1)),
    TwiceNat.SELF,
    affinity=10800,
    tag="default/web",
)
DNS = Nat44Mapping(
    "10.96.0.53",
    53,
    NatProtocol.UDP,
    (Nat44Local("10.1.1.3", 5353, 0, 1),),
    TwiceNat.ENABLED,
    tag="kube-system/dns",
)
DESIRED: dict[str, object] = {
    NAT44_GLOBAL_KEY: Nat44Global(),
    vrf_table_key(1, IpProtocol.IPV4): VrfTable(1),
    interface_key("lo-in"): Interface("lo-in", InterfaceType.LOOPBACK, vrf=1),
    interface_key("lo-out"): Interface("lo-out", InterfaceType.LOOPBACK),
    interface_key("lo-snat"): Interface("lo-snat", InterfaceType.LOOPBACK),
    nat44_interface_key("lo-in"): Nat44Interface("lo-in", inside=True, outside=True),
    nat44_interface_key("lo-out"): Nat44Interface("lo-out", outside=True),
    nat44_interface_key("lo-snat"): Nat44Interface("lo-snat", output=True),
    nat44_address_key("192.168.16.1"): Nat44AddressRange("192.168.16.1"),
    nat44_address_key("10.1.255.1", "10.1.255.2"): Nat44AddressRange(
        "10.1.255.1", "10.1.255.2", twice_nat=True
    ),
    nat44_mapping_key("TCP", WEB.external_ip, 80): WEB,
    nat44_mapping_key("UDP", DNS.external_ip, 53): DNS,
    nat44_identity_key(0, "192.168.16.1", "UDP", 4789): Nat44IdentityMapping(
        "192.168.16.1", 0, NatProtocol.UDP, 4789, "DNAT-identities"
    ),
    nat44_identity_key(0, "192.168.16.1"): Nat44IdentityMapping(
        "192.168.16.1", 0, tag="DNAT-identities"
    ),
    nat44_identity_key(1, "192.168.16.1"): Nat44IdentityMapping(
        "192.168.16.1", 1, tag="DNAT-identities"
    ),
}
NAT_DESCRIPTORS = (
    "vpp-nat44-global",
    "vpp-nat44-interface",
    "vpp-nat44-address",
    "vpp-nat44-mapping",
    "vpp-nat44-identity",
)


async def _retrieved(agent: Agent, correlate: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in NAT_DESCRIPTORS:
        descriptor = agent.scheduler.registry.get(name)
        assert descriptor is not None
        out.update({r.key: r.value for r in await descriptor.retrieve(correlate)})
    return out


def _nat_only(desired: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in desired.items() if k.startswith("config/vpp/nat/")}


async def _held(agent: Agent) -> tuple[object, ...]:
    """What VPP holds of NAT, read through the API."""
    vpp = agent.client
    return (
        await nat44.running_config(vpp),
        await nat44.dump_interface_features(vpp),
        await nat44.dump_output_interfaces(vpp),
        await nat44.dump_addresses(vpp),
        await vpp_maps.dump_lb_mappings(vpp),
        await vpp_maps.dump_static_mappings(vpp),
        await vpp_maps.dump_identity_mappings(vpp),
    )


async def test_nat_state_is_applied_and_read_back_exactly(agent: Agent) -> None:
    result = await agent.scheduler.resync_full(DESIRED)
    assert result.ok, result
    config, features, outputs, addresses, lbs, statics, identities = await _held(agent)
    assert isinstance(config, nat44.NatRunningConfig)
    assert config.enabled
    assert config.forwarding
    index = {
        n: agent.scheduler.metadata(interface_key(n)).sw_if_index
        for n in ("lo-in", "lo-out", "lo-snat")
    }
    assert features == [
        nat44.NatInterface(index["lo-in"], True, True),
        nat44.NatInterface(index["lo-out"], outside=True),
    ]
    assert outputs == [index["lo-snat"]]
    assert sorted(a.ip for a in addresses) == [  # type: ignore[attr-defined]
        IP("10.1.255.1"),
        IP("10.1.255.2"),
        IP("192.168.16.1"),
    ]
    (lb,) = lbs  # type: ignore[misc]
    assert lb.tag == "default/web"
    assert lb.flags == nat44.NatFlags.OUT2IN_ONLY | nat44.NatFlags.SELF_TWICE_NAT
    (single,) = statics  # type: ignore[misc]
    assert (single.local_ip, single.local_port, single.vrf_id) == (IP("10.1.1.3"), 5353, 1)
    assert len(identities) == 3  # type: ignore[arg-type]
    # retrieve rebuilds exactly the desired values (affinity and probabilities included)
    assert await _retrieved(agent, DESIRED) == _nat_only(DESIRED)


async def test_an_agent_restart_against_unchanged_nat_writes_nothing(agent: Agent) -> None:
    assert (await agent.scheduler.resync_full(DESIRED)).ok
    await agent.stop()
    restarted = await start_agent(agent.target)
    try:
        before = restarted.channel.writes
        result = await restarted.scheduler.resync_full(DESIRED)
        assert result.ok
        assert (before, restarted.channel.writes, result.writes) == (0, 0, 0)
        for key in _nat_only(DESIRED):
            assert restarted.scheduler.status(key).state is ValueState.CONFIGURED, key
    finally:
        await restarted.stop()


async def test_a_vpp_restart_loses_nat_and_a_downstream_resync_restores_it(
    agent: Agent,
) -> None:
    if running_on_real_vpp() and not os.environ.get(RESTART_VARIABLE):
        pytest.skip(f"restarting a real VPP needs {RESTART_VARIABLE}")
    assert (await agent.scheduler.resync_full(DESIRED)).ok
    before = await _held(agent)
    await agent.target.restart()
    await reconnected(agent)
    assert not (await nat44.running_config(agent.client)).enabled
    assert (await agent.scheduler.resync_downstream("VPP restarted")).ok
    assert await _retrieved(agent, DESIRED) == _nat_only(DESIRED)
    after = await _held(agent)
    assert after[3:] == before[3:]  # pool and mappings as before (interfaces got new indexes)


async def test_locals_change_in_place_and_other_changes_recreate(agent: Agent) -> None:
    assert (await agent.scheduler.resync_full(DESIRED)).ok
    key = nat44_mapping_key("TCP", WEB.external_ip, 80)
    third = Nat44Local("10.1.3.2", 8080, 1, 1)
    grown = Nat44Mapping(
        WEB.external_ip, 80, NatProtocol.TCP, (*WEB.locals, third), WEB.twice_nat, 10800, WEB.tag
    )
    result = await agent.scheduler.commit(Txn({key: grown}))
    assert result.ok
    assert [(op.op, op.recreate) for op in result.record.executed] == [(OpKind.UPDATE, False)]
    # one backend out, and another's weight changed: still in place (three remain)
    reweighed = Nat44Mapping(
        WEB.external_ip,
        80,
        NatProtocol.TCP,
        (Nat44Local("10.1.2.2", 8080, 5, 1), third),
        WEB.twice_nat,
        10800,
        WEB.tag,
    )
    assert (await agent.scheduler.commit(Txn({key: reweighed}))).ok
    (lb,) = await vpp_maps.dump_lb_mappings(agent.client)
    assert sorted((str(x.ip), x.probability) for x in lb.locals) == [
        ("10.1.2.2", 5),
        ("10.1.3.2", 1),
    ]
    # down to one backend: a plain static mapping
    one = Nat44Mapping(WEB.external_ip, 80, NatProtocol.TCP, (third,), tag=WEB.tag)
    result = await agent.scheduler.commit(Txn({key: one}))
    assert result.ok
    assert [(op.op, op.recreate) for op in result.record.executed] == [
        (OpKind.DELETE, True),
        (OpKind.CREATE, True),
    ]
    assert await vpp_maps.dump_lb_mappings(agent.client) == []
    assert await _retrieved(agent, {**DESIRED, key: one}) == _nat_only({**DESIRED, key: one})
    # removing the plugin removes everything NAT, dependents first
    nat_keys = dict.fromkeys(_nat_only(DESIRED))
    assert (await agent.scheduler.commit(Txn(nat_keys))).ok
    assert not (await nat44.running_config(agent.client)).enabled


async def test_nat_values_wait_for_the_plugin_and_their_tables(agent: Agent) -> None:
    waiting = {k: v for k, v in DESIRED.items() if k != NAT44_GLOBAL_KEY}
    assert (await agent.scheduler.resync_full(waiting)).writes > 0
    for key in _nat_only(waiting):
        assert agent.scheduler.status(key).state is ValueState.PENDING, key
    assert not (await nat44.running_config(agent.client)).enabled
    assert (await agent.scheduler.commit(Txn({NAT44_GLOBAL_KEY: Nat44Global()}))).ok
    for key in _nat_only(DESIRED):
        assert agent.scheduler.status(key).state is ValueState.CONFIGURED, key


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        (
            nat44_interface_key("lo"),
            Nat44Interface("lo", inside=True, output=True),
            "output",
        ),
        (nat44_interface_key("lo"), Nat44Interface("lo"), "value"),
        (
            nat44_address_key("10.0.0.2", "10.0.0.1"),
            Nat44AddressRange("10.0.0.2", "10.0.0.1"),
            "last_ip",
        ),
        (nat44_address_key("10.0.0.1"), Nat44AddressRange("10.0.0.1", vrf=-1), "vrf"),
        (
            nat44_mapping_key("TCP", "10.96.0.1", 80),
            Nat44Mapping("10.96.0.1", 80, NatProtocol.TCP, ()),
            "locals",
        ),
        (
            nat44_mapping_key("TCP", "10.96.0.1", 80),
            Nat44Mapping("10.96.0.1", 80, NatProtocol.TCP, (Nat44Local("pod", 80),)),
            "locals[0].ip",
        ),
        (
            nat44_mapping_key("TCP", "10.96.0.1", 80),
            Nat44Mapping("10.96.0.1", 70000, NatProtocol.TCP, (Nat44Local("10.1.1.1", 80),)),
            "external_port",
        ),
        (
            nat44_mapping_key("TCP", "10.96.0.1", 80),
            Nat44Mapping(
                "10.96.0.1",
                80,
                NatProtocol.TCP,
                (Nat44Local("10.1.1.1", 80), Nat44Local("10.1.1.1", 80, 3)),
            ),
            "locals[1]",
        ),
        (
            nat44_mapping_key("TCP", "10.96.0.1", 80),
            Nat44Mapping(
                "10.96.0.1", 80, NatProtocol.TCP, (Nat44Local("10.1.1.1", 80),), tag="x" * 64
            ),
            "tag",
        ),
        (
            nat44_identity_key(0, "10.0.0.1"),
            Nat44IdentityMapping("10.0.0.1", port=80),
            "port",
        ),
    ],
)
async def test_validation_names_the_field(
    agent: Agent, key: str, value: object, field: str
) -> None:
    await agent.scheduler.commit(Txn({NAT44_GLOBAL_KEY: Nat44Global(), key: value}))
    status = agent.scheduler.status(key)
    assert status.state is ValueState.INVALID
    assert field in status.details, status.details
