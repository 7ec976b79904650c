"""The Linux descriptors under the scheduler, against the real kernel: a pod wired in veth mode.

Asserts what the kernel ends up holding, that a re-plan is empty, that an agent restart
writes nothing, that a vanished namespace leaves the pod's values PENDING, and that drift is
repaired by a downstream resync.
"""

from __future__ import annotations

import asyncio

from contivpy.linux import keys
from contivpy.linux.descriptors.link_tags import link_alias
from contivpy.linux.models import LinuxInterface
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import LinkSettings, NetnsRef
from contivpy.scheduler import Scheduler, ValueState
from linux.support import Sandbox, ip, needs_netns, unique
from linux.wiring import (
    GW_IP,
    GW_MAC,
    POD_IP,
    POD_MAC,
    VETH_HOST,
    VETH_POD,
    linux_scheduler,
    pod_kernel,
    pod_values,
)

pytestmark = needs_netns

POD_KEYS = [
    keys.interface_key(VETH_POD),
    keys.interface_key(VETH_HOST),
    keys.route_key(f"{GW_IP}/32", VETH_POD),
    keys.route_key("0.0.0.0/0", VETH_POD),
    keys.arp_key(VETH_POD, GW_IP),
]


def states(scheduler: Scheduler, wanted: list[str]) -> dict[str, ValueState]:
    return {key: scheduler.status(key).state for key in wanted}


async def test_pod_side_ends_exactly_as_desired(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    host_end = sandbox.host_link_name()
    owner = unique("test-")
    values = pod_values(pod, host_end)
    async with linux_scheduler(netlink, owner) as scheduler:
        result = await scheduler.resync_full(values)
        assert result.ok, result.record.errors
        assert set(states(scheduler, list(values)).values()) == {ValueState.CONFIGURED}

        kernel = await pod_kernel(netlink, pod)
        assert kernel.links == {
            ("lo", "", False, "00:00:00:00:00:00"),
            ("eth0", "veth", True, POD_MAC),
        }
        assert kernel.addresses == {("eth0", f"{POD_IP}/32")}
        assert kernel.routes == {
            (f"{GW_IP}/32", "", "eth0", 253),  # link scope
            ("0.0.0.0/0", GW_IP, "eth0", 0),
        }
        assert kernel.neighbours == {("eth0", GW_IP, GW_MAC)}
        eth0 = await netlink.link("eth0", pod)
        value = values[keys.interface_key(VETH_POD)]
        assert isinstance(value, LinuxInterface)
        assert eth0.alias == link_alias(value, owner)  # tagged, so a restart recognises it
        outside = await netlink.link(host_end)
        assert (outside.kind, outside.admin_up) == ("veth", True)
        assert f"default via {GW_IP} dev eth0" in ip("-n", pod.name or "", "route")

        # re-planning the same state against the kernel changes nothing
        assert (await scheduler.dry_run_downstream()).planned == ()
        writes = netlink.writes
        again = await scheduler.resync_downstream()
        assert again.writes == 0
        assert netlink.writes == writes

        # removing the pod removes the pair, and with it both links
        gone = await scheduler.resync_full({keys.netns_key(pod): pod})
        assert gone.ok, gone.record.errors
        assert {link.name for link in await netlink.links(pod)} == {"lo"}
        assert host_end not in {link.name for link in await netlink.links()}


async def test_agent_restart_writes_nothing(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    values = pod_values(pod, sandbox.host_link_name())
    owner = unique("test-")
    async with linux_scheduler(netlink, owner) as first:
        assert (await first.resync_full(values)).ok
    before = await pod_kernel(netlink, pod)
    writes = netlink.writes
    async with linux_scheduler(netlink, owner) as second:
        # refresh-only start, then the first full desired state: all found, nothing written
        result = await second.resync_full(values)
        assert result.ok, result.record.errors
        assert result.writes == 0, result.record.executed
        assert netlink.writes == writes
        assert set(states(second, list(values)).values()) == {ValueState.CONFIGURED}
    assert await pod_kernel(netlink, pod) == before


async def test_vanished_netns_leaves_the_pod_pending(netlink: Netlink, sandbox: Sandbox) -> None:
    name = sandbox.netns_name()
    pod = await netlink.create_netns(name)
    host_end = sandbox.host_link_name()
    values = pod_values(pod, host_end)
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
        await netlink.delete_netns(name)  # the runtime removed the pod's namespace
        # the kernel tears a namespace down in the background; its veth goes with it
        for _ in range(200):
            if host_end not in {link.name for link in await netlink.links()}:
                break
            await asyncio.sleep(0.01)

        result = await scheduler.resync_downstream()
        assert scheduler.status(keys.netns_key(pod)).state is ValueState.FAILED
        pod_states = states(scheduler, POD_KEYS)
        assert set(pod_states.values()) == {ValueState.PENDING}, pod_states
        assert "netns" in scheduler.status(keys.interface_key(VETH_POD)).details
        assert all(e.key == keys.netns_key(pod) for e in result.record.errors)

        # a namespace of that name again (a new sandbox): everything comes back
        await netlink.create_netns(name)
        back = await scheduler.resync_downstream()
        assert back.ok, back.record.errors
        assert set(states(scheduler, list(values)).values()) == {ValueState.CONFIGURED}
        assert ("eth0", f"{POD_IP}/32") in (await pod_kernel(netlink, pod)).addresses


async def test_drift_is_repaired_by_a_downstream_resync(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    values = pod_values(pod, sandbox.host_link_name())
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
        wired = await pod_kernel(netlink, pod)
        ns = pod.name or ""
        # behind our back: the address goes (the kernel drops the routes and the ARP entry
        # through eth0 with the last IPv4 address) and the link goes down
        ip("-n", ns, "addr", "del", f"{POD_IP}/32", "dev", "eth0")
        await netlink.set_link("eth0", LinkSettings(up=False), pod)
        drifted = await pod_kernel(netlink, pod)
        assert not drifted.addresses
        assert not drifted.routes
        assert not drifted.neighbours

        result = await scheduler.resync_downstream()
        assert result.ok, result.record.errors
        repaired = {(op.op.value, op.key) for op in result.record.executed if not op.property}
        assert repaired == {
            ("create", keys.interface_address_key(VETH_POD, f"{POD_IP}/32")),
            ("update", keys.interface_key(VETH_POD)),
            ("create", keys.route_key(f"{GW_IP}/32", VETH_POD)),
            ("create", keys.route_key("0.0.0.0/0", VETH_POD)),
            ("create", keys.arp_key(VETH_POD, GW_IP)),
        }
        assert await pod_kernel(netlink, pod) == wired
        assert (await scheduler.dry_run_downstream()).planned == ()


async def test_netns_referred_to_by_path(netlink: Netlink, sandbox: Sandbox) -> None:
    # the same namespace referred to by a path, as CNI passes it
    name = sandbox.netns_name()
    await netlink.create_netns(name)
    pod = NetnsRef.at(f"/run/netns/{name}")
    values = pod_values(pod, sandbox.host_link_name())
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
    assert (await netlink.link("eth0", NetnsRef.named(name))).mac == POD_MAC
