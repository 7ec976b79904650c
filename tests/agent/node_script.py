"""One real node in the current network namespace (the test starts this script with
``ip netns exec <node-ns>``): etcd, a real VPP, the node agent as a process of its own
(``contivpy agent``, configured and run as :mod:`contivpy.vppprocess.real_node` does), and
two pods in veth mode, each in a real namespace and with a custom veth interface ``veth1``
(``contivpp.io/custom-if``), networked through the real CNI plugin (``contivpy cni``). Then
real packets (also between the pods' custom interfaces), an agent killed with SIGKILL while a
ping runs, and a VPP restart. Prints one JSON object (the test asserts on it).

Usage: python node_script.py <vpp binary> <work dir> <pod netns A> <pod netns B>
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest has it

from contivpy.linux.icmp_echo import EchoResult, echo
from contivpy.models.k8s_codec import DEFAULT_PREFIX, Pod, encode, key_for
from contivpy.store.embedded import EmbeddedEtcd
from contivpy.store.etcd import EtcdStore
from contivpy.store.settings import StoreSettings
from contivpy.vppcalls.client import VppClient
from contivpy.vppprocess.process import VppProcess
from contivpy.vppprocess.real_node import CONTIVPY, AgentProcess, write_agent_config
from contivpy.vppprocess.startup import StartupConfig
from vpp_target.snapshot import read_snapshot


def sh(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout)


def ping(netns: str | None, address: str, count: int = 3, source: str | None = None) -> int:
    """Echo replies received out of ``count`` (our own ICMP echo; None: this namespace)."""
    return echo(address, count, netns=netns, interval=0.2, timeout=1.0, source=source).received


async def reflect_pods(endpoint: str, names: tuple[str, ...]) -> None:
    """The pods as the reflector mirrors them: each asks for a custom veth ``veth1``."""
    annotations = {"contivpp.io/custom-if": "veth1/veth"}
    async with EtcdStore(StoreSettings(endpoints=(endpoint,))) as store:
        for name in names:
            pod = Pod(name=name, namespace="default", annotations=annotations, node_name="node-1")
            await store.put(DEFAULT_PREFIX + key_for("pod", name, "default"), encode(pod))


def custom_ip(result: dict[str, Any], name: str) -> str:
    """The address the CNI result gives the interface ``name``."""
    index = [i["name"] for i in result["interfaces"]].index(name)
    return next(i["address"] for i in result["ips"] if i.get("interface") == index).split("/")[0]


def start_ping(netns: str, address: str, count: int) -> asyncio.Task[EchoResult]:
    """An echo in the background (a thread), ten requests a second."""
    return asyncio.create_task(
        asyncio.to_thread(echo, address, count, netns=netns, interval=0.1, timeout=1.0)
    )


async def wait_for(condition: Any, seconds: float, what: str) -> float:
    """Poll ``condition()`` until true; the seconds it took (RuntimeError naming ``what``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"timed out after {seconds} s waiting for {what}")


def writes(agent: AgentProcess) -> int:
    """Operations this agent process executed (not skipped) in all its transactions."""
    total = 0
    for record in agent.ctl("txns"):
        total += sum(
            1
            for op in record.get("executed", [])
            if not op.get("skipped") and not op.get("property")
        )
    return total


def not_configured(agent: AgentProcess) -> list[str]:
    """The agent's applied values that are neither configured nor obtained: "key: state"."""
    return [
        f"{s.get('key')}: {s.get('state')}"
        for s in agent.ctl("dump", "--view", "applied")
        if s.get("state") not in (None, "configured", "obtained", "CONFIGURED", "OBTAINED")
    ]


