"""A CNF's agent: its VPP kept equal to ``/vnf-agent/<label>/config/`` in etcd.

In: a connected store, the microservice label, a VPP API socket. Out: the VPP configured with
the same scheduler and descriptors as the node agent. The desired state is every decodable
key of the subtree (``contivpy.models.vnf_config``), under the same key relative to
``config/`` 's parent (``config/vpp/v2/interfaces/memif1``), so scheduler keys equal vpp-agent
keys.

Flow: refresh-only scheduler start (record what VPP holds, change nothing), list the subtree
at revision R, one full resync to it (a restart against an unchanged VPP writes nothing),
then watch from R + 1 and apply each change as a transaction. A compacted watch relists and
resyncs; a VPP that comes back (restarted or reconnected) gets a full resync of the desired
state. A value that cannot be decoded is refused (logged, in ``rejected``) and the key keeps
its last valid value; values of models this agent does not apply (Linux interfaces, netalloc
records: the VPP CNF has no Linux side to configure) are skipped.
"""

from __future__ import annotations

import asyncio

import structlog

from contivpy.async_service import cancel_and_wait
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.linux.models import LinuxInterface
from contivpy.models.vnf_config import (
    IPAllocation,
    VnfConfigError,
    VnfValue,
    config_prefix,
    decode_value,
)
from contivpy.scheduler import Scheduler, Txn
from contivpy.store import CompactedError, EventType, Store, StoreError
from contivpy.vppcalls.client import VppClient, VppConnected

log = structlog.get_logger(__name__)

#: values the CNF's VPP has no descriptor for
_NOT_APPLIED = (LinuxInterface, IPAllocation)


class CnfAgent:
    """Applies one microservice's etcd subtree to its VPP (see the module doc)."""

    def __init__(
        self,
        store: Store,
        label: str,
        vpp_socket: str,
        *,
        scheduler: Scheduler | None = None,
        retry_delay: float = 1.0,
    ) -> None:
        self.label = label
        self.prefix = config_prefix(label)  # ValueError for a bad label
        self._store = store
        self.vpp = VppClient(vpp_socket, client_name=f"contivpy-cnf-{label}"[:32])
        self.scheduler = scheduler or Scheduler()
        self._retry_delay = retry_delay
        self._tasks: list[asyncio.Task[None]] = []
        self._desired: dict[str, VnfValue] = {}
        self.rejected: dict[str, str] = {}  # key -> why its value was refused
        self.revision = 0  # the last store revision applied
        self.resyncs = 0
        self._synced = asyncio.Event()

    async def start(self, *, vpp_timeout: float | None = None) -> None:
        """Connect to VPP, record what it holds, start watching etcd."""
        await self.vpp.start(connect_timeout=vpp_timeout)
        register_vpp_descriptors(self.scheduler, self.vpp)
        await self.scheduler.start()  # refresh-only: nothing changes before the resync
        self._tasks = [
            asyncio.create_task(self._follow(), name=f"cnf-{self.label}-etcd"),
            asyncio.create_task(self._watch_vpp(), name=f"cnf-{self.label}-vpp"),
        ]
        log.info("cnf agent started", label=self.label, prefix=self.prefix)

    async def stop(self) -> None:
        """Stop watching, stop the scheduler, disconnect from VPP (safe to call twice)."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        await self.scheduler.stop()
        await self.vpp.close()

    async def wait_synced(self) -> None:
        """Return once the first full resync has been applied."""
        await self._synced.wait()

    @property
    def desired(self) -> dict[str, VnfValue]:
        """The desired state as decoded from etcd (scheduler key -> value)."""
        return dict(self._desired)

    async def _follow(self) -> None:
        while True:
            try:
                revision = await self._resync()
                await self._watch(revision + 1)
            except CompactedError as error:
                log.info("watch revision compacted; relisting", error=str(error))
            except StoreError as error:
                log.warning("store unavailable; retrying", error=str(error))
                await asyncio.sleep(self._retry_delay)

    async def _resync(self) -> int:
        listing = await self._store.list(self.prefix)
        desired: dict[str, VnfValue] = {}
        self.rejected = {}
        for item in listing.items:
            key, value = self._decode(item.key, item.value)
            if value is not None:
                desired[key] = value
        self._desired = desired
        await self.scheduler.resync_full(self._applied(), f"cnf {self.label}: etcd resync")
        self.revision = listing.revision
        self.resyncs += 1
        self._synced.set()
        return listing.revision

    async def _watch(self, start: int) -> None:
        async with self._store.watch(self.prefix, start_revision=start) as events:
            async for event in events:
                if event.type is EventType.DELETE:
                    key = self._key(event.key)
                    self.rejected.pop(key, None)
                    if self._desired.pop(key, None) is not None:
                        await self._apply(key, None)
                else:
                    key, value = self._decode(event.key, event.value)
                    if value is not None and self._desired.get(key) != value:
                        self._desired[key] = value
                        await self._apply(key, value)
                self.revision = event.mod_revision

    async def _apply(self, key: str, value: VnfValue | None) -> None:
        if isinstance(value, _NOT_APPLIED):
            return
        result = await self.scheduler.commit(Txn({key: value}, f"cnf {self.label}: {key}"))
        if not result.ok:
            errors = [str(e) for e in result.record.errors]
            log.warning("cnf config not applied", key=key, errors=errors)

    async def _watch_vpp(self) -> None:
        while True:
            event = await self.vpp.connection_events.get()
            if isinstance(event, VppConnected) and event.reconnected:
                log.warning("VPP back; resyncing", label=self.label, pid=event.pid)
                await self.scheduler.resync_full(self._applied(), f"cnf {self.label}: VPP back")

    def _applied(self) -> dict[str, object]:
        return {k: v for k, v in self._desired.items() if not isinstance(v, _NOT_APPLIED)}

    def _key(self, stored: str) -> str:
        # scheduler keys start at "config/", as the descriptors' keys do
        return "config/" + stored[len(self.prefix) :]

    def _decode(self, stored: str, raw: bytes) -> tuple[str, VnfValue | None]:
        key = self._key(stored)
        try:
            value = decode_value(key, raw)
        except VnfConfigError as error:
            self.rejected[key] = str(error)
            log.error("cnf config refused", label=self.label, error=str(error))
            return key, self._desired.get(key)
        self.rejected.pop(key, None)
        return key, value
