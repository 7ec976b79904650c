"""Pod networking through the node agent: wiring, restarts and faults (real etcd, VPP
simulator). Assertions look at what VPP holds and what etcd holds."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from contivpy.cni.types import CniCode, CniError
from contivpy.controllers import naming
from contivpy.scheduler import ValueState
from contivpy.settings import InterfaceSettings
from contivpy.sim.vpp.state import VppState
from doubles.agent_nodes import Node, eventually, pod_request, vpp_config


def _routes(state: VppState) -> dict[str, list[str]]:
    """Pod VRF routes VPP holds, by the tag (logical name) of their outgoing interface."""
    out: dict[str, list[str]] = {}
    for prefix, route in state.routes.get((False, 1), {}).items():
        for path in route.paths:
            iface = state.interfaces.get(path.sw_if_index)
            if iface is not None and iface.tag:
                out.setdefault(iface.tag, []).append(str(prefix))
    return out


async def test_pods_get_unique_ips_and_vpp_holds_their_wiring(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    results = [await agent.cni.add(pod_request(f"web-{i}")) for i in range(5)]
    ips = [r.ips[0].address for r in results]
    assert len(set(ips)) == 5
    assert all(ipaddress.ip_interface(ip).ip in ipaddress.ip_network("10.1.1.0/24") for ip in ips)
    routes = _routes(node.sim.state)
    for request, ip in zip((pod_request(f"web-{i}") for i in range(5)), ips, strict=True):
        tap = naming.pod_vpp_tap(request.container_id)
        assert routes[tap] == [ip], tap
    # Every value the agent asked for is configured.
    assert not [
        s
        for s in agent.scheduler.statuses()
        if s.state not in (ValueState.CONFIGURED, ValueState.OBTAINED)
    ]


async def test_agent_restart_makes_zero_vpp_writes_and_pods_keep_their_ips(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    before = {f"p{i}": (await agent.cni.add(pod_request(f"p{i}"))).ips[0].address for i in range(3)}
    node_id = agent.nodesync.node_id
    await node.stop_agent()
    writes = node.sim.writes()
    shown = node.sim.show_interface_addr()
    agent = await node.start_agent()
    assert node.sim.writes() == writes  # zero VPP writes on restart
    assert node.sim.show_interface_addr() == shown
    assert agent.nodesync.node_id == node_id
    after = {p.name: str(ip) + "/32" for p, ip in agent.ipam.allocations().items()}
    assert after == before
    # A new pod does not get an old pod's IP.
    fresh = (await agent.cni.add(pod_request("p-new"))).ips[0].address
    assert fresh not in before.values()


async def test_vpp_restart_is_detected_and_everything_restored(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    for i in range(3):
        await agent.cni.add(pod_request(f"p{i}"))
    before = vpp_config(node.sim.state)
    await node.sim.restart()
    await eventually(lambda: agent.vpp_restarts > 0 and vpp_config(node.sim.state) == before)
    await agent.loop.wait_idle()
    assert vpp_config(node.sim.state) == before
    assert "DownstreamResync" in [r.name for r in agent.history.records()]


async def test_cni_add_during_a_vpp_outage_waits_and_succeeds(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    outage = asyncio.create_task(node.sim.outage(1.0))
    await eventually(lambda: not agent.vpp.connected, within=1.0)  # the agent saw it go
    result = await agent.cni.add(pod_request("during-outage"))
    await outage
    assert result.ips
    tap = naming.pod_vpp_tap(pod_request("during-outage").container_id)
    await eventually(lambda: tap in _routes(node.sim.state))


async def test_new_sandbox_replaces_the_old_one(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    await agent.cni.add(pod_request("web", container="a" * 64))
    second = await agent.cni.add(pod_request("web", container="b" * 64))
    assert len(agent.ipam.allocations()) == 1  # one pod, one IP
    routes = _routes(node.sim.state)
    assert routes[naming.pod_vpp_tap("b" * 64)] == [second.ips[0].address]
    assert naming.pod_vpp_tap("b" * 64) in routes
    assert naming.pod_vpp_tap("a" * 64) not in routes


async def test_exhaustion_and_bad_requests_are_clear_cni_errors(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    agent.ipam._allocator._last = agent.ipam._allocator._first + 1  # type: ignore[union-attr]
    await agent.cni.add(pod_request("a"))
    await agent.cni.add(pod_request("b"))
    with pytest.raises(CniError, match=r"10\.1\.1\.0/24") as error:
        await agent.cni.add(pod_request("c"))
    assert error.value.code == CniCode.IP_EXHAUSTED
    # Nothing of pod c was left behind.
    assert naming.pod_vpp_tap(pod_request("c").container_id) not in _routes(node.sim.state)
    assert len(agent.ipam.allocations()) == 2


async def test_concurrent_adds_and_deletes_end_in_the_desired_state(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    requests = [pod_request(f"pod-{i}") for i in range(100)]
    results = await asyncio.gather(*(agent.cni.add(r) for r in requests))
    ips = [r.ips[0].address for r in results]
    assert len(set(ips)) == 100  # no IP given twice
    deleted = requests[::2]
    await asyncio.gather(
        *(agent.cni.delete(r) for r in deleted),
        *(agent.cni.add(pod_request(f"late-{i}")) for i in range(20)),
    )
    await agent.loop.wait_idle()
    routes = _routes(node.sim.state)
    expected = {naming.pod_vpp_tap(r.container_id) for r in requests[1::2]}
    expected |= {naming.pod_vpp_tap(pod_request(f"late-{i}").container_id) for i in range(20)}
    assert {k for k in routes if k.startswith("vpp-tap-")} == expected
    # The scheduler's view and VPP agree: a downstream resync has nothing to do.
    assert (await agent.scheduler.dry_run_downstream()).planned == ()


async def test_missing_vhost_net_is_reported_clearly(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    node.sim.set_vhost_net(False)
    agent = await node.start_agent()
    with pytest.raises(CniError, match="vhost-net") as error:
        await agent.cni.add(pod_request("web"))
    assert error.value.code == CniCode.WIRING_FAILED
    # The host interconnect tap failed the same way; the status names it for the operator.
    status = agent.scheduler.status("config/vpp/v2/interfaces/" + naming.HOST_INTERCONNECT_VPP)
    assert status.state is ValueState.FAILED
    assert "vhost-net" in status.details


async def test_veth_mode_works_without_vhost_net(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    node.sim.set_vhost_net(False)
    node.interfaces = InterfaceSettings(use_tap_interfaces=False)
    agent = await node.start_agent()
    request = pod_request("web")
    result = await agent.cni.add(request)
    routes = _routes(node.sim.state)
    assert routes[naming.pod_afpacket(request.container_id)] == [result.ips[0].address]
    # VPP attached to the host end of the pod's veth with af_packet.
    host = node.sim.state.by_name("host-" + naming.pod_veth_host_name(request.container_id))
    assert host is not None


async def test_concurrent_adds_with_one_failing_revert_only_that_one(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    allocator = agent.ipam._allocator
    assert allocator is not None
    allocator._last = allocator._first + 4  # room for 5 pods
    requests = [pod_request(f"pod-{i}") for i in range(6)]
    results = await asyncio.gather(*(agent.cni.add(r) for r in requests), return_exceptions=True)
    failed = [r for r in results if isinstance(r, CniError)]
    assert len(failed) == 1
    assert failed[0].code == CniCode.IP_EXHAUSTED
    wired = {
        naming.pod_vpp_tap(r.container_id)
        for r, res in zip(requests, results, strict=True)
        if not isinstance(res, BaseException)
    }
    routes = _routes(node.sim.state)
    assert {k for k in routes if k.startswith("vpp-tap-")} == wired
    assert len(agent.ipam.allocations()) == 5
    assert len(agent.pods.pods) == 5
    # Several ADDs were processed as one group: their transactions shared a batch (one
    # start time), and the batch with the failing one was undone and redone one by one.
    starts = [r.started_at for r in agent.scheduler.txn_history() if "AddPod" in r.description]
    assert len(starts) > len(set(starts))
