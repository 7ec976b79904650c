"""The hook between the simulated kubelet and pod networking (the CNI, once it is wired).

In: a pod (JSON) that a simulated kubelet is starting or has stopped. Out: the pod's IP
address(es), or a PodNetworkFailure saying why the sandbox could not be networked. Raising an
exception counts as a failure too. Later the callback will call the node agent's CNI; until
then ``PodCidrAllocator`` stands in: it hands out addresses from the node's spec.podCIDR.
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
