"""Replaying recorded VPP API calls one at a time with vpp_papi's own synchronous client.

In: a simulator's API socket and the calls a pipelined run made (:class:`RecordedCall`, in
sending order). Out: :class:`ReplayRun`: seconds for all calls, and the calls VPP refused
(non-zero retval). The client is vpp_papi's unmodified ``VPPApiClient`` loaded with our
message definitions (``apifiles``: vpp_papi's memclnt plus contivpy's ``definitions/``), as
``tests/vpp/test_papi_interop.py`` does: each call sends one request (a dump also its
control_ping) and blocks until the answer, the classic way of driving VPP from Python.

Blocking: :func:`replay` must run off the event loop (``asyncio.to_thread``). Only the loop
of calls is timed; connecting, loading definitions and building the argument lists are not.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from vpp_papi import VPPApiClient

from contivpy.bench.call_recorder import RecordedCall

_READ_TIMEOUT = 10


def api_files() -> list[str]:
    """vpp_papi's memclnt definitions plus contivpy's own, as paths."""
    memclnt = resources.files("vpp_papi.data").joinpath("memclnt.api.json")
    own = resources.files("contivpy.vppcalls").joinpath("definitions")
    return [str(memclnt), *sorted(str(p) for p in own.iterdir() if p.name.endswith(".api.json"))]


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """Seconds for the calls, and the ones VPP refused (``name: retval``)."""

    seconds: float
    calls: int
    refused: list[str]


def replay(socket_path: str, calls: Sequence[RecordedCall]) -> ReplayRun:
    """Send ``calls`` in order, each waiting for its answer (blocking; see the module doc)."""
    with warnings.catch_warnings():
        # vpp_papi reads its bundled files with APIs Python 3.11 deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        client = VPPApiClient(
            apifiles=api_files(), server_address=socket_path, read_timeout=_READ_TIMEOUT
        )
        client.connect("contivpy-bench-papi")
    try:
        # The functions and their arguments are looked up before the clock starts.
        prepared = [(getattr(client.api, c.name), c.fields) for c in calls]
        gc.collect()
        started = time.perf_counter()
        answers = [function(**fields) for function, fields in prepared]
        seconds = time.perf_counter() - started
    finally:
        client.disconnect()
    refused = [
        f"{call.name}: {answer.retval}"
        for call, answer in zip(calls, answers, strict=True)
        if not call.dump and getattr(answer, "retval", 0) != 0
    ]
    return ReplayRun(seconds, len(calls), refused)
