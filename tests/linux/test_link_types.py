"""Links made by someone else: the Linux end of a VPP tap, an existing host link, a loopback.

They are configured and tagged, never created or removed: the TAP_TO_VPP value waits for its
VPP tap (here a stand-in descriptor that makes the link as VPP would), the EXISTING one
leaves addresses it was not asked for alone, and deleting either only undoes our part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contivpy.linux import keys
from contivpy.linux.models import LinuxInterface, LinuxInterfaceType, LinuxRoute
from contivpy.linux.netlink import Netlink
from contivpy.linux.netlink_types import NetnsRef
from contivpy.scheduler import DescriptorBase, Key, Txn, ValueState
from linux.support import Sandbox, ip, needs_netns
from linux.wiring import linux_scheduler

pytestmark = needs_netns


@dataclass(frozen=True)
class FakeVppTap:
    """What the stand-in needs of a VPP tap: the Linux end's name and namespace."""

    host_if_name: str
    namespace: NetnsRef


class FakeVppTapDescriptor(DescriptorBase):
    """Plays VPP: creating the tap makes its Linux end in the pod's namespace."""

    name = "fake-vpp-tap"
    key_prefix = keys.VPP_INTERFACE_PREFIX

    def __init__(self, netlink: Netlink) -> None:
        self._netlink = netlink

    async def create(self, key: Key, value: FakeVppTap) -> None:
        await self._netlink.create_veth(value.host_if_name, "vpp-side", value.namespace, None)

    async def delete(self, key: Key, value: FakeVppTap, metadata: Any) -> None:
        await self._netlink.delete_link(value.host_if_name, value.namespace)


async def test_tap_to_vpp_waits_for_the_vpp_tap(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    sandbox.host_links.append("vpp-side")
    linux_tap = LinuxInterface(
        "linux-tap-c1",
        LinuxInterfaceType.TAP_TO_VPP,
        host_if_name="eth0",
        namespace=pod,
        mtu=1450,
        ip_addresses=("10.1.1.7/32",),
        vpp_tap="vpp-tap-c1",
    )
    tap_key = keys.interface_key(linux_tap.name)
    async with linux_scheduler(netlink, "test-tap", FakeVppTapDescriptor(netlink)) as scheduler:
        await scheduler.commit(Txn({keys.netns_key(pod): pod, tap_key: linux_tap}))
        assert scheduler.status(tap_key).state is ValueState.PENDING
        assert "VPP tap" in scheduler.status(tap_key).details

        vpp_key = keys.vpp_interface_key("vpp-tap-c1")
        result = await scheduler.commit(Txn({vpp_key: FakeVppTap("eth0", pod)}))
        assert result.ok, result.record.errors
        assert scheduler.status(tap_key).state is ValueState.CONFIGURED
        eth0 = await netlink.link("eth0", pod)
        assert (eth0.mtu, eth0.admin_up, eth0.alias) == (
            1450,
            True,
            "test-tap:tap:linux-tap-c1/vpp-tap-c1",
        )
        assert "10.1.1.7/32" in ip("-n", pod.name or "", "addr", "show", "eth0")
        assert (await scheduler.dry_run_downstream()).planned == ()

        # deleting the Linux side undoes our part only: the link is VPP's
        await scheduler.commit(Txn({tap_key: None}))
        eth0 = await netlink.link("eth0", pod)
        assert eth0.alias == ""
        assert "10.1.1.7" not in ip("-n", pod.name or "", "addr", "show", "eth0")


async def test_existing_link_is_configured_not_owned(netlink: Netlink, sandbox: Sandbox) -> None:
    host = await netlink.create_netns(sandbox.netns_name())  # stands in for the node
    await netlink.create_veth("vpp1", "vpp1-peer", host, host)
    ns = host.name or ""
    ip("-n", ns, "addr", "add", "192.168.5.5/24", "dev", "vpp1")  # someone else's
    vpp1 = LinuxInterface(
        "vpp1-if",
        LinuxInterfaceType.EXISTING,
        host_if_name="vpp1",
        namespace=host,
        ip_addresses=("172.30.1.2/24",),
    )
    # the pod subnet via VPP's end of the interconnect
    to_pods = LinuxRoute("10.1.0.0/16", "vpp1-if", gw_addr="172.30.1.1", namespace=host)
    values = {
        keys.netns_key(host): host,
        keys.interface_key("vpp1-if"): vpp1,
        keys.route_key("10.1.0.0/16", "vpp1-if"): to_pods,
    }
    async with linux_scheduler(netlink) as scheduler:
        result = await scheduler.resync_full(values)
        assert result.ok, result.record.errors
        assert "10.1.0.0/16 via 172.30.1.1 dev vpp1" in ip("-n", ns, "route")
        assert (await scheduler.dry_run_downstream()).planned == ()

        dropped = await scheduler.resync_full({keys.netns_key(host): host})
        assert dropped.ok, dropped.record.errors
        link = await netlink.link("vpp1", host)  # still there: not ours to remove
        assert link.alias == ""
        addresses = ip("-n", ns, "addr", "show", "vpp1")
        assert "192.168.5.5/24" in addresses
        assert "172.30.1.2" not in addresses
        assert "10.1.0.0/16" not in ip("-n", ns, "route")


async def test_loopback_comes_up_with_its_addresses(netlink: Netlink, sandbox: Sandbox) -> None:
    pod = await netlink.create_netns(sandbox.netns_name())
    loop = LinuxInterface(
        "linux-loop-c1",
        LinuxInterfaceType.LOOPBACK,
        namespace=pod,
        ip_addresses=("127.0.0.1/8", "::1/128"),
    )
    values = {keys.netns_key(pod): pod, keys.interface_key(loop.name): loop}
    async with linux_scheduler(netlink) as scheduler:
        result = await scheduler.resync_full(values)
        assert result.ok, result.record.errors
        lo = await netlink.link("lo", pod)
        assert lo.admin_up
        assert "127.0.0.1/8" in ip("-n", pod.name or "", "addr", "show", "lo")
        assert (await scheduler.dry_run_downstream()).planned == ()
