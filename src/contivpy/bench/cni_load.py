"""CNI ADDs for the pods benchmark, sent from a process of their own.

In: the agent's RemoteCNI socket, N pods and a concurrency. Out: an :class:`AddRun` (each
ADD's latency, the total seconds, the IPs given, the failures).

On a node the CNI requests come from plugin processes that kubelet starts, never from the
agent's own process; so ``add_pods_from_process`` runs the ADDs in a child Python process
(``python -m contivpy.bench.cni_load SOCKET N CONCURRENCY [PREFIX]``), which prints its
``AddRun`` as one JSON object. Each ADD is a :func:`~contivpy.cni.client.call_agent` call,
which is what the ``contivpy cni`` plugin does, minus starting a process; a latency runs from
the call (the gRPC connection included) to its result. The pods are
``bench_pods(N, PREFIX)``: the same names and container IDs in both processes. A result's
addresses are recorded by interface: ``eth0``'s in ``ips``, those of other interfaces (a
pod's custom interfaces) in ``custom_ips``, and the interface names in ``interfaces``.

``del_pods`` DELs pods from this process (DELs are not timed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop

from contivpy.cni.client import call_agent
from contivpy.cni.types import CniError, CniRequest, PodRef
from contivpy.controllers import naming

NAMESPACE = "default"
MAIN_INTERFACE = "eth0"
DEFAULT_PREFIX = "bench-pod"
_CNI_DEADLINE = 60.0


@dataclass(frozen=True, slots=True)
class BenchPod:
    """A pod to ADD: its name and its sandbox's container ID."""

    name: str
    container_id: str

    def request(self, cni_socket: str) -> CniRequest:
        """The CNI ADD request the plugin would send for this pod."""
        args = (
            f"IgnoreUnknown=1;K8S_POD_NAMESPACE={NAMESPACE};K8S_POD_NAME={self.name};"
            f"K8S_POD_INFRA_CONTAINER_ID={self.container_id}"
        )
        config = {
            "cniVersion": "1.0.0",
            "name": "k8s-pod-network",
            "type": "contivpy",
            "grpcServer": cni_socket,
            "timeoutSeconds": _CNI_DEADLINE,
        }
        return CniRequest(
            self.container_id,
            f"/var/run/netns/cni-{self.container_id[:12]}",
            MAIN_INTERFACE,
            PodRef(NAMESPACE, self.name),
            config=config,
            args=args,
        )

    @property
    def vpp_tap(self) -> str:
        """The tag of the pod's tap in VPP."""
        return naming.pod_vpp_tap(self.container_id)


def bench_pods(n: int, prefix: str = DEFAULT_PREFIX) -> list[BenchPod]:
    """N pods with 64-hex-digit container IDs, as container runtimes make them."""
    pods = []
    for i in range(n):
        name = f"{prefix}-{i:03d}"
        pods.append(BenchPod(name, hashlib.sha256(name.encode()).hexdigest()))
    return pods


@dataclass(slots=True)
class AddRun:
    """What the ADD phase measured."""

    seconds: float = 0.0
    #: milliseconds of each successful ADD
    latencies_ms: list[float] = field(default_factory=list)
    #: pod name → the IP its ADD returned for eth0 (CIDR)
    ips: dict[str, str] = field(default_factory=dict)
    #: pod name → the names of the interfaces its ADD returned, in the result's order
    interfaces: dict[str, list[str]] = field(default_factory=dict)
    #: pod name → interface name → the IP (CIDR) of each of its other interfaces
    custom_ips: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    #: pod name → wall-clock (start, end) of its ADD (exec'd ADDs only: ``cni_exec_load``)
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)


async def add_pods(cni_socket: str, pods: list[BenchPod], concurrency: int) -> AddRun:
    """ADD every pod, ``concurrency`` at a time, through the RemoteCNI socket (in this
    process)."""
    run = AddRun()
    queue = iter(pods)

    async def worker() -> None:
        # Requests are built ahead of the clock as the plugin builds them before calling.
        for pod in queue:
            request = pod.request(cni_socket)
            started = time.perf_counter()
            try:
                result = await call_agent(cni_socket, "add", request, _CNI_DEADLINE)
            except CniError as error:
                run.failures.append(f"{pod.name}: CNI error {error.code}: {error.message}")
                continue
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
            names = [interface.name for interface in result.interfaces]
            run.interfaces[pod.name] = names
            by_name: dict[str, list[str]] = {}
            for ip in result.ips:
                name = names[ip.interface] if 0 <= ip.interface < len(names) else "?"
                by_name.setdefault(name, []).append(ip.address)
            main = by_name.pop(MAIN_INTERFACE, [])
            many = [name for name, addresses in by_name.items() if len(addresses) != 1]
            if len(main) != 1 or many:
                counts = ", ".join(f"{len(a)} on {n}" for n, a in by_name.items())
                run.failures.append(
                    f"{pod.name}: {len(main)} IPs on {MAIN_INTERFACE} in the result"
                    + (f" ({counts})" if counts else "")
                )
                continue
            run.ips[pod.name] = main[0]
            if by_name:
                run.custom_ips[pod.name] = {name: a[0] for name, a in by_name.items()}

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


class CniLoadError(RuntimeError):
    """The load process failed or printed no result."""


async def del_pods(cni_socket: str, pods: list[BenchPod], concurrency: int) -> list[str]:
    """DEL every pod, ``concurrency`` at a time, from this process; returns the failures."""
    failures: list[str] = []
    queue = iter(pods)

    async def worker() -> None:
        for pod in queue:
            try:
                await call_agent(cni_socket, "delete", pod.request(cni_socket), _CNI_DEADLINE)
            except CniError as error:
                failures.append(f"{pod.name}: CNI error {error.code}: {error.message}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


async def add_pods_from_process(
    cni_socket: str, n: int, concurrency: int, prefix: str = DEFAULT_PREFIX
) -> AddRun:
    """``add_pods`` of ``bench_pods(n, prefix)``, run by a child process (see the module
    docstring)."""
    out = await child_json(__name__, cni_socket, str(n), str(concurrency), prefix)
    try:
        return AddRun(**out)
    except TypeError as error:
        raise CniLoadError(f"CNI load process printed no result ({error})") from None


async def child_json(module: str, *args: str) -> dict[str, Any]:
    """Run ``python -m module args…`` and return the JSON object it printed; CniLoadError
    when it fails or prints none."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    if child.returncode != 0:
        raise CniLoadError(f"{module} exited with {child.returncode}: {err.decode()[-2000:]}")
    try:
        document = json.loads(out)
    except ValueError as error:
        raise CniLoadError(f"{module} printed no result ({error}): {out[:200]!r}") from None
    if not isinstance(document, dict):
        raise CniLoadError(f"{module} printed {document!r}, not a JSON object")
    return document


def main(argv: list[str]) -> int:
    """``SOCKET N CONCURRENCY [PREFIX]``: ADD ``bench_pods(N, PREFIX)``; print the AddRun as
    JSON."""
    cni_socket, n, concurrency = argv[0], int(argv[1]), int(argv[2])
    prefix = argv[3] if len(argv) > 3 else DEFAULT_PREFIX
    run = uvloop.run(add_pods(cni_socket, bench_pods(n, prefix), concurrency))
    json.dump(dataclasses.asdict(run), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
