"""The pods benchmark's multi-interface run (issue 12): pods with ``eth0`` and two custom
interfaces, ADDed through RemoteCNI, an agent restart with them, and their deletion.

In: the number of pods, the concurrency, and ``Problems`` to record correctness failures in.
Out: a :class:`MultiIfRun` (the ADDs' ``AddRun``, the restart's ``RestartRun``, the custom
interfaces each pod had).

The run has a node of its own (``pods_node``: etcd, the simulator in its own process, the
agent): each pod takes three IPs of the node's pod subnet (``eth0``, the tap or veth, the
memif), so the node's slice is widened to fit them (``multi_if_settings``), and the main run's
full /24 stays as it was. Its agent gets a memif device plugin (``BenchMemifGrants``: the
plugin's real allocation store, one device per pod) as its ``memif_grants``.

1. Each pod is admitted (its memif device allocated: a socket directory and a secret) and put
   into etcd as the reflector puts it (a ``Pod`` with the annotation
   ``contivpp.io/custom-if: tap1/tap, memif1/memif``; ``veth1/veth`` instead of the tap when
   the node runs in veth mode), and the run waits until the agent has seen every one: the
   reflector mirrors a pod well before the kubelet runs its CNI ADD.
2. The ADDs, ``concurrency`` in flight, from a process of their own (``cni_load``), timed as
   the main run's are. Checked: every ADD succeeded and its result lists ``eth0`` and the
   tap (the memif is no netdev in the pod), every IP is given once, the agent holds exactly
   the ``eth0`` IPs as main IPs and a tap and memif IP per pod (the tap's the one returned),
   and VPP holds per pod its main tap and both custom interfaces, admin up, of the right
   kind (VPP's own names: ``tapN``, ``host-…`` for af_packet, ``memifS/I``), and the pod's
   memif socket file registered (``show memif``).
3. An agent restart (``pods_scenarios.restart_agent``): zero VPP writes, VPP's interfaces,
   routes and main IPs unchanged; checked too: the custom IPs unchanged and step 2's VPP check.
4. Every pod DELed (from this process) and removed from etcd as Kubernetes removes it; then
   the agent must hold no IP of them, VPP none of their interfaces and none of their memif
   socket files. Their devices are then released (the kubelet's part).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from contivpy.bench import cni_load, pods_scenarios
from contivpy.bench.cni_load import NAMESPACE, AddRun, BenchPod
from contivpy.bench.memif_grants import BenchMemifGrants
from contivpy.bench.pods_node import NODE_NAME, PodsNode, pods_node
from contivpy.bench.pods_scenarios import RestartRun
from contivpy.bench.verify import Problems
from contivpy.cni.types import PodRef
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.models.k8s_codec import Pod, encode, key_for
from contivpy.settings import AgentSettings, IpamSettings

PREFIX = "multi-if-pod"
CUSTOM_IF_ANNOTATION = "contivpp.io/custom-if"
MEMIF = "memif1"
#: the prefix of VPP's own interface names, by custom interface type
VPP_NAME_PREFIX = {"tap": "tap", "veth": "host-", "memif": "memif"}
_IPS_PER_POD = 3  # eth0, the tap or veth, the memif (all in the default network)
_RESERVED = 4  # network, gateway, broadcast and a spare
_POLL_SECONDS = 0.01
_WAIT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class MultiIfRun:
    """What the run measured."""

    added: AddRun
    restart: RestartRun
    custom: tuple[tuple[str, str], ...]  # (name, type) of each pod's custom interfaces


def multi_if_settings(pods: int) -> AgentSettings:
    """Default settings with a node pod subnet that fits ``pods`` multi-interface pods (a /24
    at least, as the default)."""
    bits = math.ceil(math.log2(pods * _IPS_PER_POD + _RESERVED))
    ipam = IpamSettings(pod_subnet_one_node_prefix_len=min(24, 32 - bits))
    return AgentSettings(node_name=NODE_NAME, ipam=ipam)


def custom_interfaces(settings: AgentSettings) -> tuple[tuple[str, str], ...]:
    """(name, type) of each pod's custom interfaces: a tap (a veth in veth mode), a memif."""
    if settings.interfaces.use_tap_interfaces:
        return (("tap1", "tap"), (MEMIF, "memif"))
    return (("veth1", "veth"), (MEMIF, "memif"))


def custom_tag(name: str, kind: str, container_id: str) -> str:
    """The tag (logical name) of a pod's custom interface in VPP."""
    return naming.custom_vpp_interface(kind, name, container_id)


