"""The agent's side of the ``eventlog`` benchmark: a node agent's start-up fold of the reflected
cluster, measured in a process of its own (``eventlog_agent_proc``).

In: etcd's endpoint with the reflected cluster in it (under the reflector's prefix, with the
other nodes' ``allocatedIDs`` records), the cluster's pods, the number of nodes, and a working
directory. Out: two ``FoldRun`` — the agent's first start against an empty VPP, then its
restart against the VPP it configured — with failed checks (the fold's own, and any VPP write
by the restarted agent) in ``Problems``.

The agent's node (node ID 1) has a few pods of its own: the pod-network ones are in the
agent's pod registry (its state file, as a previous run left it), so the fold wires them; the
rest of the pods are on other nodes or on the host network and are only read (IPAM restores
the local IPs from them). The other nodes' records make the fold render the VXLAN mesh to
each of them. VPP is the simulator in a process of its own (``sim_process``), shared by both
starts. Why processes: the agent's RSS is its own, and neither the reflector nor the stand-in
nor the simulator shares its loop, its core or its garbage collector.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contivpy.bench import eventlog_agent_proc
from contivpy.bench.eventlog_agent_proc import FoldRun
from contivpy.bench.eventlog_cluster import AGENT_NODE_ID, PodPlacement, node_name
from contivpy.bench.sim_process import sim_process
from contivpy.bench.verify import Problems

_PROCESS_TIMEOUT = 120.0


def _write_pod_registry(state_dir: Path, local: Sequence[PodPlacement]) -> None:
    """The agent's pod registry as a previous run left it (podmanager's state file)."""
    entries = []
    for pod in local:
        container = uuid.uuid5(uuid.NAMESPACE_DNS, f"{pod.namespace}/{pod.name}").hex
        entries.append(
            {
                "namespace": pod.namespace,
                "name": pod.name,
                "container_id": container,
                "netns": f"/var/run/netns/{container[:12]}",
                "ifname": "eth0",
            }
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "pods.json").write_text(json.dumps({"pods": entries}))


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:] or "(no output)"
    except OSError:
        return "(no log)"


async def _start_agent(config: dict[str, Any], log: Path) -> FoldRun:
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            eventlog_agent_proc.__name__,
            json.dumps(config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), _PROCESS_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RuntimeError(f"the agent process ran over {_PROCESS_TIMEOUT:g} s") from None
    lines = out.decode().strip().splitlines()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"the agent process failed ({process.returncode}): {_tail(log)}")
    return FoldRun(**json.loads(lines[-1]))


async def measure_folds(
    etcd_endpoint: str,
    prefix: str,
    pods: Sequence[PodPlacement],
    nodes: int,
    directory: Path,
    problems: Problems,
) -> tuple[FoldRun, FoldRun]:
    """The agent's first start against an empty VPP, then its restart (see the module doc)."""
    local = [p for p in pods if p.node_id == AGENT_NODE_ID and not p.host_network]
    state_dir = directory / "agent-state"
    _write_pod_registry(state_dir, local)
    async with sim_process() as sim:
        config = {
            "etcd": etcd_endpoint,
            "prefix": prefix,
            "node": node_name(AGENT_NODE_ID),
            "vpp_socket": sim.socket_path,
            "state_dir": str(state_dir),
            "expect": {
                "node ID": AGENT_NODE_ID,
                "nodes with an ID": nodes,
                "local pods registered": len(local),
                "local pod IPs": len(local),
            },
        }
        log = directory / "agent.log"
        first = await _start_agent(config, log)
        writes = await sim.writes()
        again = await _start_agent(config, log)
        restart_writes = await sim.writes() - writes
    for label, run in (("agent start", first), ("agent restart", again)):
        for problem in run.problems:
            problems.add(f"{label}: {problem}")
    if restart_writes:
        problems.add(f"agent restart: {restart_writes} VPP writes to an unchanged VPP, not 0")
    return first, again
