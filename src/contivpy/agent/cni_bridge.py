"""From CNI calls to pod events: the agent's PodNetworkHandler.

In: typed CNI requests from the RemoteCNI server. Out: AddPod / DeletePod events pushed on
the event loop and awaited; their outcome as a CNI result or a CniError with a CNI code: the
one a controller raised (IP_EXHAUSTED...), else "try again later" while VPP is not
connected, else WIRING_FAILED.

- An ADD for a pod known with another container ID first deletes the old sandbox's wiring
  (the kubelet recreated the sandbox).
- While VPP is disconnected an ADD waits for it (up to ``vpp_wait`` seconds) instead of
  failing at once; if VPP does not come back it fails with "try again later", and the
  kubelet retries. Nothing is half-wired: AddPod reverts on failure. Once VPP is back the
  loop processes the AddPod only after the resync that rebuilds VPP (a restarted VPP has
  lost its base configuration; see events/loop.py).
- CHECK compares the pod's registration with the request.
- A pod whose annotations ask for memif interfaces has its memif grant (from the memif device
  plugin's allocations, through kubelet's pod-resources API) looked up before the AddPod is
  pushed, and carried in the event: the loop does no I/O of its own for it. A lookup that
  fails is "try again later" (the kubelet retries), not a pod wired without its memifs.
  Once a DEL has unwired such a pod, its grant is released (socket directory and secret).
- An optional ``CniObserver`` is told of each ADD's and DEL's latency and outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from contivpy.cni.types import CniCode, CniError, CniRequest, CniResult, PodRef
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import PodManager
from contivpy.deviceplugin.memif import MemifGrant
from contivpy.errors import ContivpyError
from contivpy.events.loop import EventLoop
from contivpy.events.processing import EventResult
from contivpy.events.types import AddPod, DeletePod

#: the memif grant of a pod (None: it was granted none); raises when it cannot be looked up
MemifGrants = Callable[[PodRef], Awaitable[MemifGrant | None]]
#: gives a deleted pod's memif grant back (its socket directory and secret go)
MemifRelease = Callable[[MemifGrant], object]

log = structlog.get_logger(__name__)


class CniObserver(Protocol):
    """Told of each CNI ADD and DEL (the agent's metrics listen). Must not raise, nor block."""

    def cni_done(self, command: str, ok: bool, seconds: float) -> None:
        """``command`` ("add" or "del") took ``seconds``; ``ok``: it succeeded."""
        ...


class CniBridge:
    """See the module docstring."""

    def __init__(
        self,
        loop: EventLoop,
        pods: PodManager,
        *,
        vpp_ready: Callable[[], Awaitable[None]] | None = None,
        vpp_connected: Callable[[], bool] | None = None,
        vpp_wait: float = 30.0,
        memif_grants: MemifGrants | None = None,
        memif_release: MemifRelease | None = None,
        observer: CniObserver | None = None,
    ) -> None:
        self._loop = loop
        self._observer = observer
        self._pods = pods
        self._vpp_ready = vpp_ready
        self._vpp_connected = vpp_connected
        self._vpp_wait = vpp_wait
        self._memif_grants = memif_grants
        self._memif_release = memif_release
        self._last_results: dict[tuple[PodID, str], CniResult] = {}

    async def add(self, request: CniRequest) -> CniResult:
        observer = self._observer
        if observer is None:
            return await self._add(request)
        started, ok = time.perf_counter(), False
        try:
            result = await self._add(request)
            ok = True
            return result
        finally:
            observer.cni_done("add", ok, time.perf_counter() - started)

    async def delete(self, request: CniRequest) -> None:
        observer = self._observer
        if observer is None:
            await self._delete(request)
            return
        started, ok = time.perf_counter(), False
        try:
            # A DEL whose unwiring had errors succeeds for the kubelet; it counts as failed.
            ok = await self._delete(request)
        finally:
            observer.cni_done("del", ok, time.perf_counter() - started)

    async def _add(self, request: CniRequest) -> CniResult:
        pod = PodID(request.pod.namespace, request.pod.name)
        await self._wait_for_vpp(request)
        known = self._pods.pods.get(pod)
        if known is not None and known.container_id != request.container_id:
            log.info("pod has a new sandbox; unwiring the old one", pod=str(pod))
            old = CniRequest(known.container_id, known.netns, known.ifname, request.pod)
            await self._push(DeletePod(old))
        result = await self._push(AddPod(request, await self._memif_grant(pod, request)))
        if not result.ok:
            raise CniError(
                self._failure_code(result), f"pod {request.pod} not wired: {result.error}"
            )
        wired = result.pod
        if wired is None:
            raise CniError(CniCode.WIRING_FAILED, f"pod {request.pod}: no network was rendered")
        self._last_results[(pod, request.container_id)] = wired
        return wired

    async def _delete(self, request: CniRequest) -> bool:
        """Unwire the pod; whether that went without errors."""
        pod = PodID(request.pod.namespace, request.pod.name)
        self._last_results.pop((pod, request.container_id), None)
        known = self._pods.pods.get(pod)
        result = await self._push(DeletePod(request))
        if not result.ok:
            # Errors of a delete are healed by resyncs; the kubelet need not retry.
            log.warning("pod unwiring had errors", pod=str(pod), error=result.error)
        memif = known.memif if known is not None else None
        if memif is not None and pod not in self._pods.pods and self._memif_release is not None:
            # VPP no longer uses the socket: its directory and secret go (as Contiv did)
            self._memif_release(memif.grant)
        return result.ok

    async def check(self, request: CniRequest) -> CniResult:
        pod = PodID(request.pod.namespace, request.pod.name)
        known = self._pods.pods.get(pod)
        if known is None or known.container_id != request.container_id:
            raise CniError(CniCode.UNKNOWN_CONTAINER, f"pod {request.pod} is not wired here")
        result = self._last_results.get((pod, request.container_id))
        if result is None:
            raise CniError(CniCode.TRY_AGAIN_LATER, f"pod {request.pod}: no result since restart")
        return result

    async def _memif_grant(self, pod: PodID, request: CniRequest) -> MemifGrant | None:
        if self._memif_grants is None:
            return None
        # A pod whose annotations have not reached the agent yet may still ask for memifs:
        # they can arrive before the AddPod is processed, so its grant is looked up too (a
        # failed lookup then holds nothing up: the pod most likely asks for none).
        reflected = self._pods.reflected(pod)
        if reflected and not self._pods.asks_for_memif(pod):
            return None
        try:
            return await self._memif_grants(request.pod)
        except Exception as error:  # any failure of the lookup: the kubelet retries the ADD
            if not reflected:
                log.info("memif grant lookup failed", pod=str(pod), error=str(error))
                return None
            log.warning("memif grant lookup failed", pod=str(pod), error=str(error))
            raise CniError(
                CniCode.TRY_AGAIN_LATER,
                f"pod {request.pod}: its memif grant could not be looked up: {error}",
            ) from error

    async def _wait_for_vpp(self, request: CniRequest) -> None:
        if self._vpp_ready is None:
            return
        try:
            async with asyncio.timeout(self._vpp_wait):
                await self._vpp_ready()
        except TimeoutError:
            raise CniError(
                CniCode.TRY_AGAIN_LATER,
                f"pod {request.pod}: VPP is not connected (waited {self._vpp_wait:.0f} s)",
            ) from None

    def _failure_code(self, result: EventResult) -> int:
        """The CNI code of a failed ADD."""
        if result.cni_error is not None:
            return result.cni_error.code
        if self._vpp_connected is not None and not self._vpp_connected():
            return CniCode.TRY_AGAIN_LATER  # the kubelet retries once VPP may be back
        return CniCode.WIRING_FAILED

    async def _push(self, event: AddPod | DeletePod) -> EventResult:
        try:
            return await self._loop.push_and_wait(event)
        except ContivpyError as error:  # queue full, loop stopped
            raise CniError(CniCode.TRY_AGAIN_LATER, f"agent busy: {error}") from error
