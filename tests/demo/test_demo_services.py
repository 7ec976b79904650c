"""`contivpy demo --scenario services`, run as README.md gives it (the installed entry point):
a NodePort Service with three backends on two nodes rendered by both node agents into NAT44-ED,
walks to the ClusterIP and to a NodePort that land on backends after the DNAT hop, then a
NetworkPolicy admitting only ``role=frontend``: the other client's walk is dropped at the
backend's ACL, the frontend's is delivered. And the scenario fails when a walk does not end
as expected (the frontend without its label)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from demo.demo_run import EXAMPLES, check_doc_commands
from demo.demo_run import run as run_demo

pytestmark = pytest.mark.timeout(240)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_demo(*args, timeout=200)


def walk(out: str, title: str) -> str:
    """The walk whose heading ends with ``title``: its lines up to the next blank line."""
    part = out.split("== packet walk: ")
    found = [p for p in part[1:] if p.splitlines()[0].endswith(title)]
    assert len(found) == 1, f"no single walk titled {title!r} in:\n{out}"
    return found[0].split("\n\n")[0]


def test_services_scenario_lands_on_backends_and_the_policy_admits_only_the_frontend() -> None:
    proc = run("--scenario", "services")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "service/web -n shop created" in out
    assert "networkpolicy.networking.k8s.io/web-from-frontend -n shop created" in out
    assert "OK: 5 pods networked" in out
    pods = dict(re.findall(r"^shop/(\S+)\s+node-\d\s+(\S+)\s+vpp-tap-", out, re.M))
    tags = dict(re.findall(r"^shop/(\S+)\s+node-\d\s+\S+\s+(vpp-tap-\S+)", out, re.M))
    backends = {f"{pods[n]}:8080" for n in ("web-1", "web-2", "web-3")}
    backend_tags = {tags[n] for n in ("web-1", "web-2", "web-3")}

    # both nodes hold the ClusterIP mapping and a NodePort mapping per node IP, all backends
    for node in ("node-1", "node-2"):
        block = out.split(f"== {node}: NAT44-ED load-balanced static mappings of shop/web")[1]
        lines = block.split("\n==")[0].strip().splitlines()
        cluster = [line for line in lines if ":80/tcp" in line]
        nodeports = [line for line in lines if ":30080/tcp" in line]
        assert len(cluster) == 1, block
        assert len(nodeports) >= 2, block
        for line in cluster + nodeports:
            assert set(re.findall(r"(\d+\.\d+\.\d+\.\d+:8080)", line)) == backends, line

    cluster_walk = walk(out, ":80/tcp")
    dnat = re.search(r"nat44-out2in on .*: dst (\S+):80 -> (\S+) \(session new\)", cluster_walk)
    assert dnat is not None, cluster_walk
    assert dnat.group(2) in backends
    delivered = re.search(r"DELIVERED at node-\d: \S+ \((\S+)\)", cluster_walk)
    assert delivered is not None, cluster_walk
    assert delivered.group(1) in backend_tags, cluster_walk
    backend_ip = dnat.group(2).split(":")[0]
    assert f"to {backend_ip}" in cluster_walk

    nodeport_walk = walk(out, ":30080/tcp")
    assert re.search(r"nat44-out2in on loop0 \(loopbackNIC\): dst \S+:30080 -> ", nodeport_walk)
    assert "twice-NAT" in nodeport_walk
    assert re.search(r"DELIVERED at node-\d: \S+ \(vpp-tap-", nodeport_walk)

    denied = walk(out, "(expected: dropped at the ACL)")
    assert "nat44-out2in" in denied  # the DNAT happens first, the ACL sees the backend
    assert re.search(r"DROPPED at node-\d \(\S+ \(vpp-tap-\S+\): denied by output ACL ", denied)
    admitted = walk(out, "(expected: delivered)")
    assert admitted.splitlines()[0].startswith("shop/frontend ")
    assert re.search(r"DELIVERED at node-\d: \S+ \((vpp-tap-\S+)\)", admitted)


def test_services_scenario_fails_when_the_frontend_is_not_admitted(tmp_path: Path) -> None:
    manifest = (EXAMPLES / "services.yaml").read_text()
    unlabelled = manifest.replace("labels: {role: frontend}", "labels: {role: other}")
    assert unlabelled != manifest
    (tmp_path / "services.yaml").write_text(unlabelled)
    proc = run("--scenario", "services", "-f", str(tmp_path / "services.yaml"))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    admitted = walk(out, "(expected: delivered)")
    assert "denied by output ACL" in admitted
    assert out.rstrip().splitlines()[-1].startswith("FAILED: 5 pods networked")


def test_the_services_doc_commands_run_as_written() -> None:
    check_doc_commands(EXAMPLES.parent / "docs" / "SERVICES.md", timeout=200)
