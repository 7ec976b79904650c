"""The agent's readiness as /readyz reports it, while what it depends on comes and goes: a node
agent on the VPP simulator against an etcd of the test's own, which the test stops and starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from contivpy.agent.health import AgentHealth, HealthSettings
from contivpy.agent.lifecycle import AgentLifecycle
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from doubles.agent_nodes import Node, eventually


async def test_readiness_names_etcd_and_vpp_while_they_are_away(
    tmp_path: Path, private_etcd: EmbeddedEtcd
) -> None:
    sim = VppSimulator(str(tmp_path / "api.sock"))
    await sim.start()
    settings = StoreSettings(endpoints=(private_etcd.endpoint,), request_timeout=0.5)
    store = EtcdStore(settings)
    await store.connect()
    node = Node("ready", tmp_path, sim, store, prefix="/vnf-agent/contiv-ksr/")
    lifecycle = AgentLifecycle("ready")
    health = AgentHealth(lifecycle, HealthSettings(etcd_check_interval=0.1))

    def says(text: str) -> Callable[[], bool]:
        return lambda: text in health.readiness()

    try:
        assert health.readiness() == "starting"
        agent = await node.start_agent()
        lifecycle.attach(agent)
        async with health:
            assert health.readiness() == ""

            await private_etcd.stop()
            await eventually(says("etcd unreachable since "))
            assert health.liveness() == ""  # waiting for etcd is not being stuck
            await private_etcd.start()
            await eventually(lambda: health.readiness() == "", within=20)

            await sim.stop()
            await eventually(says(f"waiting for VPP at {sim.socket_path} (disconnected"))
            await sim.start()
            await eventually(lambda: health.readiness() == "", within=20)

            lifecycle.stopping()
            assert health.readiness() == "stopping"
    finally:
        await node.stop_agent()
        await sim.stop()
        await store.close()
