"""Veth ends as two values: one end removed and put back, changes in place, leftovers.

Both ends live in sandbox namespaces (a pod and a stand-in for the node), so nothing of
these tests touches the agent's namespace.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from contivpy.linux import keys
from contivpy.linux.descriptors.link_tags import veth_temp_name
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import LinkSettings, NetnsRef
from contivpy.scheduler import Txn, ValueState
from linux.support import Sandbox, needs_netns
from linux.wiring import VETH_HOST, VETH_POD, linux_scheduler

pytestmark = needs_netns


def pair(pod: NetnsRef, node: NetnsRef) -> dict[str, object]:
    return {
        keys.netns_key(pod): pod,
        keys.netns_key(node): node,
        keys.interface_key(VETH_POD): LinuxInterface(
            VETH_POD, LinuxInterfaceType.VETH, "eth0", pod, veth_peer=VETH_HOST
        ),
        keys.interface_key(VETH_HOST): LinuxInterface(
            VETH_HOST, LinuxInterfaceType.VETH, "veth-c1", node, veth_peer=VETH_POD
        ),
    }


async def names(netlink: Netlink, netns: NetnsRef) -> set[str]:
    return {link.name for link in await netlink.links(netns)}


async def test_second_end_is_handed_back_and_taken_again(
    netlink: Netlink, sandbox: Sandbox
) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    values = pair(pod, node)
    host_key = keys.interface_key(VETH_HOST)
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
        assert await names(netlink, node) == {"lo", "veth-c1"}

        await scheduler.commit(Txn({host_key: None}))
        # the pod's end stays; its peer waits in the pod's namespace under its temporary name
        assert await names(netlink, node) == {"lo"}
        assert await names(netlink, pod) == {"lo", "eth0", veth_temp_name(VETH_HOST)}
        assert scheduler.status(keys.interface_key(VETH_POD)).state is ValueState.CONFIGURED

        result = await scheduler.commit(Txn({host_key: values[host_key]}))
        assert result.ok, result.record.errors
        assert await names(netlink, node) == {"lo", "veth-c1"}
        assert await names(netlink, pod) == {"lo", "eth0"}


async def test_changes_in_place(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    values = pair(pod, node)
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
        eth0 = await netlink.link("eth0", pod)
        key = keys.interface_key(VETH_POD)
        value = values[key]
        assert isinstance(value, LinuxInterface)
        changed = replace(value, host_if_name="eth1", mtu=1400, phys_address="02:fe:00:00:00:09")
        result = await scheduler.commit(Txn({key: changed}))
        assert result.ok, result.record.errors
        assert [op.op.value for op in result.record.executed if not op.property] == ["update"]
        eth1 = await netlink.link("eth1", pod)
        assert (eth1.index, eth1.mtu, eth1.mac, eth1.admin_up) == (
            eth0.index,  # the same link, renamed in place
            1400,
            "02:fe:00:00:00:09",
            True,
        )
        # the peer depends on this end: a change in place does not disturb it
        assert scheduler.status(keys.interface_key(VETH_HOST)).state is ValueState.CONFIGURED
        assert (await scheduler.dry_run_downstream()).planned == ()


async def test_leftovers_of_an_interrupted_create_are_removed(
    netlink: Netlink, sandbox: Sandbox
) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    # a pair made under the temporary names, as a create that died half-way leaves it
    await netlink.create_veth(veth_temp_name(VETH_POD), veth_temp_name(VETH_HOST), pod, pod)
    async with linux_scheduler(netlink) as scheduler:
        result = await scheduler.resync_full(pair(pod, node))
        assert result.ok, result.record.errors
    assert await names(netlink, pod) == {"lo", "eth0"}
    assert await names(netlink, node) == {"lo", "veth-c1"}


def kernel_tx_checksum(netns: NetnsRef, link: str) -> bool:
    """The link's TX checksum offload as pyroute2's ethtool features read it (by feature
    name, not by the ioctl the agent uses), from inside the namespace."""
    script = (
        "from pyroute2.ethtool import Ethtool; e = Ethtool(); "
        f"print(e.get_features({link!r}).features['tx-checksum-ip-generic'].enable)"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", netns.name or "", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip() == "True"


async def test_tx_checksum_offload_is_set_read_back_and_repaired(
    netlink: Netlink, sandbox: Sandbox
) -> None:
    """Both ends asked without TX checksum offload (what VPP's af_packet needs): made so, an
    unchanged resync plans nothing, and a link someone turned it back on for is repaired."""
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    values = {
        k: replace(v, tx_checksum_offload=False) if isinstance(v, LinuxInterface) else v
        for k, v in pair(pod, node).items()
    }
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(values)).ok
        assert not await netlink.tx_checksum("eth0", pod)
        assert not await netlink.tx_checksum("veth-c1", node)
        assert kernel_tx_checksum(pod, "eth0") is False  # as another reader sees it
        assert (await scheduler.dry_run_downstream()).planned == ()

        await netlink.set_link("eth0", LinkSettings(tx_checksum=True), pod)
        assert await netlink.tx_checksum("eth0", pod)
        result = await scheduler.resync_downstream()
        assert result.ok, result.record.errors
        assert not await netlink.tx_checksum("eth0", pod)
        assert (await scheduler.dry_run_downstream()).planned == ()


async def test_tx_checksum_offload_left_as_the_kernel_has_it_when_not_asked(
    netlink: Netlink, sandbox: Sandbox
) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    node = await netlink.create_netns(sandbox.netns_name())
    async with linux_scheduler(netlink) as scheduler:
        assert (await scheduler.resync_full(pair(pod, node))).ok
        assert await netlink.tx_checksum("eth0", pod)  # a veth's default
        assert (await scheduler.dry_run_downstream()).planned == ()