async def run(pods_count: int, concurrency: int, problems: Problems) -> MultiIfRun:
    """The four steps of the module docstring, on a node of their own."""
    pods = cni_load.bench_pods(pods_count, prefix=PREFIX)
    settings = multi_if_settings(pods_count)
    custom = custom_interfaces(settings)
    async with pods_node(settings) as node:
        grants = BenchMemifGrants(node.directory, devices=max(pods_count, 1))
        node.memif_grants = grants.lookup
        await node.start_agent()
        for pod in pods:
            grants.admit(PodRef(NAMESPACE, pod.name))
        annotation = ", ".join(f"{name}/{kind}" for name, kind in custom)
        await reflect(node, pods, {CUSTOM_IF_ANNOTATION: annotation}, problems)
        added = await cni_load.add_pods_from_process(
            node.cni_socket, pods_count, concurrency, prefix=PREFIX
        )
        assert node.agent is not None
        netdevs = tuple(name for name, kind in custom if kind != "memif")
        pods_scenarios.check_adds(added, node.agent, pods, problems, custom=netdevs)
        label = f"multi-interface ADD of {len(pods)} pods"
        check_custom_ips(label, added, node, pods, custom, problems)
        sockets = [await socket_of(grants, pod) for pod in pods]
        await check_vpp(label, node, pods, custom, sockets, problems)
        custom_before = custom_ips(node, pods)
        restarted = await pods_scenarios.restart_agent(node, pods, problems)
        label = f"agent restart with {len(pods)} multi-interface pods"
        if custom_ips(node, pods) != custom_before:
            problems.add(f"{label}: the pods' custom interfaces' IPs changed")
        await check_vpp(label, node, pods, custom, sockets, problems)
        await delete(node, pods, custom, sockets, concurrency, problems)
        for pod in pods:
            grants.release(PodRef(NAMESPACE, pod.name))
    return MultiIfRun(added, restarted, custom)


async def reflect(
    node: PodsNode, pods: list[BenchPod], annotations: dict[str, str], problems: Problems
) -> None:
    """Put the pods into etcd as the reflector does; return once the agent has seen them."""
    agent = node.agent
    assert agent is not None
    prefix = node.config().ksr_prefix
    await asyncio.gather(
        *(
            node.store.put(
                prefix + key_for("pod", pod.name, NAMESPACE),
                encode(
                    Pod(
                        name=pod.name,
                        namespace=NAMESPACE,
                        annotations=annotations,
                        node_name=NODE_NAME,
                    )
                ),
            )
            for pod in pods
        )
    )
    ids = [PodID(NAMESPACE, pod.name) for pod in pods]
    if not await _until(lambda: all(agent.pods.reflected(pod) for pod in ids)):
        unseen = [str(pod) for pod in ids if not agent.pods.reflected(pod)]
        problems.add(
            f"reflecting {len(pods)} pods: the agent had not seen {len(unseen)} after "
            f"{_WAIT_SECONDS:g} s, e.g. {unseen[:3]}"
        )


def custom_ips(node: PodsNode, pods: list[BenchPod]) -> dict[str, dict[str, str]]:
    """Pod name → custom interface → the IP the agent holds for it."""
    agent = node.agent
    assert agent is not None
    held = {}
    for pod in pods:
        ips = agent.ipam.custom_ips_of(PodID(NAMESPACE, pod.name))
        held[pod.name] = {name: str(ip) for name, ip in ips.items()}
    return held


def check_custom_ips(
    label: str,
    run: AddRun,
    node: PodsNode,
    pods: list[BenchPod],
    custom: tuple[tuple[str, str], ...],
    problems: Problems,
) -> None:
    """The agent holds an IP for each custom interface of each pod, the result's where the
    result has one, and none of them is another pod's main IP."""
    expected = {name for name, _ in custom}
    held = custom_ips(node, pods)
    wrong = [pod for pod, ips in held.items() if set(ips) != expected]
    if wrong:
        problems.add(
            f"{label}: the agent does not hold an IP for exactly {sorted(expected)} of "
            f"{len(wrong)} pods, e.g. {wrong[0]}: {sorted(held[wrong[0]])}"
        )
    differ = [
        pod
        for pod, returned in run.custom_ips.items()
        if any(held[pod].get(name) != ip.split("/")[0] for name, ip in returned.items())
    ]
    if differ:
        problems.add(
            f"{label}: {len(differ)} pods' results give custom IPs the agent does not hold, "
            f"e.g. {differ[0]}"
        )
    main = {ip.split("/")[0] for ip in run.ips.values()}
    shared = [pod for pod, ips in held.items() if main & set(ips.values())]
    if shared:
        problems.add(f"{label}: {len(shared)} pods' custom IPs are main IPs, e.g. {shared[0]}")


