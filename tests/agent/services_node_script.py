"""One real node serving a Kubernetes Service and enforcing a NetworkPolicy with real packets
(the test starts this script with ``ip netns exec <node-ns>``): etcd, a real VPP, the node
agent as a process of its own, and three pods in veth mode in real namespaces, networked
through the real CNI plugin: ``web`` (``app=web``, an HTTP server on 8080), ``frontend``
(``role=frontend``) and ``client`` (``role=client``). The Service ``web`` (ClusterIP
10.96.0.10, port 80 -> 8080) and its Endpoints are put into etcd as the reflector mirrors them.

Then real HTTP requests with curl: client and frontend to the ClusterIP, web to its own
Service (a hairpin: VPP's self-twice-NAT); then a
NetworkPolicy admitting only ``role=frontend`` to the web pods on 8080: the client's request
fails, the frontend's and the hairpin's succeed; the agent killed and restarted (writes
nothing); VPP restarted (the frontend's request succeeds again, the client's still fails).
Prints one JSON object (the test asserts on it).

Usage: python services_node_script.py <vpp binary> <work dir> <netns web> <netns frontend>
<netns client>
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest has it

from agent.node_script import cni, not_configured, sh, wait_for, writes
from contivpy.models.k8s_codec import (
    DEFAULT_PREFIX,
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    Pod,
    Policy,
    Service,
    ServicePort,
    encode,
    key_of,
)
from contivpy.reflector.converting import convert
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppprocess.process import VppProcess
from contivpy.vppprocess.real_node import AgentProcess, write_agent_config
from contivpy.vppprocess.startup import StartupConfig

CLUSTER_IP = "10.96.0.10"
URL = f"http://{CLUSTER_IP}:80/"
FRONTEND_ONLY = {
    "metadata": {"name": "web-from-frontend", "namespace": "default"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "web"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
                "ports": [{"protocol": "TCP", "port": 8080}],
            }
        ],
    },
}


def http_status(netns: str | None, url: str = URL) -> str:
    """curl's HTTP status of a GET (``000``: no answer within 3 s)."""
    command = ["curl", "-s", "-o", "/dev/null", "-m", "3", "-w", "%{http_code}", url]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    return sh(*command, timeout=20).stdout.strip() or "000"


async def eventually_status(netns: str | None, want: str, seconds: float) -> str:
    """Retry until the status is ``want`` (the agent applies asynchronously); the last one."""
    status = ""

    def check() -> bool:
        nonlocal status
        status = http_status(netns)
        return status == want

    with contextlib.suppress(RuntimeError):
        await wait_for(check, seconds, f"HTTP {want} from {netns or 'the node'}")
    return status


async def main(binary: Path, work: Path, web: str, frontend: str, client: str) -> dict[str, Any]:
    sh("ip", "link", "set", "lo", "up")
    report: dict[str, Any] = {}
    vpp = VppProcess(binary, StartupConfig(work / "vpp"))
    server: asyncio.subprocess.Process | None = None
    async with EmbeddedEtcd(work / "etcd") as etcd:
        await vpp.start()
        config = write_agent_config(
            work / "agent.yaml",
            node_name="node-1",
            directory=work,
            vpp_socket=vpp.api_socket,
            etcd_endpoints=(etcd.endpoint,),
        )
        agent = AgentProcess(config, work)
        agent.start()
        store = EtcdStore(StoreSettings(endpoints=(etcd.endpoint,)))
        await store.__aenter__()

        async def put(model: Pod | Policy | Service | Endpoints) -> None:
            await store.put(DEFAULT_PREFIX + key_of(model), encode(model))

        try:
            await wait_for(agent.ready, 60, "the agent to be ready")
            ips: dict[str, str] = {}
            pods = ((web, "web", {"app": "web"}), (frontend, "frontend", {"role": "frontend"}))
            pods += ((client, "client", {"role": "client"}),)
            for netns, name, labels in pods:
                sh("ip", "-n", netns, "link", "set", "lo", "up")  # the loopback CNI plugin's job
                result = cni("ADD", name[0] * 64, netns, name, work / "cni.sock")
                ips[name] = result["ips"][0]["address"].split("/")[0]
                await put(
                    Pod(
                        name=name,
                        namespace="default",
                        node_name="node-1",
                        ip_address=ips[name],
                        labels=labels,
                    )
                )
            report["pod_ips"] = ips
            server = await asyncio.create_subprocess_exec(
                *("ip", "netns", "exec", web, sys.executable, "-m", "http.server", "8080"),
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            direct = f"http://{ips['web']}:8080/"
            await wait_for(lambda: http_status(web, direct) == "200", 30, "the web server")
            report["direct"] = http_status(client, direct)

            await put(
                Service(
                    name="web",
                    namespace="default",
                    cluster_ip=CLUSTER_IP,
                    ports=[ServicePort(name="http", port=80)],
                )
            )
            await put(
                Endpoints(
                    name="web",
                    namespace="default",
                    subsets=[
                        EndpointSubset(
                            addresses=[EndpointAddress(ip=ips["web"], node_name="node-1")],
                            ports=[EndpointPort(name="http", port=8080)],
                        )
                    ],
                )
            )
            report["client"] = await eventually_status(client, "200", 30)
            report["frontend"] = http_status(frontend)
            report["hairpin"] = http_status(web)

            policy = convert("policy", FRONTEND_ONLY)
            assert isinstance(policy, Policy)
            await put(policy)
            report["policy_client"] = await eventually_status(client, "000", 30)
            report["policy_frontend"] = http_status(frontend)
            report["policy_hairpin"] = http_status(web)

            # kill -9 the agent; the new one must find VPP as it wants it and write nothing
            agent.kill()
            agent.start()
            await wait_for(agent.ready, 60, "the restarted agent")
            await asyncio.sleep(1.0)  # let the restart's resync settle
            report["restart_writes"] = writes(agent)
            report["restart_frontend"] = http_status(frontend)
            report["restart_client"] = http_status(client)

            # VPP restarts: the service and the policy are restored
            await vpp.restart()
            restarted = time.monotonic()
            report["vpp_restart_frontend"] = await eventually_status(frontend, "200", 60)
            report["vpp_restart_s"] = time.monotonic() - restarted
            report["vpp_restart_client"] = http_status(client)
            report["not_configured"] = not_configured(agent)
        finally:
            if server is not None:
                server.terminate()
                await asyncio.wait_for(server.wait(), 10)
            await store.__aexit__(None, None, None)
            agent.stop()
            await vpp.stop()
    return report


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    args = sys.argv[1:]
    result = uvloop.run(main(Path(args[0]), Path(args[1]), args[2], args[3], args[4]))
    print(json.dumps(result))
