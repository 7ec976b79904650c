"""A resync never tears down what it cannot read back: an interface VPP reports with a device
type the agent does not know (real VPP 26.06 says "af-packet" where the agent expected
"af_packet") is reported unreadable, loudly, and neither it nor anything built on it is
deleted or re-created (real etcd, VPP simulator, the simulator's control socket)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contivpy.models.vpp_keys import interface_key
from contivpy.scheduler import ValueState
from contivpy.sim.vpp.control import ControlClient, ControlServer
from doubles.agent_nodes import Node, eventually, pod_request, vpp_config

MAIN = "loopbackNIC"  # the simulated node's main interface: addresses, VRF, routes on it


async def test_unknown_interface_type_on_restart_makes_zero_deletes_and_is_reported(
    make_node: Callable[[str], Awaitable[Node]],
) -> None:
    node = await make_node("n1")
    agent = await node.start_agent()
    for i in range(2):
        await agent.cni.add(pod_request(f"p{i}"))
    await node.stop_agent()
    main = next(i for i in node.sim.state.interfaces.values() if i.tag == MAIN)
    known_type = main.dev_type
    control = ControlServer(node.sim, str(node.dir / "control.sock"))
    await control.start()
    client = await ControlClient.connect(control.path)
    try:
        await client.request("dev_type", sw_if_index=main.sw_if_index, dev_type="mystery-dev")
        writes = node.sim.writes()
        before = vpp_config(node.sim.state)

        agent = await node.start_agent()

        # Nothing was deleted, re-created or changed: not the interface, not its addresses,
        # not the routes and pods built on it.
        assert node.sim.writes() == writes
        assert vpp_config(node.sim.state) == before
        key = interface_key(MAIN)
        status = agent.scheduler.status(key)
        assert status.state is ValueState.UNREADABLE
        assert "mystery-dev" in status.details
        # Loud: an error of the resync naming the key and why, and the event failed.
        refused = [e for r in agent.scheduler.txn_history() for e in r.errors if e.key == key]
        assert refused
        assert "mystery-dev" in refused[-1].cause
        resync = next(r for r in agent.history.records() if r.name == "DBResync")
        assert key in resync.error
        assert agent.loop.stats.healings_scheduled >= 1

        # The node keeps serving pods meanwhile.
        assert (await agent.cni.add(pod_request("p-new"))).ips

        # Once VPP reports a type the agent knows again, a healing resync takes it back
        # without a write to it.
        await client.request("dev_type", sw_if_index=main.sw_if_index, dev_type=known_type)
        await eventually(lambda: agent.scheduler.status(key).state is ValueState.CONFIGURED)
        assert main.sw_if_index in node.sim.state.interfaces
    finally:
        await client.close()
        await control.stop()
