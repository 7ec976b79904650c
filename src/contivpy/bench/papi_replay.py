"""Replaying recorded VPP API calls one at a time with vpp_papi's own synchronous client.

In: a simulator's API socket and the calls a pipelined run made (:class:`RecordedCall`, in
sending order). Out: :class:`ReplayRun`: seconds for all calls, and the calls VPP refused
(non-zero retval). The client is vpp_papi's unmodified ``VPPApiClient`` loaded with our
message definitions (``apifiles``: vpp_papi's memclnt plus contivpy's ``definitions/``), as
``tests/vppcalls/test_papi_interop.py`` does: each call sends one request (a dump also its
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
from typing import Any

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


def _maps(key: str) -> str | None:
    """Which kind of id a field holds: ``sw_if_index`` (any ``*sw_if_index``), ``bd_id``."""
    if key.endswith("sw_if_index"):
        return "sw_if_index"
    return "bd_id" if key == "bd_id" else None


def _index_fields(value: object) -> bool:
    """Whether ``value`` (a field's value, nested) holds an id to map."""
    if isinstance(value, dict):
        return any(_maps(k) is not None or _index_fields(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_index_fields(v) for v in value)
    return False


def mapped_fields(value: object, ids: dict[str, dict[int, int]]) -> object:
    """``value`` with every interface index and bridge-domain id mapped through ``ids``
    (kind of id -> recorded -> new)."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for k, v in value.items():
            kind = _maps(k)
            if kind is not None and isinstance(v, int):
                out[k] = ids.get(kind, {}).get(v, v)
            else:
                out[k] = mapped_fields(v, ids)
        return out
    if isinstance(value, list):
        return [mapped_fields(v, ids) for v in value]
    return value


def replay(
    socket_path: str, calls: Sequence[RecordedCall], *, map_indexes: bool = False
) -> ReplayRun:
    """Send ``calls`` in order, each waiting for its answer (blocking; see the module doc).

    ``map_indexes``: the VPP may give created interfaces and bridge domains other ids than
    the recorded run got (a real VPP cleaned, not restarted; VPP picks bridge-domain ids from a
    random sequence); later calls then use the new ones.
    The mapping costs a dictionary look-up on the calls that carry an index, next to a round
    trip of hundreds of microseconds.
    """
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
        if map_indexes:
            answers, seconds = _replay_mapped(calls, prepared)
        else:
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


def _replay_mapped(
    calls: Sequence[RecordedCall], prepared: list[tuple[Any, dict[str, object]]]
) -> tuple[list[Any], float]:
    carries = [_index_fields(c.fields) for c in calls]
    ids: dict[str, dict[int, int]] = {}
    answers: list[Any] = []
    gc.collect()
    started = time.perf_counter()
    for call, carry, (function, fields) in zip(calls, carries, prepared, strict=True):
        if carry and ids:
            mapped = mapped_fields(fields, ids)
            assert isinstance(mapped, dict)
            fields = mapped
        answer = function(**fields)
        for kind, recorded in (call.created or {}).items():
            ids.setdefault(kind, {})[recorded] = getattr(answer, kind)
        answers.append(answer)
    return answers, time.perf_counter() - started
