"""CNI calls as the kubelet makes them, for the pods benchmark: one plugin process per call.

In: the agent's RemoteCNI socket, pods (``cni_load.BenchPod``) and a concurrency. Out: an
``AddRun`` whose latencies run from starting the plugin's process to its exit — its start
(and, for the Python plugin, its interpreter's and imports), the agent's ADD and the result
printed, as the kubelet pays for them — and, for DEL, the failures. ``plugin_start_ms``
times the plugin alone (CNI VERSION: started, answered, exited; no agent);
``children_cpu_seconds`` gives the plugin processes' CPU.

The suites run these from a process of their own (``*_from_process``: ``python -m
contivpy.bench.cni_exec_load MODE …``, which prints its outcome as JSON), as the kubelet that
execs the plugin is not the agent's process: started from the benchmark's process, every
plugin would be forked from the agent's (its page tables copied, its pages copied on write
until the child execs) and its pipes and exit served by the agent's event loop, all counted
in the ADDs' time as no node pays it.

The plugin is what ``contivpy install-cni`` installs on a node (``install_plugin``, into the
run's directory before the child processes start): the compiled plugin when a C compiler is
found, with its Python form beside it for what it hands over (bad input, an agent away),
run by this interpreter; else the Python form alone. A
pod's ``CNI_NETNS`` is ``/var/run/netns/<netns_name(pod)>``; on the simulator the pods are
simulated (the agent does not configure Linux) and the network config says
``simulatedNetns``; on a real node (``simulated_netns=False``) the caller makes the namespaces.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from contivpy import cni_install
from contivpy.bench.cni_load import (
    NAMESPACE,
    AddRun,
    BenchPod,
    bench_pods,
    child_json,
)

_DEADLINE_SECONDS = 60


def install_plugin(directory: Path) -> str:
    """Install the plugin as a node has it (``contivpy install-cni``: the compiled plugin
    when a C compiler is found, with its Python form beside it run by this interpreter; else
    the Python form alone) under ``directory``, where the child processes find it; what was
    installed, for the metrics' descriptions."""
    _, compiled = cni_install.install_building(
        plugin_path(directory).parent, interpreter=sys.executable
    )
    return "compiled `contivpy` plugin" if compiled else "Python `contivpy` plugin (zipapp)"


def plugin_path(directory: Path) -> Path:
    """Where ``install_plugin`` put the plugin."""
    return directory / "cni-bin" / cni_install.PLUGIN


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
    """Run the plugin installed beside ``stdin`` (a file in the run's directory) once, with
    that file as its stdin; its exit code and the JSON it printed (or its stderr's end when
    it printed none)."""
    with stdin.open("rb") as config:
        process = await asyncio.create_subprocess_exec(
            str(plugin_path(stdin.parent)),
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


async def exec_adds_from_process(
    cni_socket: str,
    pods: list[BenchPod],
    concurrency: int,
    directory: Path,
    *,
    simulated_netns: bool = True,
) -> tuple[AddRun, float]:
    """``exec_adds`` run by a child process (the module docstring says why); the run and the
    plugin processes' CPU seconds. ``pods`` must be ``bench_pods(n, prefix)``."""
    out = await _child("adds", cni_socket, pods, concurrency, directory, simulated_netns)
    return AddRun(**out["run"]), float(out["plugin_cpu_seconds"])


async def exec_dels_from_process(
    cni_socket: str,
    pods: list[BenchPod],
    concurrency: int,
    directory: Path,
    *,
    simulated_netns: bool = True,
) -> list[str]:
    """``exec_dels`` run by a child process; the failures."""
    out = await _child("dels", cni_socket, pods, concurrency, directory, simulated_netns)
    return [str(failure) for failure in out["failures"]]


async def plugin_start_ms_from_process(runs: int, directory: Path) -> list[float]:
    """``plugin_start_ms`` run by a child process."""
    out = await _child("version", "", [], runs, directory, True)
    return [float(ms) for ms in out["times_ms"]]


async def _child(
    mode: str,
    cni_socket: str,
    pods: list[BenchPod],
    concurrency: int,
    directory: Path,
    simulated_netns: bool,
) -> dict[str, Any]:
    prefix = pods[0].name.rsplit("-", 1)[0] if pods else "-"
    if pods != bench_pods(len(pods), prefix):
        raise ValueError("the child process makes its pods with bench_pods(n, prefix)")
    return await child_json(
        __name__,
        mode,
        cni_socket,
        str(len(pods)),
        prefix,
        str(concurrency),
        str(directory),
        "simulated" if simulated_netns else "real",
    )


async def _run_child(argv: list[str]) -> dict[str, Any]:
    mode, cni_socket, n, prefix, concurrency, directory, netns = argv
    pods = bench_pods(int(n), prefix)
    simulated = netns == "simulated"
    if mode == "adds":
        cpu_before = children_cpu_seconds()
        run = await exec_adds(
            cni_socket, pods, int(concurrency), Path(directory), simulated_netns=simulated
        )
        cpu = children_cpu_seconds() - cpu_before
        return {"run": dataclasses.asdict(run), "plugin_cpu_seconds": cpu}
    if mode == "dels":
        failures = await exec_dels(
            cni_socket, pods, int(concurrency), Path(directory), simulated_netns=simulated
        )
        return {"failures": failures}
    if mode == "version":
        return {"times_ms": await plugin_start_ms(int(concurrency), Path(directory))}
    raise ValueError(f"unknown mode {mode!r}")


def main(argv: list[str]) -> int:
    """``MODE SOCKET N PREFIX CONCURRENCY DIRECTORY simulated|real``: the exec'd ADDs (adds),
    DELs (dels) of ``bench_pods(N, PREFIX)`` or CONCURRENCY VERSION calls (version); prints
    the outcome as JSON."""
    json.dump(uvloop.run(_run_child(argv)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
