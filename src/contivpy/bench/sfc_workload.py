"""The SFC benchmark's chains and CNF pods, and how Kubernetes would run them.

In: the number of chains, an :class:`~contivpy.bench.sfc_cluster.SfcCluster`. Out: the
chains (``chains``: their ``ServiceFunctionChain`` models and, per element, the CNF pod
playing it and its node) and the actions of Kubernetes on them, done as the agent tests do:

- ``wire``: a CNF pod reflected into etcd (labels, ``contivpp.io/custom-if`` annotation,
  node), the agent of its node waits until it has seen it, a CNI ADD through the agent's
  ``cni.add`` (in this process), then the pod reflected again with the IP the ADD gave;
- ``unwire``: a CNI DEL on its node, then its reflected object deleted;
- ``put_chain``: a chain model put into etcd as the reflector puts it.

Chain ``i`` (``chain-007``) has three elements, each played by exactly one pod (selector
``sfc: c007, role: <role>``): ``first`` and ``last`` through their stub tap ``tap1``,
``middle`` in on ``in1`` and out on ``out1`` (stub taps too: no IP, no routes). The three pods
of chain ``i`` go to the nodes given by the bits of ``i % 8`` (element ``j`` on node
``(i >> j) & 1``), so the chains cycle through every placement of three pods on two nodes:
a chain wholly on one node, and chains with one or two hops between the nodes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, replace

from contivpy.bench.cni_load import NAMESPACE, BenchPod
from contivpy.bench.pods_node import KSR_PREFIX, PodsNode
from contivpy.bench.sfc_cluster import NODE_NAMES, SfcCluster
from contivpy.controllers import naming
from contivpy.controllers.pod_ips import PodID
from contivpy.models.k8s_codec import (
    Pod,
    ServiceFunction,
    ServiceFunctionChain,
    ServiceFunctionType,
    encode,
    key_for,
)

CUSTOM_IF = "contivpp.io/custom-if"
ROLES = ("first", "middle", "last")
#: (input, output) custom interface of each role's pod; first's input and last's output
#: are never used (the chain starts and ends there)
INTERFACES = {"first": ("tap1", "tap1"), "middle": ("in1", "out1"), "last": ("tap1", "tap1")}
ANNOTATIONS = {
    "first": "tap1/tap/stub",
    "middle": "in1/tap/stub, out1/tap/stub",
    "last": "tap1/tap/stub",
}
_REFLECT_TIMEOUT = 30.0
_POLL_SECONDS = 0.001


class WiringError(RuntimeError):
    """A pod was not seen by its agent in time, or its CNI ADD failed."""


@dataclass(frozen=True, slots=True)
class CnfPod:
    """One CNF pod: which chain element it plays, on which node (index into NODE_NAMES)."""

    chain: int
    role: str
    node: int
    generation: int = 0  # replacements of the element's pod so far

    @property
    def name(self) -> str:
        return f"sfc-{self.chain:03d}-{self.role}-{self.generation}"

    @property
    def owner(self) -> str:
        """How a chain's path names it (``namespace/name``)."""
        return f"{NAMESPACE}/{self.name}"

    @property
    def node_name(self) -> str:
        return NODE_NAMES[self.node]

    @property
    def bench_pod(self) -> BenchPod:
        """Its name and a 64-hex-digit container ID, as a runtime makes one."""
        return BenchPod(self.name, hashlib.sha256(self.name.encode()).hexdigest())

    @property
    def labels(self) -> dict[str, str]:
        return {"sfc": f"c{self.chain:03d}", "role": self.role}

    def vpp_tap(self, interface: str) -> str:
        """The tag of its custom tap ``interface`` in VPP."""
        return naming.custom_vpp_tap(interface, self.bench_pod.container_id)

    def replacement(self) -> CnfPod:
        """The pod that replaces it: the next generation, on the other node."""
        return replace(self, node=1 - self.node, generation=self.generation + 1)

    def model(self, ip: str = "") -> Pod:
        """The reflected Pod (with its IP once the ADD gave one)."""
        return Pod(
            name=self.name,
            namespace=NAMESPACE,
            labels=self.labels,
            annotations={CUSTOM_IF: ANNOTATIONS[self.role]},
            node_name=self.node_name,
            ip_address=ip,
        )

    @property
    def key(self) -> str:
        return KSR_PREFIX + key_for("pod", self.name, NAMESPACE)


def chain_name(index: int) -> str:
    return f"chain-{index:03d}"


def chain_id(index: int) -> str:
    """The chain's ID in the agents' ``sfc.paths``."""
    return f"{NAMESPACE}/{chain_name(index)}"


def chain_model(index: int) -> ServiceFunctionChain:
    """Chain ``index``: first -> middle -> last, bidirectional."""
    elements = []
    for role in ROLES:
        selector = {"sfc": f"c{index:03d}", "role": role}
        given_in, given_out = INTERFACES[role]
        single = given_in if given_in == given_out else ""
        elements.append(
            ServiceFunction(
                name=role,
                type=ServiceFunctionType.POD,
                pod_selector=selector,
                interface=single,
                input_interface="" if single else given_in,
                output_interface="" if single else given_out,
            )
        )
    return ServiceFunctionChain(name=chain_name(index), namespace=NAMESPACE, chain=elements)


def placements(chains: int) -> dict[int, list[CnfPod]]:
    """Chain index -> its pods, in element order (module docstring: the placement)."""
    return {
        i: [CnfPod(i, role, ((i % 8) >> j) & 1) for j, role in enumerate(ROLES)]
        for i in range(chains)
    }


def _node(cluster: SfcCluster, pod: CnfPod) -> PodsNode:
    return cluster.nodes[pod.node]


async def wire(cluster: SfcCluster, pod: CnfPod) -> str:
    """Reflect, ADD and reflect again with its IP; returns the IP."""
    node = _node(cluster, pod)
    agent = node.agent
    assert agent is not None
    await node.store.put(pod.key, encode(pod.model()))
    pod_id = PodID(NAMESPACE, pod.name)
    deadline = time.monotonic() + _REFLECT_TIMEOUT
    while not agent.pods.reflected(pod_id):
        if time.monotonic() > deadline:
            raise WiringError(f"{pod.node_name}'s agent did not see pod {pod.name}")
        await asyncio.sleep(_POLL_SECONDS)
    result = await agent.cni.add(pod.bench_pod.request(node.cni_socket))
    if not result.ips:
        raise WiringError(f"CNI ADD of {pod.name} on {pod.node_name} gave no IP")
    ip = result.ips[0].address.split("/")[0]
    await node.store.put(pod.key, encode(pod.model(ip)))
    return ip


async def unwire(cluster: SfcCluster, pod: CnfPod) -> None:
    """CNI DEL on its node, then its reflected object deleted (as Kubernetes does)."""
    node = _node(cluster, pod)
    agent = node.agent
    assert agent is not None
    await agent.cni.delete(pod.bench_pod.request(node.cni_socket))
    await node.store.delete(pod.key)


async def wire_all(cluster: SfcCluster, pods: list[CnfPod], concurrency: int) -> None:
    """``wire`` every pod, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(pod: CnfPod) -> None:
        async with gate:
            await wire(cluster, pod)

    await asyncio.gather(*(one(pod) for pod in pods))


async def put_chain(cluster: SfcCluster, index: int) -> None:
    """Put chain ``index`` into etcd as the reflector does."""
    store = cluster.nodes[0].store
    model = chain_model(index)
    await store.put(
        KSR_PREFIX + key_for("servicefunctionchain", model.name, NAMESPACE), encode(model)
    )
