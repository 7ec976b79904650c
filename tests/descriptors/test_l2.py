"""Bridge domains with their members, L2 FIB entries and cross-connects against VPP (the
simulator, or a real VPP), read back through the API.

Each: create -> VPP holds it and retrieve gives back the desired value -> change -> delete;
validation naming the field; dependencies (a FORWARD entry waits for the interface's
membership, a member for its interface).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from contivpy.models.vpp_interfaces import Interface, InterfaceType, MemifLink
from contivpy.models.vpp_keys import bd_member_key, bridge_domain_key, interface_key, l2fib_key
from contivpy.models.vpp_keys import xconnect_key as xc_key
from contivpy.models.vpp_l2 import L2FIB, BDInterface, BridgeDomain, L2FIBAction, XConnect
from contivpy.scheduler import OpKind, Txn, ValueState
from descriptors.harness import Agent

pytestmark = pytest.mark.vpp

INTERFACES: dict[str, object] = {
    interface_key("bvi"): Interface(
        "bvi",
        InterfaceType.LOOPBACK,
        phys_address="02:00:00:00:00:aa",
        ip_addresses=("10.0.0.1/24",),
    ),
    interface_key("m1"): Interface(
        "m1", InterfaceType.MEMIF, link=MemifLink(id=1, socket_id=1, socket_filename="/run/m.sock")
    ),
    interface_key("m2"): Interface(
        "m2", InterfaceType.MEMIF, link=MemifLink(id=2, socket_id=1, socket_filename="/run/m.sock")
    ),
}
BD = BridgeDomain(
    "bd1",
    learn=False,
    mac_age=5,
    interfaces=(
        BDInterface("bvi", bvi=True),
        BDInterface("m1", split_horizon_group=1),
        BDInterface("m2", split_horizon_group=1),
    ),
)


async def _retrieve(agent: Agent, name: str, correlate: Mapping[str, object]) -> dict[str, object]:
    descriptor = agent.scheduler.registry.get(name)
    assert descriptor is not None
    return {r.key: r.value for r in await descriptor.retrieve(correlate)}


async def test_bridge_domain(agent: Agent) -> None:
    scheduler = agent.scheduler
    key = bridge_domain_key("bd1")
    desired = {**INTERFACES, key: BD}
    assert (await scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    assert await _retrieve(agent, "vpp-bridge-domain", {key: BD}) == {key: BD}

    # a member leaves: only its membership changes
    fewer = replace(BD, interfaces=BD.interfaces[:2])
    result = await scheduler.commit(Txn({key: fewer}))
    assert [(op.key, op.op) for op in result.record.executed] == [
        (bd_member_key("bd1", "m2"), OpKind.DELETE)
    ]
    desired[key] = fewer
    assert await agent.mismatches(desired) == []

    # a setting changes: the domain is re-created, its members follow
    flooding = replace(fewer, flood=False)
    result = await scheduler.commit(Txn({key: flooding}))
    assert result.ok
    assert {(op.key, op.op) for op in result.record.executed} >= {
        (key, OpKind.DELETE),
        (key, OpKind.CREATE),
        (bd_member_key("bd1", "bvi"), OpKind.CREATE),
    }
    desired[key] = flooding
    assert await agent.mismatches(desired) == []

    assert (await scheduler.commit(Txn({key: None}))).ok
    # VPP's own bridge domain 0 aside, none is left
    assert [b for b in (await agent.snapshot()).bridge_domains if b.domain.bd_id != 0] == []


async def test_a_member_waits_for_its_interface(agent: Agent) -> None:
    scheduler = agent.scheduler
    key = bridge_domain_key("bd1")
    assert (await scheduler.commit(Txn({key: BD}))).ok
    assert scheduler.status(key).state is ValueState.CONFIGURED
    member = bd_member_key("bd1", "m1")
    assert scheduler.status(member).state is ValueState.PENDING
    assert (await scheduler.commit(Txn(dict(INTERFACES)))).ok
    assert scheduler.status(member).state is ValueState.CONFIGURED
    assert await agent.mismatches({**INTERFACES, key: BD}) == []
    # the interface goes: its membership goes first
    result = await scheduler.commit(Txn({interface_key("m1"): None}))
    order = [op.key for op in sorted(result.record.executed, key=lambda op: op.started)]
    assert order == [member, interface_key("m1")]
    assert scheduler.status(member).state is ValueState.PENDING


async def test_l2fib(agent: Agent) -> None:
    scheduler = agent.scheduler
    entries: dict[str, object] = {
        l2fib_key("bd1", "02:00:00:00:01:01"): L2FIB("bd1", "02:00:00:00:01:01", "m1"),
        l2fib_key("bd1", "02:00:00:00:01:02"): L2FIB(
            "bd1", "02:00:00:00:01:02", action=L2FIBAction.DROP
        ),
    }
    await scheduler.commit(Txn(dict(entries)))
    forward, drop = entries
    assert scheduler.status(forward).state is ValueState.PENDING
    assert bd_member_key("bd1", "m1") in scheduler.status(forward).details
    assert bridge_domain_key("bd1") in scheduler.status(drop).details

    desired = {**INTERFACES, bridge_domain_key("bd1"): BD, **entries}
    assert (await scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    # VPP's own entry for the BVI's MAC is not ours
    assert any(e.bvi for e in (await agent.snapshot()).l2fib)
    assert await _retrieve(agent, "vpp-l2-fib", {}) == entries

    moved = L2FIB("bd1", "02:00:00:00:01:01", "m2")
    result = await scheduler.commit(Txn({forward: moved}))
    assert [(op.op, op.recreate) for op in result.record.executed] == [
        (OpKind.DELETE, True),
        (OpKind.CREATE, True),
    ]
    desired[forward] = moved
    assert await agent.mismatches(desired) == []
    assert (await scheduler.commit(Txn(dict.fromkeys(entries)))).ok
    assert [e for e in (await agent.snapshot()).l2fib if not e.bvi] == []


async def test_xconnect(agent: Agent) -> None:
    scheduler = agent.scheduler
    pair: dict[str, object] = {
        xc_key("m1"): XConnect("m1", "m2"),
        xc_key("m2"): XConnect("m2", "m1"),
    }
    desired = {**INTERFACES, **pair}
    assert (await scheduler.commit(Txn(desired))).ok
    assert await agent.mismatches(desired) == []
    assert await _retrieve(agent, "vpp-xconnect", {}) == pair

    result = await scheduler.commit(Txn({xc_key("m1"): XConnect("m1", "bvi")}))
    assert [op.op for op in result.record.executed] == [OpKind.UPDATE]
    desired[xc_key("m1")] = XConnect("m1", "bvi")
    assert await agent.mismatches(desired) == []
    assert (await scheduler.commit(Txn(dict.fromkeys(pair)))).ok
    assert (await agent.snapshot()).xconnects == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            bridge_domain_key("bd"),
            BridgeDomain("bd", interfaces=(BDInterface("a", bvi=True), BDInterface("b", bvi=True))),
            "interfaces[1].bvi: a bridge domain has one BVI",
        ),
        (
            bridge_domain_key("bd"),
            BridgeDomain("bd", interfaces=(BDInterface("a"), BDInterface("a"))),
            "interfaces[1].name: a is listed twice",
        ),
        ("config/vpp/l2/v2/bridge-domain/a/b", BridgeDomain("a/b"), "name: must not contain '/'"),
        (
            l2fib_key("bd", "02:00:00:00:00:01"),
            L2FIB("bd", "02:00:00:00:00:01"),
            "outgoing_interface: must not be empty",
        ),
        (xc_key("a"), XConnect("a", "a"), "transmit_interface: must differ"),
    ],
)
async def test_validation(agent: Agent, key: str, value: object, message: str) -> None:
    await agent.scheduler.commit(Txn({key: value}))
    status = agent.scheduler.status(key)
    assert status.state is ValueState.INVALID
    assert status.details.startswith(message), status.details
