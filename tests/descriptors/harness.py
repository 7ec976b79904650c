"""An agent for the VPP descriptor tests: scheduler + VPP descriptors over a counted client.

In: the test's VPP (:class:`~vpp_target.target.VppTarget`: a simulator, or a real VPP). Out:
``Agent`` (what one agent process would hold), started by ``start_agent`` (a refresh-only
start, as the real agent does) and ended by ``Agent.stop``, so a test can run a second agent
against the same VPP (an agent restart). ``Agent.mismatches`` compares what VPP holds, read
through the API with the agent's uncounted client, with a desired state; ``nic_name`` gives
the NIC a desired state can hang sub-interfaces on; ``reconnected`` and ``poll`` wait for
conditions (a client back after a VPP restart, retries settled).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from contivpy.backoff import Backoff
from contivpy.bench.call_counter import CountingChannel
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.models.vpp_interfaces import Interface, MemifLink
from contivpy.scheduler import RetryPolicy, Scheduler, ValueState
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls import af_packet, interfaces
from contivpy.vppcalls.channel import ApiChannel
from contivpy.vppcalls.client import VppClient
from vpp_target.snapshot import VppSnapshot, read_snapshot
from vpp_target.target import VppTarget, running_on_real_vpp
from vpp_target.view import UNTAGGED_PREFIX, mismatches

#: enough attempts for the failures the tests inject (at most 6 on one value)
FAST_RETRY = RetryPolicy(period=0.01, backoff=1.5, max_attempts=8)
#: whether this kernel has vhost-net (a real VPP makes taps only then); read once, at import
HAS_VHOST_NET = Path("/dev/vhost-net").exists()


def skip_without_taps() -> None:
    """Skip the test on a real VPP that cannot make taps (no /dev/vhost-net here)."""
    if running_on_real_vpp() and not HAS_VHOST_NET:
        pytest.skip("a real VPP makes taps only with /dev/vhost-net, which this kernel lacks")


@dataclass
class Agent:
    """One agent's scheduler and its (counted) VPP client, on the test's VPP."""

    client: VppClient
    channel: CountingChannel
    scheduler: Scheduler
    target: VppTarget

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.client.close()

    async def snapshot(self) -> VppSnapshot:
        """What VPP holds, read through the API (not counted as the agent's calls)."""
        return await read_snapshot(self.client)

    async def mismatches(self, desired: Mapping[str, object]) -> list[str]:
        """How VPP differs from ``desired`` (empty: exactly as desired). On the simulator also
        the memif secrets, which no dump reports."""
        found = mismatches(await self.snapshot(), desired)
        if self.target.sim is not None:
            found += memif_secret_mismatches(self.target.sim.state, desired)
        return found

    async def settled(self) -> None:
        """Wait (5 s at most) until no value is waiting for a retry (retries are transactions
        of their own)."""
        await poll(
            lambda: all(s.state is not ValueState.RETRYING for s in self.scheduler.statuses())
        )
        # one more round trip through the queue: a retry may have been queued just now
        await self.scheduler.dry_run_downstream()


def memif_secret_mismatches(state: VppState, desired: Mapping[str, object]) -> list[str]:
    """Desired memifs whose secret the simulator does not hold (the secret is never printed)."""
    held = {i.tag: i.memif.secret for i in state.interfaces.values() if i.memif is not None}
    return [
        f"interface {v.name}: memif secret differs"
        for v in desired.values()
        if isinstance(v, Interface)
        and isinstance(v.link, MemifLink)
        and v.name in held
        and held[v.name] != v.link.secret
    ]


def new_client(socket_path: str) -> VppClient:
    return VppClient(
        socket_path,
        call_timeout=2.0,
        health_interval=0.05,
        backoff=Backoff(initial=0.01, maximum=0.1),
    )


async def start_agent(target: VppTarget, *, concurrency: int = 16) -> Agent:
    client = new_client(target.socket_path)
    await client.start(connect_timeout=5.0)
    channel = CountingChannel(client)
    scheduler = Scheduler(concurrency=concurrency, retry=FAST_RETRY)
    register_vpp_descriptors(scheduler, channel)
    await scheduler.start()
    return Agent(client, channel, scheduler, target)


async def nic_name(target: VppTarget, vpp: ApiChannel) -> str:
    """The name under which a desired state refers to the test's NIC (made on a real VPP:
    an af_packet, which the models call ``UNTAGGED-host-…``; the simulator's is a dpdk NIC,
    called by VPP's name). It is admin-up, as a node's NIC is: a real VPP refuses to bring
    a sub-interface up on a parent that is down (-1). Call it once per VPP life."""
    nic = await target.nic(vpp)
    await interfaces.set_admin_state(vpp, nic.sw_if_index, True)
    return nic.name if nic.dev_type == "dpdk" else UNTAGGED_PREFIX + nic.name


async def restore_nic(target: VppTarget, vpp: ApiChannel, name: str) -> None:
    """After a VPP restart: a NIC comes back by itself, the af_packet standing in for one on a
    real VPP without NICs does not; make it again on its (still existing) Linux link."""
    if target.sim is not None or not name.startswith(UNTAGGED_PREFIX + "host-"):
        return
    host = name.removeprefix(UNTAGGED_PREFIX + "host-")
    if not await interfaces.dump_interfaces(vpp, name_contains=f"host-{host}"):
        index = await af_packet.create_af_packet(vpp, af_packet.AfPacketSpec(host))
        await interfaces.set_admin_state(vpp, index, True)


async def reconnected(agent: Agent) -> None:
    """Wait (5 s at most) until the agent's client talks to the (restarted) VPP."""
    pid = await agent.target.pid()
    await poll(lambda: agent.client.connected and agent.client.pid == pid)


async def poll(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until ``condition()`` holds, checking every 10 ms; AssertionError after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")
