"""A real node: the node agent, a real VPP and two veth pods in real namespaces; real packets
pod to pod and pod to host through VPP; the agent killed with SIGKILL mid-ping (no VPP write,
no lost ping); VPP restarted (everything restored, packets back). Skips, naming what is
missing, where no VPP binary is configured (``CONTIVPY_VPP_BINARY``) or the machine cannot
make network namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.real_node_run import run_node_script
from linux.support import Sandbox
from vpp_target.real_binary import needs_real_vpp

pytestmark = pytest.mark.realvpp

SCRIPT = Path(__file__).with_name("node_script.py")


# Beyond the node script's own 400 s limit, which reports its stderr.
@pytest.mark.timeout(420)
@needs_real_vpp
def test_a_real_node_forwards_pod_traffic_and_survives_restarts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    report = run_node_script(SCRIPT, sandbox, tmp_path, pods=2)
    assert report["ping_a_b"] == 3, report
    custom_a, custom_b = report["custom_ips"]
    assert f"inet {custom_a}/32" in report["custom_links"][0], report
    assert f"inet {custom_b}/32" in report["custom_links"][1], report
    assert report["ping_custom_a_b"] == 3, report
    assert report["ping_b_a"] == 3, report
    assert report["ping_host_b"] == 3, report
    assert report["ping_a_host"] == 3, report
    sent, received = report["restart_ping"]
    assert received == sent, f"pings lost across the agent's SIGKILL: {report}"
    assert report["restart_writes"] == 0, report
    assert report["restart_vpp_unchanged"], report
    assert report["after_vpp_restart_ping_b_a"] == 3, report
    assert report["after_vpp_restart_ping_host_b"] == 3, report
    assert report["not_configured"] == [], report
