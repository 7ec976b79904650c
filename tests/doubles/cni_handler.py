"""A pod network handler for tests of the RemoteCNI server and the plugin's clients: it wires
pods into a dict (every pod gets 10.1.1.2), refuses the pod named ``exhausted`` with
IP_EXHAUSTED, answers CHECK only for wired containers, and with ``hang`` never answers;
``POD_ENV``: the CNI environment (less CNI_COMMAND) of a pod's call as a runtime makes it."""

from __future__ import annotations

import asyncio

from contivpy.cni.types import (
    CniCode,
    CniError,
    CniInterface,
    CniIP,
    CniRequest,
    CniResult,
    CniRoute,
)

POD_ENV = {
    "CNI_CONTAINERID": "c0ffee",
    "CNI_NETNS": "/proc/self/ns/net",  # a network namespace that exists
    "CNI_IFNAME": "eth0",
    "CNI_PATH": "/opt/cni/bin",
    "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
}


class Handler:
    """Wires pods in a dict; ``hang`` makes every ADD wait forever."""

    def __init__(self, *, hang: bool = False) -> None:
        self.wired: dict[str, CniRequest] = {}
        self.hang = hang

    async def add(self, request: CniRequest) -> CniResult:
        if self.hang:
            await asyncio.Event().wait()
        if request.pod.name == "exhausted":
            raise CniError(CniCode.IP_EXHAUSTED, "no free pod IP in 10.1.1.0/24")
        self.wired[request.container_id] = request
        return CniResult(
            (CniInterface("eth0", "02:fe:01:02:03:04", request.netns),),
            (CniIP("10.1.1.2/32", "10.1.1.1", 0),),
            (CniRoute("0.0.0.0/0", "10.1.1.1"),),
        )

    async def delete(self, request: CniRequest) -> None:
        self.wired.pop(request.container_id, None)

    async def check(self, request: CniRequest) -> CniResult:
        if request.container_id not in self.wired:
            raise CniError(CniCode.UNKNOWN_CONTAINER, f"{request.container_id} is not wired")
        return await self.add(request)
