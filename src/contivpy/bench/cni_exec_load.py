"""CNI calls as the kubelet makes them, for the pods benchmark: one plugin process per call.

In: the agent's RemoteCNI socket, pods (``cni_load.BenchPod``) and a concurrency. Out: an
``AddRun`` whose latencies run from starting the ``contivpy cni`` process to its exit — the
interpreter's start, the plugin's imports, the agent's ADD and the result printed, as the
kubelet pays for them — and, for DEL, the failures. ``plugin_start_ms`` times the plugin
alone (CNI VERSION: started, answered, exited; no agent); ``children_cpu_seconds`` gives the
plugin processes' CPU.

The plugin is the ``contivpy`` console script next to this interpreter (what the node's
``deploy/contivpy-cni`` wrapper execs); ``python -m contivpy.cli`` when there is none. A
pod's ``CNI_NETNS`` is ``/var/run/netns/<netns_name(pod)>``; on the simulator the pods are
simulated (the agent does not configure Linux) and the network config says
``simulatedNetns``; on a real node (``simulated_netns=False``) the caller makes the namespaces.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from contivpy.bench.cni_load import NAMESPACE, AddRun, BenchPod

_DEADLINE_SECONDS = 60


def plugin_command() -> list[str]:
    """How to exec the plugin."""
    script = Path(sys.executable).parent / "contivpy"
    if script.exists():
        return [str(script), "cni"]
    return [sys.executable, "-m", "contivpy.cli", "cni"]


def netns_name(pod: BenchPod) -> str:
    """The name of the pod sandbox's network namespace (``CNI_NETNS`` is it under
    /var/run/netns)."""
    return f"cni-{pod.container_id[:12]}"


def _environment(command: str, pod: BenchPod) -> dict[str, str]:
    return {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": pod.container_id,
        "CNI_NETNS": f"/var/run/netns/{netns_name(pod)}",
        "CNI_IFNAME": "eth0",
        "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE={NAMESPACE};K8S_POD_NAME={pod.name};"
        f"K8S_POD_INFRA_CONTAINER_ID={pod.container_id}",
        "CNI_PATH": "/opt/cni/bin",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }


def _config(cni_socket: str, directory: Path, simulated_netns: bool) -> Path:
    """The network configuration the kubelet would pass, in a file (the plugin's stdin)."""
    config: dict[str, object] = {
        "cniVersion": "1.0.0",
        "name": "k8s-pod-network",
        "type": "contivpy",
        "grpcServer": cni_socket,
        "timeoutSeconds": _DEADLINE_SECONDS,
    }
    if simulated_netns:
        config["simulatedNetns"] = True
    path = directory / "cni-net.json"
    path.write_text(json.dumps(config))
    return path


async def exec_plugin(env: dict[str, str], stdin: Path) -> tuple[int, dict[str, Any]]:
    """Run the plugin once with ``stdin`` (a file) as its stdin; its exit code and the JSON
    it printed (or its stderr's end when it printed none)."""
    with stdin.open("rb") as config:
        process = await asyncio.create_subprocess_exec(
            *plugin_command(),
            env=env,
            stdin=config,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    code = process.returncode if process.returncode is not None else 1
    try:
        document = json.loads(out) if out.strip() else {"msg": err.decode(errors="replace")[-300:]}
    except json.JSONDecodeError:
        document = {"msg": out.decode(errors="replace")[:300]}
    return code, document if isinstance(document, dict) else {"msg": str(document)}


async def exec_adds(
    cni_socket: str,
    pods: list[BenchPod],
    concurrency: int,
    directory: Path,
    *,
    simulated_netns: bool = True,
) -> AddRun:
    """ADD every pod, ``concurrency`` plugin processes at a time (``directory``: for the
    network configuration file)."""
    run = AddRun()
    queue = iter(pods)
    stdin = _config(cni_socket, directory, simulated_netns)

    async def worker() -> None:
        for pod in queue:
            env = _environment("ADD", pod)
            wall = time.time()  # the agent's event records are on the wall clock
            started = time.perf_counter()
            code, result = await exec_plugin(env, stdin)
            elapsed = time.perf_counter() - started
            elapsed_ms = elapsed * 1000
            if code != 0:
                run.failures.append(
                    f"{pod.name}: exit {code}, CNI error {result.get('code')}: {result.get('msg')}"
                )
                continue
            run.latencies_ms.append(elapsed_ms)
            run.spans[pod.name] = (wall, wall + elapsed)
            ips = result.get("ips", [])
            if len(ips) != 1:
                run.failures.append(f"{pod.name}: {len(ips)} IPs in the result")
                continue
            run.ips[pod.name] = str(ips[0]["address"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


def children_cpu_seconds() -> float:
    """CPU (user + system) of this process's children that have exited, so far: its change
    over the exec'd ADDs is the plugin processes' own CPU (no other child exits meanwhile)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def exec_dels(
    cni_socket: str,
    pods: list[BenchPod],
    concurrency: int,
    directory: Path,
    *,
    simulated_netns: bool = True,
) -> list[str]:
    """DEL every pod, ``concurrency`` plugin processes at a time; the failures."""
    failures: list[str] = []
    queue = iter(pods)
    stdin = _config(cni_socket, directory, simulated_netns)

    async def worker() -> None:
        for pod in queue:
            code, result = await exec_plugin(_environment("DEL", pod), stdin)
            if code != 0:
                failures.append(f"{pod.name}: DEL exit {code}: {result.get('msg')}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


async def plugin_start_ms(runs: int, directory: Path) -> list[float]:
    """Milliseconds of each of ``runs`` CNI VERSION calls, one after the other."""
    env = {"CNI_COMMAND": "VERSION", "PATH": "/usr/bin:/bin"}
    stdin = directory / "cni-version.json"
    stdin.write_text('{"cniVersion": "1.0.0"}')
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        code, _ = await exec_plugin(env, stdin)
        if code == 0:
            times.append((time.perf_counter() - started) * 1000)
    return times
