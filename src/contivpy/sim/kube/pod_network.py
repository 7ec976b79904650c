"""The hook between the simulated kubelet and pod networking.

In: a pod (JSON) that a simulated kubelet is starting or has stopped. Out: the pod's IP
address(es), or a PodNetworkFailure saying why the sandbox could not be networked. Raising an
exception counts as a failure too. ``PodCidrAllocator`` is a fake IPAM handing out addresses
from the node's spec.podCIDR; ``PodNetworkByNode`` sends each pod to its node's own network
(e.g. a node whose kubelet runs the real CNI plugins, ``cni_runner.CniRunner``) and the rest to
a default one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from contivpy.sim.kube.objects import JsonObject, metadata_of, name_of, namespace_of


@dataclass(frozen=True, slots=True)
class PodNetworkFailure:
    """The sandbox could not be networked; ``message`` becomes the kubelet's event text."""

    message: str


PodNetworkResult: TypeAlias = str | Sequence[str] | PodNetworkFailure
PodNetworkSetup: TypeAlias = Callable[[JsonObject], Awaitable[PodNetworkResult]]
PodNetworkTeardown: TypeAlias = Callable[[JsonObject], Awaitable[None]]
NodeLookup: TypeAlias = Callable[[str], JsonObject | None]


class PodCidrAllocator:
    """A fake IPAM: the next free host address of the pod's node's spec.podCIDR.

    The first host address of each node's range is skipped (it is the node's gateway in
    Contiv-VPP's layout). Addresses are freed on teardown, keyed by pod uid.
    """

    def __init__(self, node_lookup: NodeLookup) -> None:
        self._node_lookup = node_lookup
        self._by_pod: dict[str, str] = {}

    async def setup(self, pod: JsonObject) -> PodNetworkResult:
        node_name = (pod.get("spec") or {}).get("nodeName", "")
        node = self._node_lookup(node_name)
        cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if not cidr:
            return PodNetworkFailure(f"node {node_name!r} has no spec.podCIDR")
        uid = str(metadata_of(pod).get("uid"))
        if uid in self._by_pod:
            return self._by_pod[uid]
        taken = set(self._by_pod.values())
        hosts = ipaddress.ip_network(cidr).hosts()
        next(hosts, None)  # the gateway
        for address in hosts:
            if str(address) not in taken:
                self._by_pod[uid] = str(address)
                return str(address)
        return PodNetworkFailure(
            f"no free address in {cidr} for {namespace_of(pod)}/{name_of(pod)}"
        )

    async def teardown(self, pod: JsonObject) -> None:
        self._by_pod.pop(str(metadata_of(pod).get("uid")), None)


@dataclass(frozen=True, slots=True)
class PodNetwork:
    """A set-up and a teardown callback: one node's (or the default) pod network."""

    setup: PodNetworkSetup
    teardown: PodNetworkTeardown


class PodNetworkByNode:
    """Each pod goes to the network of the node it is bound to, else to ``default``."""

    def __init__(self, nodes: dict[str, PodNetwork], default: PodNetwork | None = None) -> None:
        self._nodes = dict(nodes)
        self._default = default

    def _network(self, pod: JsonObject) -> PodNetwork | None:
        return self._nodes.get((pod.get("spec") or {}).get("nodeName", ""), self._default)

    async def setup(self, pod: JsonObject) -> PodNetworkResult:
        network = self._network(pod)
        if network is None:
            node = (pod.get("spec") or {}).get("nodeName", "")
            return PodNetworkFailure(f"node {node!r} has no pod network")
        return await network.setup(pod)

    async def teardown(self, pod: JsonObject) -> None:
        network = self._network(pod)
        if network is not None:
            await network.teardown(pod)
