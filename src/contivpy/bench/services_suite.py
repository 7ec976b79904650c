"""The ``services`` benchmark suite (issue 15): Services and NetworkPolicies rendered by one
node agent into NAT44-ED and ACLs on the VPP simulator.

In: ``ServicesSizes`` (``FULL``: 10,000 services x 3 endpoints, 1,000 endpoint changes,
1,000 local pods with 1,000 policies, 200 label changes; ``QUICK``: 500, 50, 50, 50, 20) and
``Problems``. Out: the suite's metrics in a fixed order (full-size names in both modes). The
node (``pods_node``): an embedded etcd, the simulator in its own process, the agent in this
one (pod subnet ``/22`` per node, room for 1,000 pods). The objects: ``services_workload``,
written into etcd under the agent's ksr prefix as the reflector writes them; "applied" is
``services_check.settled``: the agent's state shows the change and its loop is idle.

1. ``services_10k_apply_s``: the agent started and idle with no service; every Service and
   its Endpoints written (transactions of 100 puts); the clock runs from the first write until
   the agent joined every service with its 3 backends and is idle. Then checked
   (``services_check.check``: no failure, no refused object, VPP as desired).
2. ``endpoint_change_p50_ms`` / ``endpoint_change_p99_ms``: per sample one service's
   Endpoints written with a fourth endpoint added (or, the next time for that service,
   removed again); the clock runs from just before the write until the agent's service has
   the new backends and it is idle. Checked after the samples.
3. Local pods wired: CNI ADD (in this process, 10 at a time) and reflected with their IPs and
   labels; not measured.
4. ``policy_1k_apply_s``: every policy written; the clock runs until every local pod is
   isolated (has a table) and the agent is idle. Checked.
5. ``label_change_p50_ms`` / ``label_change_p99_ms``: per sample one pod's ``app`` label
   changed to the next pod's (or back): another policy isolates it;
   the clock runs until the pod's table changed and the agent is idle. Checked.
6. ``services_restart_vpp_writes``: the agent stopped and started again over the same state,
   etcd and VPP; the configuration requests the simulator served from before the stop until
   the new agent is steady (must be 0). Checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from contivpy.agent.node_agent import NodeAgent
from contivpy.bench import services_check, services_workload
from contivpy.bench.metrics import Metric, Target
from contivpy.bench.pods_node import KSR_PREFIX, PodsNode, pods_node
from contivpy.bench.pods_suite import percentile
from contivpy.bench.services_workload import ENDPOINTS, NAMESPACE, service_id
from contivpy.bench.verify import Problems
from contivpy.cni.types import CniRequest, PodRef
from contivpy.settings import AgentSettings, IpamSettings

BENCH = "services"
NODE_NAME = "bench-node"
_POD_PREFIX_LEN = 22  # 1,022 pod addresses on the node


@dataclass(frozen=True, slots=True)
class ServicesSizes:
    """Sizes of one run."""

    services: int
    endpoint_changes: int
    pods: int  # local pods, and as many policies
    label_changes: int
    concurrency: int = 10  # CNI ADDs in flight while wiring (not measured)


FULL = ServicesSizes(services=10_000, endpoint_changes=1_000, pods=1_000, label_changes=200)
QUICK = ServicesSizes(services=500, endpoint_changes=50, pods=50, label_changes=20)


async def run(sizes: ServicesSizes, problems: Problems) -> list[Metric]:
    """The six steps of the module docstring; returns the metrics (also after a problem)."""
    settings = AgentSettings(
        node_name=NODE_NAME, ipam=IpamSettings(pod_subnet_one_node_prefix_len=_POD_PREFIX_LEN)
    )
    async with pods_node(settings) as node:
        apply_s = await _apply_services(node, sizes.services, problems)
        agent = node.agent
        assert agent is not None
        changes_ms = await _change_endpoints(node, agent, sizes, problems)
        ips = await _wire_pods(node, agent, sizes, problems)
        policy_s = await _apply_policies(node, agent, sizes.pods, problems)
        labels_ms = await _change_labels(node, agent, sizes, ips, problems)
        writes = await _restart(node, sizes, problems)
    return _metrics(sizes, apply_s, changes_ms, policy_s, labels_ms, writes)


async def _apply_services(node: PodsNode, count: int, problems: Problems) -> float:
    """Every Service and its Endpoints put into etcd, then the agent started against the
    empty VPP: seconds from its start until it joined and applied every service."""
    since = time.time()
    models: list[services_workload.Model] = []
    for index in range(count):
        models += [services_workload.service(index), services_workload.endpoints(index)]
    await services_workload.put_all(node.store, services_workload.encoded(KSR_PREFIX, models))
    label = f"{count:,} services applied"
    started = time.perf_counter()
    agent = await node.start_agent()
    seconds = await services_check.settled(
        agent, label, lambda: _all_joined(agent, count), started, problems
    )
    await services_check.check(agent, label, since, problems)
    return seconds


def _all_joined(agent: NodeAgent, count: int) -> bool:
    models = agent.services.models
    if len(models) < count:
        return False
    return all(_backends(agent, i) == ENDPOINTS for i in range(count))


def _has_backends(agent: NodeAgent, index: int, want: int) -> Callable[[], bool]:
    return lambda: _backends(agent, index) == want


def _table_changed(agent: NodeAgent, key: str, before: str | None) -> Callable[[], bool]:
    return lambda: agent.policies.rendering.pod_tables.get(key) != before


def _backends(agent: NodeAgent, index: int) -> int:
    model = agent.services.models.get(service_id(index))
    return len(model.backends.get("http", ())) if model is not None else -1


async def _change_endpoints(
    node: PodsNode, agent: NodeAgent, sizes: ServicesSizes, problems: Problems
) -> list[float]:
    since = time.time()
    extra: set[int] = set()
    latencies = []
    for sample in range(sizes.endpoint_changes):
        index = (7 * sample) % sizes.services
        extra ^= {index}
        want = ENDPOINTS + (index in extra)
        model = services_workload.endpoints(index, extra=index in extra)
        started = time.perf_counter()
        await services_workload.put(node.store, KSR_PREFIX, model)
        seconds = await services_check.settled(
            agent,
            f"endpoint change {sample} ({service_id(index)})",
            _has_backends(agent, index, want),
            started,
            problems,
        )
        latencies.append(seconds * 1000)
    await services_check.check(agent, "endpoint changes", since, problems)
    return latencies


async def _wire_pods(
    node: PodsNode, agent: NodeAgent, sizes: ServicesSizes, problems: Problems
) -> list[str]:
    """CNI ADD every local pod, then reflect it with its IP and labels; their IPs."""
    gate = asyncio.Semaphore(sizes.concurrency)

    async def add(index: int) -> str:
        name = services_workload.pod_name(index)
        cid = f"bench{index:08d}"
        request = CniRequest(cid, f"/var/run/netns/{cid}", "eth0", PodRef(NAMESPACE, name))
        async with gate:
            result = await agent.cni.add(request)
        return result.ips[0].address.split("/")[0]

    ips = list(await asyncio.gather(*(add(i) for i in range(sizes.pods))))
    if len(set(ips)) != len(ips):
        problems.add(f"wiring {sizes.pods} pods: {len(ips) - len(set(ips))} duplicate IPs")
    reflected = [services_workload.pod(i, NODE_NAME, ip) for i, ip in enumerate(ips)]
    await agent.loop.wait_idle()
    processed = agent.loop.stats.processed
    await services_workload.put_all(node.store, services_workload.encoded(KSR_PREFIX, reflected))
    # one KubeStateChange per pod, and (no policy yet) nothing follows them
    await services_check.settled(
        agent,
        f"{sizes.pods} pods reflected",
        lambda: agent.loop.stats.processed >= processed + sizes.pods,
        time.perf_counter(),
        problems,
    )
    return ips


async def _apply_policies(
    node: PodsNode, agent: NodeAgent, count: int, problems: Problems
) -> float:
    since = time.time()
    models = [services_workload.policy(i) for i in range(count)]
    items = services_workload.encoded(KSR_PREFIX, models)
    label = f"{count:,} policies applied"
    started = time.perf_counter()
    await services_workload.put_all(node.store, items)
    seconds = await services_check.settled(
        agent,
        label,
        lambda: len(agent.policies.rendering.pod_tables) == count,
        started,
        problems,
    )
    await services_check.check(agent, label, since, problems)
    return seconds


async def _change_labels(
    node: PodsNode, agent: NodeAgent, sizes: ServicesSizes, ips: list[str], problems: Problems
) -> list[float]:
    since = time.time()
    shifted: set[int] = set()
    latencies = []
    for sample in range(sizes.label_changes):
        index = (7 * sample) % sizes.pods
        shifted ^= {index}
        key = f"{NAMESPACE}/{services_workload.pod_name(index)}"
        before = agent.policies.rendering.pod_tables.get(key)
        model = services_workload.pod(index, NODE_NAME, ips[index], shift=int(index in shifted))
        started = time.perf_counter()
        await services_workload.put(node.store, KSR_PREFIX, model)
        seconds = await services_check.settled(
            agent,
            f"label change {sample} ({key})",
            _table_changed(agent, key, before),
            started,
            problems,
        )
        latencies.append(seconds * 1000)
    await services_check.check(agent, "label changes", since, problems)
    return latencies


async def _restart(node: PodsNode, sizes: ServicesSizes, problems: Problems) -> int:
    since = time.time()
    assert node.agent is not None
    tables_before = len(node.agent.policies.rendering.pod_tables)
    before = await node.sim.writes()
    await node.stop_agent()
    agent = await node.start_agent()
    writes = await node.sim.writes() - before
    if writes:
        problems.add(
            f"agent restart: VPP unchanged, yet the simulator served {writes} write requests"
        )
    if len(agent.services.models) != sizes.services:
        problems.add(
            f"agent restart: {len(agent.services.models):,} services joined, not {sizes.services:,}"
        )
    isolated = len(agent.policies.rendering.pod_tables)
    if isolated != tables_before:
        problems.add(f"agent restart: {isolated:,} pods isolated, not {tables_before:,}")
    await services_check.check(agent, "agent restart", since, problems)
    return writes


def _metrics(
    sizes: ServicesSizes,
    apply_s: float,
    changes_ms: list[float],
    policy_s: float,
    labels_ms: list[float],
    writes: int,
) -> list[Metric]:
    n, p = sizes.services, sizes.pods
    setting = f"{n:,} ClusterIP services x {ENDPOINTS} endpoints (on other nodes)"
    change = (
        f"{len(changes_ms):,} Endpoints writes at {n:,} services, each adding or removing a "
        "fourth endpoint -> the agent's service has the new backends and its loop is idle"
    )
    label = (
        f"{len(labels_ms):,} label changes of local pods ({p:,} pods, {p:,} policies), each "
        "moving the pod to another policy -> its table changed and the agent "
        "is idle"
    )
    return [
        Metric(
            "services_10k_apply_s",
            apply_s,
            "s",
            Target("<=", 10),
            f"{setting} in etcd, no service in VPP: agent start -> every service joined and "
            "applied (agent idle; VPP verified after)",
        ),
        Metric(
            "endpoint_change_p50_ms",
            percentile(changes_ms, 0.50),
            "ms",
            None,
            f"median of {change}",
        ),
        Metric(
            "endpoint_change_p99_ms",
            percentile(changes_ms, 0.99),
            "ms",
            Target("<=", 20),
            f"99th percentile (nearest rank) of {change}; slowest {_max(changes_ms)}",
        ),
        Metric(
            "policy_1k_apply_s",
            policy_s,
            "s",
            Target("<=", 5),
            f"{p:,} NetworkPolicies over {p:,} wired local pods (each isolated by one, peers a "
            f"group of {p // services_workload.GROUPS}), {n:,} services present: first etcd "
            "write -> every pod's table applied (agent idle; VPP verified after)",
        ),
        Metric(
            "label_change_p50_ms", percentile(labels_ms, 0.50), "ms", None, f"median of {label}"
        ),
        Metric(
            "label_change_p99_ms",
            percentile(labels_ms, 0.99),
            "ms",
            Target("<=", 50),
            f"99th percentile (nearest rank) of {label}; slowest {_max(labels_ms)}",
        ),
        Metric(
            "services_restart_vpp_writes",
            writes,
            "writes",
            Target("==", 0),
            f"configuration requests the simulator served during an agent restart with the "
            f"{n:,} services and {p:,} policies applied",
        ),
    ]


def _max(values: list[float]) -> str:
    return f"{max(values, default=0.0):.1f} ms"
