"""``contivpy demo --vpp BINARY`` as a user runs it: two nodes on real VPPs, each in its own
network namespace, pods in real namespaces, and real pings between them on one node and across
nodes (VXLAN between the two VPPs). Afterwards no namespace or link of the demo is left.
Skips, naming what is missing, without a VPP binary (``CONTIVPY_VPP_BINARY``) or root."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vpp_target.real_binary import needs_real_vpp, vpp_binary

pytestmark = pytest.mark.realvpp

CONTIVPY = shutil.which("contivpy") or str(Path(sys.executable).with_name("contivpy"))


def _ours() -> set[str]:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found = set(re.findall(r"\b(cv[nu]\d*-[0-9a-f]{5})\b", namespaces))
    return found | set(re.findall(r"\b(cvm\d*-[0-9a-f]{5})\b", links))


# Beyond the demo command's own 300 s limit, which reports its output.
@pytest.mark.timeout(320)
@needs_real_vpp
def test_the_demo_on_real_vpps_pings_pod_to_pod_across_nodes(tmp_path: Path) -> None:
    before = _ours()
    done = subprocess.run(
        [CONTIVPY, "demo", "--vpp", str(vpp_binary()), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "OK: 4 pods networked on real VPPs" in out
    across = re.findall(r"== real ping across nodes: .*\n  3 packets transmitted, 3 received", out)
    local = re.findall(r"== real ping on one node: .*\n  3 packets transmitted, 3 received", out)
    assert (len(across), len(local)) == (2, 2), out
    # both VPPs hold the VXLAN tunnel to the other and the pods' af_packets
    assert out.count("(vxlan-default-") == 2
    assert out.count("(afpacket-vpp2)") == 2
    assert "fork_posix" not in done.stderr + out
    assert _ours() == before, "the demo left namespaces or links behind"
