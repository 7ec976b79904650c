"""Smoke test of ``contivpy bench sfc``: the quick run (10 chains of 3 CNF pods on 2 nodes, 5
re-routes) in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value and its target, the restarted agents wrote nothing to VPP, and the run exited 0
(which means both VPPs held exactly the expected cross-connects and SFC tunnels after the
render, after every re-route and after the restarts). Also: the placement covers chains on
one node and across both, and the end-state check the suite relies on names what differs.
"""

from __future__ import annotations

import pytest

from bench.quick_run import run_quick
from contivpy.bench.sfc_expect import NodeView, Tunnel, expected, mismatches, tunnel_name
from contivpy.bench.sfc_workload import placements

METRICS = {
    "sfc_render_100_s": "<= 2 s",
    "sfc_reroute_p50_ms": None,
    "sfc_reroute_p99_ms": "<= 100 ms",
    "sfc_restart_vpp_writes": "== 0 writes",
    "peak_rss_mb": None,
}
NODES = ("node-a", "node-b")
ADDRESSES = {"node-a": "192.168.16.1", "node-b": "192.168.16.2"}


# about 4 s alone (two simulators, two agents, etcd); 10x for a busy 2-core machine
@pytest.mark.timeout(45)
def test_quick_bench_emits_every_metric_once() -> None:
    by_name = run_quick("sfc", METRICS, timeout=40, log_level="error")
    for name, target in METRICS.items():
        assert by_name[name]["target"] == target, (name, by_name[name]["target"])
    assert by_name["sfc_restart_vpp_writes"]["value"] == 0
    assert by_name["sfc_restart_vpp_writes"]["pass"] is True
    # the quick run's reduced size, under the full-size name
    assert str(by_name["sfc_render_100_s"]["detail"]).startswith("10 chains of 3 CNF pods")


def test_the_placement_puts_chains_on_one_node_and_across_both() -> None:
    chains = placements(8)
    shapes = {tuple(pod.node for pod in pods) for pods in chains.values()}
    assert len(shapes) == 8  # every way to put three pods on two nodes
    names = [pod.name for pods in chains.values() for pod in pods]
    assert len(set(names)) == len(names)


def held(want: list[NodeView], vnis: dict[str, int]) -> list[NodeView]:
    """What VPPs holding exactly ``want`` report, with these VNIs."""
    views = []
    for node, view in zip(NODES, want, strict=True):
        tunnels = {
            name: Tunnel(ADDRESSES[node], ADDRESSES[peer], vnis[name], 0)
            for name, peer in view.peers.items()
        }
        views.append(NodeView(dict(view.xconnects), tunnels))
    return views


def test_the_end_state_check_accepts_exactly_the_expected_state_and_names_differences() -> None:
    chains = {2: placements(3)[2]}  # first on node-a, middle on node-b, last on node-a
    want = expected(chains, NODES)
    first, middle, last = chains[2]
    hop0, hop1 = tunnel_name(2, 0), tunnel_name(2, 1)
    assert want[0].xconnects == {
        first.vpp_tap("tap1"): hop0,
        hop0: first.vpp_tap("tap1"),
        last.vpp_tap("tap1"): hop1,
        hop1: last.vpp_tap("tap1"),
    }
    assert want[1].xconnects == {
        hop0: middle.vpp_tap("in1"),
        middle.vpp_tap("in1"): hop0,
        middle.vpp_tap("out1"): hop1,
        hop1: middle.vpp_tap("out1"),
    }
    good = held(want, {hop0: 5000, hop1: 5001})
    assert mismatches(want, good, NODES, ADDRESSES) == []

    reused = held(want, {hop0: 5000, hop1: 5000})
    assert any("VNIs used by two tunnels" in m for m in mismatches(want, reused, NODES, ADDRESSES))
    one_way = held(want, {hop0: 5000, hop1: 5001})
    del one_way[1].xconnects[hop1]
    found = mismatches(want, one_way, NODES, ADDRESSES)
    assert found == [f"node-b: cross-connects missing: 1, e.g. {[hop1]}"]
    disagree = held(want, {hop0: 5000, hop1: 5001})
    disagree[1].tunnels[hop0] = Tunnel(ADDRESSES["node-b"], ADDRESSES["node-a"], 5002, 0)
    found = mismatches(want, disagree, NODES, ADDRESSES)
    assert found == [f"1 tunnels have another VNI on each node, e.g. {[hop0]}"]
    swapped = held(want, {hop0: 5000, hop1: 5001})
    swapped[0].tunnels[hop0] = Tunnel(ADDRESSES["node-b"], ADDRESSES["node-a"], 5000, 0)
    assert (
        "node-a: SFC tunnels (src, dst, vrf) wrong"
        in mismatches(want, swapped, NODES, ADDRESSES)[0]
    )
