"""Healing after a failed event: a VPP outage in the middle of a transaction (real etcd, VPP
simulator). The healing full resync must rebuild the whole desired state from every
controller — never commit a partial or empty one — so afterwards VPP holds everything the
node needs and nothing needed was deleted on the way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contivpy.scheduler import OpKind, TxnKind, ValueState
from doubles.agent_nodes import Node, eventually, pod_request, vpp_config


async def test_vpp_outage_mid_transaction_heals_without_deleting_anything_needed(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    one, two = await make_node("node-1"), await make_node("node-2")
    agent = await one.start_agent()
    for i in range(2):
        await agent.cni.add(pod_request(f"p{i}"))
    before = vpp_config(one.sim.state)
    last_txn = agent.scheduler.txn_history()[-1].seq
    # VPP answers slowly, then goes away while node 1's NodeUpdate transaction (the mesh to
    # the node about to join) waits for replies: its new tunnel is tagged, and what was sent
    # after the tag is done or not, unanswered.
    slow = "sw_interface_tag_add_del"
    tagged = one.sim.requests.get(slow, 0)
    one.sim.set_latency(0.3, slow)
    await two.start_agent()
    await eventually(lambda: one.sim.requests.get(slow, 0) > tagged)
    await one.sim.outage(0.5)
    one.sim.faults.clear()

    def healed() -> bool:
        records = agent.history.records()
        return any(r.name == "HealingResync" and not r.error for r in records) and all(
            s.state in (ValueState.CONFIGURED, ValueState.OBTAINED)
            for s in agent.scheduler.statuses()
        )

    await eventually(healed, within=15)
    await agent.loop.wait_idle()
    after = vpp_config(one.sim.state)
    # Everything there before is still there (the mesh to node 2 was added).
    assert {k: v for k, v in after.items() if k in before} == before
    assert any(v[0] == "VXLAN" for k, v in after.items() if k.startswith("if "))
    # Nothing the node needs was deleted on the way (a re-create of a failed value aside).
    desired = agent.scheduler.desired()
    deleted = [
        op.key
        for record in agent.scheduler.txn_history()
        if record.seq > last_txn
        for op in record.executed
        if op.op is OpKind.DELETE and not op.recreate and op.error is None
    ]
    assert [key for key in deleted if key in desired] == []
    healing = [r for r in agent.history.records() if r.name == "HealingResync"]
    assert healing
    assert set(healing[-1].handlers) == {c.name for c in agent.loop.controllers}
    resyncs = [r for r in agent.scheduler.txn_history() if r.kind is TxnKind.FULL_RESYNC]
    assert resyncs[-1].seq > last_txn