def cni(command: str, cid: str, netns: str, pod: str, socket: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": f"/var/run/netns/{netns}",
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod}",
        "CNI_PATH": "/opt/cni/bin",
    }
    config = {
        "cniVersion": "1.0.0",
        "name": "k8s-pod-network",
        "type": "contivpy",
        "grpcServer": str(socket),
    }
    done = subprocess.run(
        [*CONTIVPY, "cni"],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    result = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode != 0:
        raise RuntimeError(f"CNI {command} {pod}: {result or done.stderr}")
    return result


async def vpp_state(socket: str) -> dict[int, tuple[str, str, tuple[str, ...]]]:
    """sw_if_index -> (tag, admin state, addresses) of every interface VPP has."""
    client = VppClient(socket)
    await client.start(connect_timeout=10)
    try:
        snapshot = await read_snapshot(client)
    finally:
        await client.close()
    return {
        i.sw_if_index: (i.tag, "up" if i.details.admin_up else "down", tuple(map(str, i.addresses)))
        for i in snapshot.interfaces.values()
    }


async def main(binary: Path, work: Path, pod_a: str, pod_b: str) -> dict[str, Any]:
    sh("ip", "link", "set", "lo", "up")
    report: dict[str, Any] = {}
    vpp = VppProcess(binary, StartupConfig(work / "vpp"))
    async with EmbeddedEtcd(work / "etcd") as etcd:
        await vpp.start()
        config = write_agent_config(
            work / "agent.yaml",
            node_name="node-1",
            directory=work,
            vpp_socket=vpp.api_socket,
            etcd_endpoints=(etcd.endpoint,),
        )
        await reflect_pods(etcd.endpoint, ("pod-a", "pod-b"))
        agent = AgentProcess(config, work)
        agent.start()
        try:
            await wait_for(agent.ready, 60, "the agent to be ready")
            a = cni("ADD", "a" * 64, pod_a, "pod-a", work / "cni.sock")
            b = cni("ADD", "b" * 64, pod_b, "pod-b", work / "cni.sock")
            ip_a = a["ips"][0]["address"].split("/")[0]
            ip_b = b["ips"][0]["address"].split("/")[0]
            report["pod_ips"] = [ip_a, ip_b]
            host = re.findall(r"inet (172\.30\.\d+\.\d+)/", sh("ip", "-o", "addr").stdout)
            report["host_ip"] = host[0] if host else ""
            report["ping_a_b"] = ping(pod_a, ip_b)
            report["ping_b_a"] = ping(pod_b, ip_a)
            # Between the custom interfaces: A's request (from its veth1 address) reaches B on
            # B's veth1 (VPP routes B's custom address there), B's reply reaches A on A's.
            custom_a, custom_b = custom_ip(a, "veth1"), custom_ip(b, "veth1")
            report["custom_ips"] = [custom_a, custom_b]
            report["custom_links"] = [
                sh("ip", "-n", ns, "-o", "addr", "show", "veth1").stdout for ns in (pod_a, pod_b)
            ]
            report["ping_custom_a_b"] = ping(pod_a, custom_b, source=custom_a)
            # VPP drops the packet that makes it resolve a neighbour (the host's end of the
            # interconnect has no static ARP entry in VPP, as in Contiv): one warm-up first.
            if host:
                ping(pod_a, report["host_ip"], 1)
            report["ping_a_host"] = ping(pod_a, report["host_ip"]) if host else 0
            report["ping_host_b"] = ping(None, ip_b)

            # kill -9 the agent while a ping runs; a new agent must write nothing.
            before = await vpp_state(vpp.api_socket)
            pinger = start_ping(pod_a, ip_b, 40)
            await asyncio.sleep(0.5)
            agent.kill()
            agent.start()
            report["agent_restart_s"] = await wait_for(agent.ready, 60, "the restarted agent")
            echoed = await asyncio.wait_for(pinger, 60)
            report["restart_ping"] = [echoed.sent, echoed.received]
            await asyncio.sleep(1.0)  # let the restart's resync settle
            report["restart_writes"] = writes(agent)
            report["restart_vpp_unchanged"] = before == await vpp_state(vpp.api_socket)

            # VPP restarts: everything is restored, packets flow again.
            await vpp.restart()
            restarted = time.monotonic()
            await wait_for(lambda: ping(pod_a, ip_b, 1) == 1, 60, "ping after the VPP restart")
            report["vpp_restart_ping_back_s"] = time.monotonic() - restarted
            report["after_vpp_restart_ping_b_a"] = ping(pod_b, ip_a)
            ping(None, ip_b, 1)  # the new VPP resolves the host's end again: one warm-up
            report["after_vpp_restart_ping_host_b"] = ping(None, ip_b)
            report["not_configured"] = not_configured(agent)
        finally:
            agent.stop()
            await vpp.stop()
    return report


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    args = sys.argv[1:]
    result = uvloop.run(main(Path(args[0]), Path(args[1]), args[2], args[3]))
    print(json.dumps(result))
