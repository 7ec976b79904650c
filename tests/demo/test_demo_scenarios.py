"""`contivpy demo --scenario multi-if | sfc-linux | sfc-vpp | sfc-external | custom-network`,
run as a user types them (the installed entry point): multi-interface pods, a memif CNF whose
own VPP is configured by `contivpy cnf`'s agent, seed 000's three service function chains
rendered by the vswitch and walked through (on one node, and across two with VXLAN hops), and
two pods in an L3 CustomNetwork reaching each other in its VRF and not from the default
network."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from demo.demo_run import EXAMPLES, check_doc_commands, run


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


def _blocks(out: str, node: str, network: str) -> dict[str, tuple[str, list[str]]]:
    """tag -> (VPP's name, lines) in the scenario's show interface addr of a network."""
    view = out.split(f"== {node}: vpp# show interface addr ({network}'s interfaces)")[1]
    found: dict[str, tuple[str, list[str]]] = {}
    lines: list[str] = []
    for line in view.split("\n\n")[0].strip().splitlines():
        if not line.startswith(" "):
            lines = []
            found[line.split("# ")[1]] = (line.split()[0], lines)
        else:
            lines.append(line.strip())
    return found


def test_custom_network_scenario_reaches_the_other_pod_in_its_vrf_and_not_from_eth0() -> None:
    proc = run("--scenario", "custom-network")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "contivpy demo: 2 nodes" in out
    assert "customnetwork.contivpp.io/net1 -n default created" in out
    assert "OK: 2 pods networked" in out
    # both agents hold net1 with one VRF (from the vrf pool) and one VNI (from the vni pool)
    network = out.split("== customnetwork net1: L3 10.200.0.0/16, a /24 per node")[1]
    sides = re.findall(
        r"(node-\d) \(ID (\d)\): VRF (\d+), slice (\S+), gateway (\S+) on podGwLoop-net1",
        network.split("\n\n")[0],
    )
    assert [(s[0], s[3], s[4]) for s in sides] == [
        ("node-1", "10.200.1.0/24", "10.200.1.1"),
        ("node-2", "10.200.2.0/24", "10.200.2.1"),
    ]
    vrf = {s[2] for s in sides}.pop()
    assert int(vrf) >= 10
    vnis = set(re.findall(r"vxlan-net1-\d to node-\d: VNI (\d+)", network.split("\n\n")[0]))
    assert len(vnis) == 1
    vni = vnis.pop()
    assert int(vni) >= 5000
    # the pods' net1 taps: one per node, an IP of that node's slice
    table = out.split("== interfaces in net1")[1].split("\n\n")[0].strip().splitlines()[1:]
    rows = {row.split()[0]: row.split() for row in table}
    assert rows["default/net-pod-a"][2] == "node-1"
    assert rows["default/net-pod-b"][2] == "node-2"
    assert re.fullmatch(r"10\.200\.1\.\d+", rows["default/net-pod-a"][3])
    ip_b = rows["default/net-pod-b"][3]
    assert re.fullmatch(r"10\.200\.2\.\d+", ip_b)
    # VPP: gateway loopback, BVI and the pod's tap in net1's VRF on each node
    for number, row in ((1, rows["default/net-pod-a"]), (2, rows["default/net-pod-b"])):
        blocks = _blocks(out, f"node-{number}", "net1")
        loop, loop_lines = blocks["podGwLoop-net1"]
        assert loop_lines == [f"L3 10.200.{number}.1/24 ip4 table-id {vrf}"]
        _, bvi_lines = blocks["vxlanBVI-net1"]
        assert bvi_lines[0].endswith(" bvi")
        assert bvi_lines[1].endswith(f" ip4 table-id {vrf}")
        _, tap_lines = blocks[row[4]]
        assert tap_lines[0] == f"unnumbered, use {loop}"
        other = 3 - number
        _, tunnel_lines = blocks[f"vxlan-net1-{other}"]
        assert tunnel_lines[0].startswith("L2 bridge")
        assert tunnel_lines[0].endswith(" shg 1")
    # a's net1 reaches b's net1 on node-2 over vxlanBVI-net1 and net1's VNI ...
    walk = out.split("== packet walk: default/net-pod-a net1 ")[1].split("\n\n")[0]
    assert f"table {vrf}: {ip_b} matches 10.200.2.0/24" in walk
    assert "(vxlanBVI-net1)" in walk
    assert f"vni {vni} " in walk
    assert walk.strip().splitlines()[-1].startswith("DELIVERED at node-2: ")
    assert rows["default/net-pod-b"][4] in walk.strip().splitlines()[-1]
    # ... and a's eth0, in the default network, does not
    walk = out.split("== packet walk: default/net-pod-a eth0 ")[1].split("\n\n")[0]
    assert f"-> default/net-pod-b net1 {ip_b} (expected: not delivered)" in walk
    assert walk.strip().splitlines()[-1].startswith("DROPPED at node-1")


def test_custom_network_scenario_fails_when_net1_is_no_l3_network(tmp_path: Path) -> None:
    manifest = (EXAMPLES / "custom-network.yaml").read_text()
    l2 = manifest.replace("type: L3", "type: L2").replace("  subnetCIDR: 10.200.0.0/16\n", "")
    l2 = l2.replace("  subnetOneNodePrefixLen: 24\n", "")
    assert "type: L2" in l2
    assert "subnetCIDR" not in l2
    (tmp_path / "l2.yaml").write_text(l2)
    proc = run("--scenario", "custom-network", "-f", str(tmp_path / "l2.yaml"))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "node-1: no L3 network net1 (it is L2)" in out
    assert "fewer than two pods have an address in net1" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED: 2 pods networked")


def test_the_custom_network_doc_commands_run_as_written() -> None:
    check_doc_commands(EXAMPLES.parent / "docs" / "CUSTOM_NETWORKS.md")


def test_an_unknown_scenario_is_a_usage_error() -> None:
    proc = run("--scenario", "warp")
    assert proc.returncode == 2
    assert "invalid choice: 'warp'" in proc.stderr