async def socket_of(grants: BenchMemifGrants, pod: BenchPod) -> str:
    """The host path of the pod's memif socket file."""
    grant = await grants.lookup(PodRef(NAMESPACE, pod.name))
    return str(grant.host_socket) if grant is not None else ""


async def check_vpp(
    label: str,
    node: PodsNode,
    pods: list[BenchPod],
    custom: tuple[tuple[str, str], ...],
    sockets: list[str],
    problems: Problems,
) -> None:
    """VPP holds every pod's main tap (``pods_scenarios.check_vpp``) and each of its custom
    interfaces, admin up and of its kind, and has each pod's memif socket file registered."""
    await pods_scenarios.check_vpp(label, node.sim, pods, problems)
    interfaces = {i["tag"]: i for i in (await node.sim.summary())["interfaces"] if i["tag"]}
    missing: list[str] = []
    down: list[str] = []
    wrong_kind: list[str] = []
    for pod in pods:
        for name, kind in custom:
            interface = interfaces.get(custom_tag(name, kind, pod.container_id))
            if interface is None:
                missing.append(f"{pod.name}/{name}")
            elif not str(interface["name"]).startswith(VPP_NAME_PREFIX[kind]):
                wrong_kind.append(f"{pod.name}/{name}: {interface['name']}")
            elif not interface["admin_up"]:
                down.append(f"{pod.name}/{name}")
    if missing:
        problems.add(f"{label}: VPP lacks {len(missing)} custom interfaces, e.g. {missing[:3]}")
    if wrong_kind:
        problems.add(
            f"{label}: {len(wrong_kind)} custom interfaces are of another kind in VPP, "
            f"e.g. {wrong_kind[:3]}"
        )
    if down:
        problems.add(f"{label}: {len(down)} custom interfaces are down in VPP, e.g. {down[:3]}")
    registered = await memif_sockets(node)
    unregistered = [
        pod.name for pod, path in zip(pods, sockets, strict=True) if path not in registered
    ]
    if unregistered:
        problems.add(
            f"{label}: VPP has no memif socket registered for {len(unregistered)} pods, "
            f"e.g. {unregistered[:3]}"
        )


async def memif_sockets(node: PodsNode) -> set[str]:
    """The socket files in VPP's ``show memif`` (its ``sockets`` table: id, listener, file)."""
    text = str((await node.sim.request("show_memif"))["text"])
    files: set[str] = set()
    for line in text.split("\n\n", 1)[0].splitlines()[2:]:
        parts = line.split()
        if parts:
            files.add(parts[-1])
    return files


async def delete(
    node: PodsNode,
    pods: list[BenchPod],
    custom: tuple[tuple[str, str], ...],
    sockets: list[str],
    concurrency: int,
    problems: Problems,
) -> None:
    """DEL every pod (``concurrency`` at a time), remove it from etcd; then none of its IPs,
    interfaces or memif socket files may be left."""
    label = f"DEL of {len(pods)} multi-interface pods"
    agent = node.agent
    assert agent is not None
    for failure in (await cni_load.del_pods(node.cni_socket, pods, concurrency))[:5]:
        problems.add(f"{label}: {failure}")
    prefix = node.config().ksr_prefix
    await asyncio.gather(
        *(node.store.delete(prefix + key_for("pod", pod.name, NAMESPACE)) for pod in pods)
    )
    names = {pod.name for pod in pods}

    def holding() -> list[str]:
        main = [str(pod) for pod in agent.ipam.allocations() if pod.name in names]
        return main + [p.name for p in pods if agent.ipam.custom_ips_of(PodID(NAMESPACE, p.name))]

    if not await _until(lambda: not holding()):
        held = holding()
        problems.add(
            f"{label}: {_WAIT_SECONDS:g} s after the pods left etcd the agent still holds IPs "
            f"of {len(held)}, e.g. {held[:3]}"
        )
    await agent.loop.wait_idle()
    tags = {i["tag"] for i in (await node.sim.summary())["interfaces"] if i["tag"]}
    left = [
        pod.name
        for pod in pods
        if pod.vpp_tap in tags
        or any(custom_tag(name, kind, pod.container_id) in tags for name, kind in custom)
    ]
    if left:
        problems.add(f"{label}: VPP still has interfaces of {len(left)} pods, e.g. {left[:3]}")
    registered = await memif_sockets(node)
    kept = [pod.name for pod, path in zip(pods, sockets, strict=True) if path in registered]
    if kept:
        problems.add(
            f"{label}: VPP still has the memif sockets of {len(kept)} pods, e.g. {kept[:3]}"
        )


async def _until(condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` until it holds (True) or the wait is over (False)."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True
