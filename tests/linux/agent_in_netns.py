"""Run a node agent inside the current network namespace (the test starts it with
`ip netns exec <host-ns>`), wire one pod in veth mode into a real pod namespace (with two
custom veth interfaces: ``veth1`` in the default network, ``vstub`` in the stub one), and print
what happened as one JSON object: the agent's view, the kernel's, VPP's, and the writes an
agent restart made. The calling test asserts on it.

Usage: python agent_in_netns.py <pod netns name> <work dir>
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import structlog
import uvloop

from contivpy.agent.node_agent import AgentConfig, AgentPaths, NodeAgent
from contivpy.cni.types import CniRequest, PodRef
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.models.k8s_codec import DEFAULT_PREFIX, Pod, encode, key_for
from contivpy.settings import AgentSettings, InterfaceSettings
from contivpy.sim.vpp.server import VppSimulator
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings


def sh(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


async def main(pod_ns: str, work: Path) -> dict[str, Any]:
    sh("ip", "link", "set", "lo", "up")  # etcd listens on loopback in this namespace
    report: dict[str, Any] = {}
    etcd = EmbeddedEtcd(work / "etcd")
    async with etcd, EtcdStore(StoreSettings(endpoints=(etcd.endpoint,))) as store:
        sim = VppSimulator(str(work / "api.sock"), vhost_net=False)
        async with sim:
            config = AgentConfig(
                AgentSettings(
                    node_name="node-1",
                    interfaces=InterfaceSettings(use_tap_interfaces=False),
                ).validate(),
                AgentPaths(
                    state_dir=work / "state",
                    vpp_socket=work / "api.sock",
                    cni_socket=work / "cni.sock",
                    debug_socket=None,
                ),
            )

            async def start() -> NodeAgent:
                agent = NodeAgent(config, store)
                await agent.start(vpp_timeout=10)
                await agent.wait_ready()
                await agent.loop.wait_idle()
                return agent

            agent = await start()
            # the pod as the reflector mirrors it: its custom interfaces are annotated
            annotations = {"contivpp.io/custom-if": "veth1/veth, vstub/veth/stub"}
            pod = Pod(name="web", namespace="ns", annotations=annotations, node_name="node-1")
            await store.put(DEFAULT_PREFIX + key_for("pod", "web", "ns"), encode(pod))
            for _ in range(500):
                if agent.pods.reflected(PodID("ns", "web")):
                    break
                await asyncio.sleep(0.02)
            cid = "f" * 64
            request = CniRequest(cid, f"/var/run/netns/{pod_ns}", "eth0", PodRef("ns", "web"))
            result = await agent.cni.add(request)
            report["cni_ip"] = result.ips[0].address
            report["cni_gateway"] = result.ips[0].gateway
            report["pod_addresses"] = sh("ip", "-n", pod_ns, "-o", "addr", "show", "eth0")
            report["cni_interfaces"] = [i.name for i in result.interfaces]
            report["cni_custom_ip"] = next(
                i.address for i in result.ips if result.interfaces[i.interface].name == "veth1"
            )
            report["custom_addresses"] = sh("ip", "-n", pod_ns, "-o", "addr", "show", "veth1")
            report["stub_addresses"] = sh("ip", "-n", pod_ns, "-o", "addr", "show", "vstub")
            report["custom_neighbours"] = sh("ip", "-n", pod_ns, "neigh", "show", "dev", "veth1")
            report["custom_host_end"] = naming.custom_veth_host_name("veth1", cid)
            report["pod_routes"] = sh("ip", "-n", pod_ns, "route")
            report["pod_neighbours"] = sh("ip", "-n", pod_ns, "neigh")
            report["host_links"] = sh("ip", "-o", "link")
            report["host_addresses"] = sh("ip", "-o", "addr")
            report["vpp"] = sim.show_interface_addr()
            report["not_configured"] = [
                f"{s.key}: {s.state.value} {s.details}"
                for s in agent.scheduler.statuses()
                if s.state.value not in ("configured", "obtained")
            ]
            report["afpacket"] = naming.pod_afpacket(cid)
            # Restart: nothing in VPP or the kernel may be rewritten.
            await agent.stop()
            vpp_writes = sim.writes()
            agent = await start()
            netlink = agent._netlink
            report["restart_vpp_writes"] = sim.writes() - vpp_writes
            report["restart_netlink_writes"] = netlink.writes if netlink is not None else -1
            await agent.cni.delete(request)
            await agent.loop.wait_idle()
            report["after_delete_pod_links"] = sh("ip", "-n", pod_ns, "-o", "link")
            report["after_delete_host_links"] = sh("ip", "-o", "link")
            await agent.stop()
    return report


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    print(json.dumps(uvloop.run(main(sys.argv[1], Path(sys.argv[2])))))
