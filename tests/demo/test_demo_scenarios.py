"""`contivpy demo --scenario multi-if | sfc-linux | sfc-vpp | sfc-external`, run as a user
types them (the installed entry point): multi-interface pods, a memif CNF whose own VPP is
configured by `contivpy cnf`'s agent, and seed 000's three service function chains rendered
by the vswitch and walked through (on one node, and across two with VXLAN hops)."""

from __future__ import annotations

import itertools
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


def _xconnects(out: str, node: str) -> dict[str, str]:
    """interface -> the interface it is cross-connected to, in a node's show interface addr."""
    view = out.split(f"== {node}: vpp# show interface addr")[-1].split("\n== ")[0]
    found, current = {}, ""
    for line in view.splitlines():
        if line and not line.startswith(" "):
            current = line.split()[0]
        elif "L2 xconnect" in line:
            found[current] = line.split()[-1]
    return found


def _hops(walk: str) -> list[list[str]]:
    return [line.split()[1:3] for line in walk.splitlines() if re.match(r"\s*\d+ ", line)]


def test_sfc_vpp_scenario_walks_arp_from_cnf1_through_cnf2_to_cnf3() -> None:
    proc = run("--scenario", "sfc-vpp")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "contivpy demo: 1 nodes" in out
    assert "servicefunctionchain.contivpp.io/vpp-chain -n default created" in out
    assert "customconfiguration.contivpp.io/vpp-cnf2-xconnect -n default created" in out
    path = "pod default/vpp-cnf1 on node-1 -> pod default/vpp-cnf2 on node-1 -> pod "
    assert f"== servicefunctionchain default/vpp-chain: {path}default/vpp-cnf3 on node-1" in out
    # seed 000: four memifs cross-connected pairwise, each way
    xconnects = _xconnects(out, "node-1")
    assert len(xconnects) == 4
    assert all(xconnects[peer] == memif for memif, peer in xconnects.items())
    assert all(name.startswith("memif") for name in xconnects)
    walk = out.split("== packet walk: vpp-cnf1 -> 1.2.3.5")[1]
    crossings = [node for node, kind in _hops(walk) if kind == "memif"]
    assert crossings == ["vpp-cnf1", "node-1", "vpp-cnf2", "node-1"]
    assert "DROPPED at vpp-cnf3 (nothing answers ARP for 1.2.3.5" in walk
    assert out.rstrip().endswith("OK: 3 pods networked in " + out.rstrip().split(" in ")[-1])


def test_sfc_vpp_scenario_on_two_nodes_crosses_vxlan_hops() -> None:
    proc = run("--scenario", "sfc-vpp", "--nodes", "2")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    chain = out.split("== servicefunctionchain default/vpp-chain: ")[1].splitlines()[0]
    nodes = re.findall(r"on (node-\d)", chain)
    assert len(nodes) == 3, chain
    assert len(set(nodes)) == 2, chain
    hops = sum(a != b for a, b in itertools.pairwise(nodes))
    tunnels = [
        name
        for node in ("node-1", "node-2")
        for name, peer in _xconnects(out, node).items()
        if name.startswith("vxlan_tunnel")
    ]
    assert len(tunnels) == 2 * hops  # a tunnel on each end of every hop
    walk = out.split("== packet walk: vpp-cnf1 -> 1.2.3.5")[1]
    assert "vxlan" in walk
    assert "DROPPED at vpp-cnf3 (nothing answers ARP for 1.2.3.5" in walk


def test_sfc_linux_scenario_cross_connects_the_taps_and_delivers_arp_to_cnf2() -> None:
    proc = run("--scenario", "sfc-linux")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "servicefunctionchain.contivpp.io/linux-chain -n default created" in out
    xconnects = _xconnects(out, "node-1")
    assert len(xconnects) == 2
    (a, b) = sorted(xconnects)
    assert a.startswith("tap")
    assert xconnects[a] == b
    assert xconnects[b] == a
    walk = out.split("== packet walk: linux-cnf1 tap1 -> 1.2.3.5")[1].split("\n\n")[0]
    assert "DELIVERED at node-1" in walk
    assert "linux-cnf2" in walk or "tap1" in walk


def test_sfc_external_scenario_joins_two_vlans_through_the_cnf() -> None:
    proc = run("--scenario", "sfc-external")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "externalinterface.contivpp.io/vlan-200 -n default created" in out
    xconnects = _xconnects(out, "node-1")
    # seed 000: GigabitEthernet0/a/0.200 <-> memif, .300 <-> the other memif
    assert xconnects["GigabitEthernet0/a/0.200"].startswith("memif")
    assert xconnects["GigabitEthernet0/a/0.300"].startswith("memif")
    assert xconnects["GigabitEthernet0/a/0.200"] != xconnects["GigabitEthernet0/a/0.300"]
    assert "GigabitEthernet0/a/0 (up):" in out
    walk = out.split("== packet walk: a frame on GigabitEthernet0/a/0 VLAN 200")[1]
    assert "vpp-cnf" in walk
    assert "300" in walk


def test_an_unknown_scenario_is_a_usage_error() -> None:
    proc = run("--scenario", "warp")
    assert proc.returncode == 2
    assert "invalid choice: 'warp'" in proc.stderr
