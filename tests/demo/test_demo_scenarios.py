"""`contivpy demo --scenario multi-if` and `--scenario cnf-vpp`, run as a user types them
(the installed entry point): multi-interface pods, a memif CNF whose own VPP is configured by
`contivpy cnf`'s agent, and seed 000's chain of three VPP CNFs walked through."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CONTIVPY = str(Path(sys.executable).with_name("contivpy"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The command exactly as README.md gives it."""
    return subprocess.run(
        [CONTIVPY, "demo", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_multi_if_scenario_wires_custom_interfaces_and_a_memif_cnf() -> None:
    proc = run("--scenario", "multi-if")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "OK: 3 pods networked" in out
    assert "Traceback" not in proc.stderr
    assert "warning" not in out
    # multi-if-pod's tap1 and veth1 each have an IP of the node's pod subnet
    table = out.split("== custom interfaces")[1].split("== packet walk")[0]
    rows = {line.split()[1]: line.split() for line in table.splitlines()[1:] if line.strip()}
    assert rows["tap1"][2] == "tap/default"
    assert rows["veth1"][2] == "veth/default"
    assert re.fullmatch(r"10\.1\.\d+\.\d+", rows["tap1"][3])
    assert rows["memif1"][2] == "memif/default"
    # walks to both custom interfaces are delivered there
    assert re.search(r"DELIVERED at node-\d: tap\d+ \(vpp-tap-tap1-", out)
    assert re.search(r"DELIVERED at node-\d: host-\w+ \(afpacket-veth1-", out)
    # the CNF's own VPP: its memif slave is connected to the vswitch's master
    cnf = out.split("== vnf-pod: vpp# show memif")[1].split("== pods")[0]
    assert "slave connected" in cnf
    assert "remote-interface" in cnf
    walk = out.split("== packet walk: CNF vnf-pod")[1]
    assert " memif  memif0/1 (memif1) -> node-" in walk
    assert "DELIVERED at node-" in walk.split("\n\n")[0]


def test_cnf_vpp_scenario_walks_arp_from_cnf1_through_cnf2_to_cnf3() -> None:
    proc = run("--scenario", "cnf-vpp")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "contivpy demo: 1 nodes" in out
    assert "customconfiguration.contivpp.io/vpp-cnf2-xconnect -n default created" in out
    for name in ("vpp-cnf1", "vpp-cnf2", "vpp-cnf3"):
        assert f"== {name}: vpp# show memif" in out
    walk = out.split("== packet walk: vpp-cnf1 -> 1.2.3.5")[1]
    hops = [line.split()[1:3] for line in walk.splitlines() if re.match(r"\s*\d+ ", line)]
    crossings = [node for node, kind in hops if kind == "memif"]
    assert crossings == ["vpp-cnf1", "node-1", "vpp-cnf2", "node-1"]
    assert "DROPPED at vpp-cnf3 (nothing answers ARP for 1.2.3.5" in walk
    assert out.rstrip().endswith("OK: 3 pods networked in " + out.rstrip().split(" in ")[-1])


def test_an_unknown_scenario_is_a_usage_error() -> None:
    proc = run("--scenario", "warp")
    assert proc.returncode == 2
    assert "invalid choice: 'warp'" in proc.stderr
