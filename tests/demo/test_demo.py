"""`contivpy demo` end to end: etcd, the stand-in, the reflector, two agents on simulated VPPs,
the real CNI plugin; every example pod networked and reachable across nodes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_networks_the_examples_and_walks_deliver(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "contivpy.cli", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "OK: 4 pods networked" in out
    assert out.count("DELIVERED at node-") == 2
    assert "== packet walk across nodes" in out
    assert "vxlan_tunnel0 (vxlan-default-2) vni 10" in out
    # Pods got addresses of their node's slice: node 1 -> 10.1.1.x, node 2 -> 10.1.2.x.
    table = out.split("== pods")[1].split("== packet walk")[0]
    for line in table.splitlines()[2:]:
        if "node-1" in line:
            assert " 10.1.1." in line
        if "node-2" in line:
            assert " 10.1.2." in line
    assert "Traceback" not in proc.stderr
    # The CNI plugins are forked while etcd's gRPC threads run: gRPC's fork handlers are off,
    # so it prints no "Other threads are currently calling into gRPC, skipping fork()
    # handlers" (contivpy.store.etcd).
    assert "fork" not in proc.stderr
