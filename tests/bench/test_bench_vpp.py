"""Smoke test of ``contivpy bench vpp``: the quick run in a subprocess, as a user runs it.

In: nothing. Out: the JSON lines hold every metric of the suite exactly once, with a finite
numeric value, the restarted agent wrote nothing to VPP, and the run exited 0. Also: the
simulator check notices a VPP that does not hold the benchmark state, and the recording
channel keeps calls in sending order with their fields (a broken run must fail).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.quick_run import run_quick
from contivpy.bench.call_recorder import RecordedCall, RecordingChannel
from contivpy.bench.papi_replay import mapped_fields
from contivpy.bench.verify import Problems
from contivpy.bench.vpp_scenarios import check_simulator
from contivpy.sim.vpp.control import state_summary
from contivpy.sim.vpp.state import VppState
from contivpy.vppcalls.message import Message

METRICS = (
    "create_1000_s",
    "pipelined_calls_per_s",
    "sequential_calls_per_s",
    "pipelined_speedup",
    "sim_msgs_per_s",
    "vpp_restart_writes",
    "peak_rss_mb",
)


def test_quick_bench_emits_every_metric_once() -> None:
    by_name = run_quick("vpp", METRICS, timeout=15)
    assert by_name["vpp_restart_writes"]["value"] == 0
    assert by_name["vpp_restart_writes"]["pass"] is True
    assert by_name["pipelined_speedup"]["target"] == ">= 5 x"


REAL_METRICS = (
    *METRICS,
    "route_create_1000_s",
    "route_pipelined_calls_per_s",
    "route_sequential_calls_per_s",
    "route_pipelined_speedup",
)


def test_the_real_vpp_suite_runs_against_any_vpp_socket(tmp_path: Path) -> None:
    # A simulator process stands in for the running VPP: the suite drives it only through
    # the API socket, as it drives a real one.
    socket = tmp_path / "api.sock"
    sim = subprocess.Popen(
        [sys.executable, "-m", "contivpy.cli", "vppsim", "--socket", str(socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            if socket.exists():
                break
            time.sleep(0.02)
        by_name = run_quick("vpp", REAL_METRICS, timeout=15, extra=("--vpp-socket", str(socket)))
    finally:
        sim.terminate()
        sim.wait(10)
    assert by_name["vpp_restart_writes"]["value"] == 0
    assert by_name["route_pipelined_speedup"]["target"] == ">= 5 x"


def test_a_replay_maps_recorded_interface_indexes_to_the_new_ones() -> None:
    fields = {
        "sw_if_index": 5,
        "route": {"paths": [{"sw_if_index": 5, "table_id": 0}, {"sw_if_index": 4294967295}]},
        "bd_id": 5,
    }
    assert mapped_fields(fields, {"sw_if_index": {5: 9}, "bd_id": {5: 7}}) == {
        "sw_if_index": 9,
        "route": {"paths": [{"sw_if_index": 9, "table_id": 0}, {"sw_if_index": 4294967295}]},
        "bd_id": 7,
    }


def test_the_check_flags_a_vpp_without_the_benchmark_state() -> None:
    problems = Problems()
    check_simulator("empty VPP", state_summary(VppState()), 3, problems)
    assert problems.items == ["empty VPP: 0 tagged interfaces in VPP, not 3"]


class _Answering:
    """A channel that answers every request at once (and shows no field to it twice)."""

    async def call(self, name: str, fields: object = None) -> Message:
        return Message(name + "_reply", {"retval": 0})

    async def dump(self, name: str, fields: object = None) -> list[Message]:
        return []


async def test_the_recording_channel_keeps_calls_in_order_as_independent_copies() -> None:
    channel = RecordingChannel(_Answering())
    prefix = {"address": {"af": 0}, "len": 32}
    await channel.call("sw_interface_add_del_address", {"sw_if_index": 3, "prefix": prefix})
    await channel.dump("sw_interface_dump", {"sw_if_index": 3})
    recorded = channel.recorded()
    prefix["len"] = 24  # the caller's dict, reused later: the recording must not follow it
    assert recorded == [
        RecordedCall(
            "sw_interface_add_del_address",
            {"sw_if_index": 3, "prefix": {"address": {"af": 0}, "len": 32}},
            dump=False,
        ),
        RecordedCall("sw_interface_dump", {"sw_if_index": 3}, dump=True),
    ]
    assert (channel.total, channel.writes) == (2, 1)
