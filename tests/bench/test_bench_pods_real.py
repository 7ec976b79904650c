"""``contivpy bench pods --vpp-socket`` on a real VPP, as a user runs it: the installed
``contivpy`` entry point, quick mode (5 real pods, each ADD and DEL an exec'd ``contivpy
cni``), JSON lines.

Needs ``CONTIVPY_VPP_SOCKET`` (``make test-vpp``: a real VPP running in this network
namespace) and root; skips naming what is missing. Asserts: the run exits 0 (every ADD gave
its own IP, VPP held an admin-up af_packet per pod, each pod's eth0 its IP, an echo crossed
VPP, the DELs left nothing), every metric of the real run appears once with a finite value
and no other, and the run left no namespace and no link behind here. Also, without a VPP:
the southbound split of an ADD's transaction into VPP calls, netlink and neither.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from contivpy.bench.add_breakdown import southbound_parts
from contivpy.scheduler.api import OpKind, OpRecord, TxnKind, TxnRecord
from linux.support import NETNS_UNAVAILABLE, ip
from vpp_target.target import SOCKET_VARIABLE, real_socket

pytestmark = pytest.mark.realvpp

METRICS = {
    "cni_exec_add_p50_ms": "<= 60 ms",
    "cni_exec_add_p99_ms": "<= 120 ms",
    "cni_exec_start_p50_ms": None,
    "cni_exec_add_cpu_ms": None,
    "cni_exec_add_to_loop_p50_ms": None,
    "cni_exec_add_controllers_p50_ms": None,
    "cni_exec_add_southbound_p50_ms": None,
    "cni_exec_add_reply_p50_ms": None,
    "cni_exec_add_southbound_vpp_p50_ms": None,
    "cni_exec_add_southbound_netlink_p50_ms": None,
    "cni_exec_add_southbound_other_p50_ms": None,
}


def _missing() -> str:
    if not real_socket():
        return f"needs a real VPP: set {SOCKET_VARIABLE} to one running in this network namespace"
    return NETNS_UNAVAILABLE


def _links() -> set[str]:
    return {line.split(": ")[1].split("@")[0] for line in ip("-o", "link").splitlines()}


@pytest.mark.timeout(300)
@pytest.mark.skipif(bool(_missing()), reason=_missing() or "-")
def test_the_quick_real_pods_bench_measures_every_part_and_leaves_nothing() -> None:
    namespaces, links = set(ip("netns", "list").split()), _links()
    contivpy = Path(sys.executable).parent / "contivpy"
    done = subprocess.run(
        [
            str(contivpy),
            "--log-level",
            "warning",
            "bench",
            "pods",
            "--vpp-socket",
            str(real_socket()),
            "--quick",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert sorted(line["metric"] for line in lines) == sorted(METRICS)
    for line in lines:
        assert line["bench"] == "pods"
        assert line["target"] == METRICS[line["metric"]], line
        assert isinstance(line["value"], float), line
        assert math.isfinite(line["value"]), line
        assert line["value"] >= 0, line
    assert set(ip("netns", "list").split()) == namespaces
    assert _links() == links


def _op(key: str, started: float, duration: float, **flags: bool) -> OpRecord:
    return OpRecord(key, OpKind.CREATE, started=started, duration=duration, **flags)


def test_a_transaction_splits_into_vpp_calls_netlink_and_neither() -> None:
    ops = (
        _op("config/vpp/v2/interfaces/afpacket-1", 0.010, 0.030),  # 10..40 ms
        _op("config/vpp/v2/route/vrf/1/dst/10.1.1.2/32/gw/", 0.020, 0.030),  # 20..50 ms
        _op("config/linux/interfaces/v2/interface/veth1-1", 0.000, 0.015),  # 0..15 ms
        _op("linux/interface/veth1-1/address/10.1.1.2/32", 0.060, 0.010),  # 60..70 ms
        _op("vpp/interface/afpacket-1/vrf/from-interface", 0.070, 0.0, property=True),
        _op("config/vpp/v2/arp/afpacket-1/10.1.1.2", 0.080, 0.050, skipped=True),
    )
    record = TxnRecord(1, TxnKind.NB_CHANGE, "AddPod", 0.0, 0.100, (), ops, ops, ())
    parts = southbound_parts(record)
    assert round(parts.vpp * 1000) == 40  # 10..50: two calls overlapping, counted once
    assert round(parts.netlink * 1000) == 25  # 0..15 and 60..70
    assert round(parts.idle * 1000) == 40  # 100 ms less 0..50 and 60..70
    assert parts.total == 0.100
