"""The node agent in veth mode against the real kernel: it creates the pod's veth pair,
moves one end into the pod's namespace as eth0 with the pod IP, routes and ARP, and attaches
VPP (the simulator) to the other end with af_packet; a restart rewrites nothing; a DEL
removes the pair. The agent runs in a namespace of its own, so nothing touches the host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from linux.support import Sandbox, ip, needs_netns

SCRIPT = Path(__file__).with_name("agent_in_netns.py")


@needs_netns
def test_agent_wires_a_pod_through_a_real_veth_pair(sandbox: Sandbox, tmp_path: Path) -> None:
    host_ns = sandbox.netns_name()
    pod_ns = sandbox.netns_name()
    ip("netns", "add", host_ns)
    ip("netns", "add", pod_ns)
    done = subprocess.run(
        ["ip", "netns", "exec", host_ns, sys.executable, str(SCRIPT), pod_ns, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["not_configured"] == []
    pod_ip = report["cni_ip"].split("/")[0]
    gateway = report["cni_gateway"]
    assert f"inet {pod_ip}/32" in report["pod_addresses"]
    routes = report["pod_routes"].splitlines()
    assert any(r.startswith(f"default via {gateway} dev eth0") for r in routes), routes
    assert any(r.startswith(f"{gateway} dev eth0") and "scope link" in r for r in routes), routes
    assert gateway in report["pod_neighbours"]
    assert "PERMANENT" in report["pod_neighbours"]
    # The host end of the pod's veth and the host interconnect exist in the agent's namespace.
    assert "vpp1" in report["host_links"]
    assert "172.30.1.2/24" in report["host_addresses"]
    assert "host-ffffffffffffff" in report["vpp"]  # af_packet on the host end (15 chars)
    assert report["restart_vpp_writes"] == 0
    assert report["restart_netlink_writes"] == 0
    assert "eth0" not in report["after_delete_pod_links"]
    assert "ffffffffffffff" not in report["after_delete_host_links"]
    # The custom veths: veth1 with its own IP (and the gateway's MAC, for replies), vstub with
    # none; both gone after the DEL, with their host ends.
    assert report["cni_interfaces"] == ["eth0", "veth1", "vstub"]
    custom_ip = report["cni_custom_ip"].split("/")[0]
    assert custom_ip != pod_ip
    assert f"inet {custom_ip}/32" in report["custom_addresses"]
    assert gateway in report["custom_neighbours"]
    assert "vstub" in report["stub_addresses"]
    assert "inet " not in report["stub_addresses"]
    assert report["custom_host_end"] in report["host_links"]
    assert "veth1" not in report["after_delete_pod_links"]
    assert "vstub" not in report["after_delete_pod_links"]
    assert report["custom_host_end"] not in report["after_delete_host_links"]
