"""Running a real-node script (``node_script.py``, ``services_node_script.py``) the way the
real-node tests do: in a network namespace of its own standing for the node, with one more
namespace per pod, and its report (the JSON object it prints last) back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from linux.support import Sandbox, ip
from vpp_target.real_binary import vpp_binary


def run_node_script(script: Path, sandbox: Sandbox, work: Path, pods: int) -> dict[str, Any]:
    """Run ``script`` with the VPP binary, ``work`` and ``pods`` new pod namespaces; its
    report (the test fails with the script's stderr if it did)."""
    node_ns, *pod_ns = [sandbox.netns_name() for _ in range(1 + pods)]
    for name in (node_ns, *pod_ns):
        ip("netns", "add", name)
    command = ["ip", "netns", "exec", node_ns, sys.executable, str(script)]
    command += [str(vpp_binary()), str(work), *pod_ns]
    # 400 s: within the tests' own limit (420 s), so a script that hangs is reported here
    done = subprocess.run(command, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(report, indent=1))
    return report
