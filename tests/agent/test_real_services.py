"""A Service and a NetworkPolicy on a real node (``services_node_script.py``): real HTTP
through a real VPP's NAT44-ED to the ClusterIP from two pods, from the backend itself (a
hairpin); a policy admitting only ``role=frontend``: the client's request
fails and the frontend's succeeds; an agent killed and restarted writes nothing; after a VPP
restart the service and the policy are back. Skips, naming what is missing, where no VPP
binary is configured (``CONTIVPY_VPP_BINARY``) or the machine cannot make network
namespaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.real_node_run import run_node_script
from linux.support import Sandbox
from vpp_target.real_binary import needs_real_vpp

pytestmark = pytest.mark.realvpp

SCRIPT = Path(__file__).with_name("services_node_script.py")


@pytest.mark.timeout(420)
@needs_real_vpp
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_a_real_node_serves_a_service_and_enforces_a_policy(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    report = run_node_script(SCRIPT, sandbox, tmp_path, pods=3)
    assert report["direct"] == "200", report
    assert report["client"] == "200", report
    assert report["frontend"] == "200", report
    assert report["hairpin"] == "200", report
    assert report["policy_client"] == "000", report
    assert report["policy_frontend"] == "200", report
    assert report["policy_hairpin"] == "200", report
    assert report["restart_writes"] == 0, report
    assert report["restart_frontend"] == "200", report
    assert report["restart_client"] == "000", report
    assert report["vpp_restart_frontend"] == "200", report
    assert report["vpp_restart_client"] == "000", report
    assert report["not_configured"] == [], report
