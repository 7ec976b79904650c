"""The Kubernetes API stand-in in a process of its own, populated and driven for ``eventlog``.

In (child, ``python -m contivpy.bench.eventlog_kube SHAPE_JSON KUBECONFIG``): a
``ClusterShape`` as JSON and where to write the kubeconfig; then one JSON request per line on
stdin. Out: one JSON line on stdout when the stand-in is populated and serving
(``{"ready": true, "populate_s": ...}``), then one JSON reply line per request:

- ``{"op": "drive", "rate": r, "count": n}`` → label patches of pods 0..n-1 (in
  ``placements`` order), paced at ``r`` per second on an absolute schedule, each carrying its
  index in the ``bench-seq`` label; reply ``{"sent": [t0, ...], "late": [i, ...]}``: when each
  patch returned (``time.monotonic()``: CLOCK_MONOTONIC, the same clock in every process of
  the machine), and which were made more than one period after their due time.
- ``{"op": "expected", "pods": [[namespace, name], ...]}`` → ``{"expected": {key: text}}``:
  what the codec makes of those pods now (the bytes the reflector must write, as UTF-8).
- ``{"op": "exit"}`` → the stand-in stops and the process exits.

In (parent): ``kube_process(shape, directory)``, an async context manager yielding a
``KubeProcess`` with ``kubeconfig``, ``populate_seconds``, ``drive`` and ``expected``.

Why a process: a Kubernetes API server is not part of the reflector's process. In it, the
stand-in's objects (about a million tracked containers for 10,000 pods) would make every full
garbage collection of the reflector's process pause its loop for a quarter of a second, and
serving lists and watches would take turns with the reflector on one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import uvloop

from contivpy.bench.eventlog_cluster import (
    ClusterShape,
    PodPlacement,
    address_plan,
    expected_pod,
    populate,
)
from contivpy.logs import configure_logging
from contivpy.sim.kube import KubeApiStandIn

SEQUENCE_LABEL = "bench-seq"
_LINE_LIMIT = 1 << 24  # replies carry thousands of timestamps or pods: beyond asyncio's 64 KiB
_START_TIMEOUT = 300.0  # populating 10,000 pods takes seconds, more on a slow machine
_STOP_TIMEOUT = 10.0


# --- the child --------------------------------------------------------------------------------


async def _drive(kube: KubeApiStandIn, pods: Sequence[PodPlacement], rate: float) -> dict[str, Any]:
    period = 1.0 / rate
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent: list[float] = []
    late: list[int] = []
    for seq, pod in enumerate(pods):
        delay = start + seq * period - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > period:
            late.append(seq)
        patch = {"metadata": {"labels": {SEQUENCE_LABEL: str(seq)}}}
        kube.patch("v1", "Pod", pod.name, patch, namespace=pod.namespace)
        sent.append(time.monotonic())
    return {"sent": sent, "late": late}


def _expected(kube: KubeApiStandIn, pods: list[list[str]]) -> dict[str, Any]:
    found = dict(expected_pod(kube, namespace, name) for namespace, name in pods)
    return {"expected": {key: value.decode() for key, value in found.items()}}


async def _serve(shape: ClusterShape, kubeconfig: Path) -> None:
    loop = asyncio.get_running_loop()
    requests = asyncio.StreamReader(limit=_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(requests), sys.stdin)
    async with KubeApiStandIn() as kube:
        kube.install_contivpp_crds()
        started = time.monotonic()
        pods = populate(kube, shape, address_plan())
        # The populated store lives as long as the process: keep it out of the collector's
        # scans, or every full collection stops this loop (the driver and every watch stream)
        # for a quarter of a second. A real API server's garbage collector runs concurrently.
        gc.freeze()
        kube.write_kubeconfig(kubeconfig)
        _reply({"ready": True, "populate_s": time.monotonic() - started})
        while line := await requests.readline():
            request = json.loads(line)
            op = request["op"]
            if op == "exit":
                break
            if op == "drive":
                _reply(await _drive(kube, pods[: request["count"]], request["rate"]))
            elif op == "expected":
                _reply(_expected(kube, request["pods"]))
            else:
                _reply({"error": f"unknown op {op!r}"})


def _reply(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str]) -> int:
    """The child's entry: ``SHAPE_JSON KUBECONFIG`` (see the module doc)."""
    configure_logging("warning")  # stdout is the protocol; logs go to stderr
    shape = ClusterShape(**json.loads(argv[0]))
    uvloop.run(_serve(shape, Path(argv[1])))
    return 0


# --- the parent -------------------------------------------------------------------------------


class KubeProcessError(RuntimeError):
    """The stand-in process did not start, or did not answer."""


@dataclasses.dataclass(frozen=True, slots=True)
class Drive:
    """What a ``drive`` request did: when each patch returned, which ones were late."""

    sent: list[float]
    late: list[int]


class KubeProcess:
    """A running stand-in child (see the module doc)."""

    def __init__(self, process: asyncio.subprocess.Process, kubeconfig: Path, log: Path) -> None:
        self._process = process
        self.kubeconfig = kubeconfig
        self._log = log
        self.populate_seconds = 0.0

    def _tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-2000:] or "(no output)"
        except OSError:
            return "(no log)"

    async def _read(self, within: float) -> dict[str, Any]:
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), within)
        except TimeoutError:
            raise KubeProcessError(f"stand-in process silent for {within:g} s") from None
        if not line:
            raise KubeProcessError(f"stand-in process ended: {self._tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise KubeProcessError(str(reply["error"]))
        return reply

    async def _request(self, within: float, **request: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._read(within)

    async def drive(self, rate: float, count: int) -> Drive:
        """Patch pods 0..count-1 at ``rate`` per second (see the module doc)."""
        reply = await self._request(count / rate + 60.0, op="drive", rate=rate, count=count)
        return Drive([float(t) for t in reply["sent"]], [int(i) for i in reply["late"]])

    async def expected(self, pods: Sequence[PodPlacement]) -> dict[str, bytes]:
        """Key -> the bytes the codec makes of each of ``pods`` now."""
        reply = await self._request(
            60.0, op="expected", pods=[[pod.namespace, pod.name] for pod in pods]
        )
        return {key: text.encode() for key, text in reply["expected"].items()}

    async def stop(self) -> None:
        if self._process.returncode is None and self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.write(b'{"op": "exit"}\n')
                await self._process.stdin.drain()
        try:
            await asyncio.wait_for(self._process.wait(), _STOP_TIMEOUT)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


@contextlib.asynccontextmanager
async def kube_process(shape: ClusterShape, directory: Path) -> AsyncIterator[KubeProcess]:
    """A populated stand-in in a child process, serving until the block ends."""
    kubeconfig = directory / "kubeconfig"
    log = directory / "kube.log"
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            json.dumps(dataclasses.asdict(shape)),
            str(kubeconfig),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            limit=_LINE_LIMIT,
        )
    kube = KubeProcess(process, kubeconfig, log)
    try:
        ready = await kube._read(_START_TIMEOUT)
        kube.populate_seconds = float(ready["populate_s"])
        yield kube
    finally:
        await kube.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
