"""This node's reports on ExternalInterfaces: what only this node can know about them.

In: the extif controller (this node's applied entries, and the refusals only this node makes:
its main interface named), the scheduler's status of the interfaces those entries render (a
NIC this node's VPP does not have fails to be configured; its sub-interface then waits), the
store and the reflector's prefix. Out: one report per ExternalInterface this node has a
problem with, at ``<prefix>reports/<node>/external-interface/<namespace>/<name>``
(``models/node_reports.py``), written when its problems change and deleted when they are
gone; the reflector's leader puts them on the object's status with an Event.

It looks after every burst of the scheduler's status changes of interface keys, and every few
seconds (a refusal made by an event alone changes no status); at start it deletes this node's
reports that no longer hold. Store errors are logged and retried on the next change: reporting never
stops the agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from contivpy.controllers.extif import ExternalInterfaces
from contivpy.models.node_reports import (
    REPORTS_PREFIX,
    ReportedObject,
    encode_report,
    parse_report_key,
    report_key,
)
from contivpy.models.vpp_keys import INTERFACE_PREFIX, interface_key
from contivpy.scheduler import Scheduler, ValueState
from contivpy.store import Store, StoreError

log = structlog.get_logger(__name__)

RESOURCE = "external-interface"
#: states in which an entry's interface is not what the entry asks for
_BROKEN = (ValueState.FAILED, ValueState.RETRYING, ValueState.INVALID)
SETTLE = 0.2  # seconds: a burst of status changes is reported once
PERIOD = 5.0  # seconds: looked at again without a change (entries refused by events alone)


class ExternalInterfaceReports:
    """See the module docstring."""

    def __init__(
        self,
        node: str,
        extif: ExternalInterfaces,
        scheduler: Scheduler,
        store: Store,
        *,
        key_prefix: str,
        started: Callable[[], Awaitable[None]],
    ) -> None:
        self._node = node
        self._started = started
        self._extif = extif
        self._scheduler = scheduler
        self._store = store
        self._prefix = key_prefix
        self._published: dict[str, bytes] = {}  # key -> value this node has in etcd
        self._loaded = False

    def problems(self) -> dict[ReportedObject, list[str]]:
        """This node's problems by ExternalInterface, as things stand."""
        found: dict[ReportedObject, list[str]] = {}
        for owner, refused in self._extif.node_problems.items():
            found.setdefault(_object(owner), []).extend(refused)
        for entry in self._extif.applied:
            keys = [interface_key(entry.vpp_interface)]
            if entry.vlan:
                keys.insert(0, interface_key(entry.nic))
            for key in keys:
                status = self._scheduler.status(key)
                if status.state in _BROKEN:
                    why = status.error or status.details or status.state.value
                    found.setdefault(_object(entry.owner), []).append(
                        f"{entry.where}: {entry.vpp_interface} on node {self._node}: {why}"
                    )
                    break
        return found

    async def publish(self) -> None:
        """Make this node's reports in etcd say what ``problems`` says."""
        if not self._loaded:
            listing = await self._store.list(self._prefix + REPORTS_PREFIX + self._node + "/")
            self._published = {item.key: item.value for item in listing.items}
            self._loaded = True
        wanted = {
            self._prefix + report_key(self._node, about): encode_report(found)
            for about, found in self.problems().items()
            if found
        }
        for key in sorted(self._published.keys() - wanted.keys()):
            parsed = parse_report_key(key[len(self._prefix) :])
            if parsed is None or parsed[1].resource != RESOURCE:
                continue  # another kind's report: not ours to judge
            await self._store.delete(key)
            del self._published[key]
        for key, value in sorted(wanted.items()):
            if self._published.get(key) != value:
                await self._store.put(key, value)
                self._published[key] = value
                log.warning("external interface not applied on this node", report=value.decode())

    async def run(self) -> None:
        """Publish at start and after every burst of interface status changes, until
        cancelled."""
        await self._started()  # the first resync: before it no entry is known (reports would flap)
        subscription = self._scheduler.watch_status(INTERFACE_PREFIX)
        try:
            while True:
                try:
                    await self.publish()
                except StoreError as error:  # tried again on the next change
                    log.info("external interface reports not written", error=str(error))
                # asyncio.timeout, not wait_for: wait_for in 3.11 can swallow the task's own
                # cancellation when the queue yields at that moment (the agent's stop then
                # waits for this task forever)
                try:
                    async with asyncio.timeout(PERIOD):
                        await subscription.queue.get()
                    await asyncio.sleep(SETTLE)
                except TimeoutError:
                    pass
                while not subscription.queue.empty():
                    subscription.queue.get_nowait()
        finally:
            subscription.close()


def _object(owner: str) -> ReportedObject:
    namespace, _, name = owner.rpartition("/")
    return ReportedObject(RESOURCE, namespace, name)
