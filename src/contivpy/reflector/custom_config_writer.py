"""The leader's writer of CustomConfiguration items: vpp-agent keys in etcd, status and Events.

In: the ``ReflectedView`` (its reflected CustomConfiguration models), the store, the election
fence, a ``KubeWriter`` (None: no status is written), the agent prefix (``/vnf-agent/``) and
the reflector's prefix. Out: each object's valid items under
``/vnf-agent/<microservice>/config/...`` (``custom_config`` renders them), a record per
object of what it wrote, its status (``Ready`` condition, ``Success``/``Failure`` as
Contiv-VPP's CRDs carried it) and a Warning Event when it turns invalid (``object_status``).

Ownership: ``<prefix>customconfig/<namespace>/<name>`` records the keys and values the object
put. Only recorded keys are ever deleted, and only while they still hold the value this writer
put (a value someone else wrote since is left alone). The record grows before values are put
(one transaction) and shrinks after removals, so a crash in between leaves nothing unowned.
When two objects configure one key the first (by namespace/name) has it; the other is told in
its status.

Items for a node's vswitch (the microservice is a Node's name) are not written here: the node
agent applies those itself from the reflected object. Every pass converges everything
(objects are few): it runs when the leadership term starts, whenever CustomConfigurations or
Nodes change or a resync is asked for, and after a failed pass (with back-off).
Unchanged keys, records and statuses are not rewritten: a restarted reflector writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from contivpy.backoff import Backoff
from contivpy.models.decoded import DecodeError
from contivpy.models.k8s_codec import CustomConfiguration, decode, parse_key
from contivpy.reflector.custom_config import render
from contivpy.reflector.errors import LeadershipLostError, ReflectorError
from contivpy.reflector.object_status import ObjectStatus, Readiness, object_path
from contivpy.reflector.source import KubeWriter
from contivpy.reflector.view import ReflectedView
from contivpy.store import (
    Compare,
    DeleteOp,
    PutOp,
    Store,
    StoreError,
    Txn,
    TxnOp,
    ValueCompare,
)

log = structlog.get_logger(__name__)

KIND = "customconfiguration"
NODE = "node"
RECORDS = "customconfig/"
PLURAL = "customconfigurations"
TXN_OPS = 64


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an object's status should say (``problems`` empty: Ready)."""

    written: int
    problems: tuple[str, ...]

    def readiness(self) -> Readiness:
        if not self.problems:
            return Readiness(True, "Written", f"{self.written} item(s) written to etcd")
        message = "; ".join(self.problems) + f" ({self.written} other item(s) written)"
        return Readiness(False, "InvalidConfigItems", message)


class CustomConfigWriter:
    """Converges etcd and the objects' statuses to the reflected CustomConfigurations."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        kube: KubeWriter | None,
        *,
        prefix: str,
        agent_prefix: str,
        fence: Compare,
        retry: Backoff,
    ) -> None:
        self._store = store
        self._view = view
        self._records = prefix + RECORDS
        self._agent_prefix = agent_prefix
        # the reflector's own subtree (/vnf-agent/contiv-ksr/) is not a microservice's
        own = prefix.removeprefix(agent_prefix).strip("/")
        self._reserved = (own,) if prefix.startswith(agent_prefix) and own else ()
        self._fence = fence
        self._retry = retry
        self._status = ObjectStatus(kube, "CustomConfiguration")
        self.passes = 0

    async def run(self) -> None:
        """Converge until cancelled; raises ``LeadershipLostError`` when a fenced write fails."""
        await self._view.wait_all_listed()
        delays = self._retry.delays()
        kinds = (KIND, NODE)
        seen: tuple[int, ...] = ()
        while True:
            version = self._view.versions(kinds)
            if version == seen:
                await self._view.wait_versions(kinds, seen)
                version = self._view.versions(kinds)
            try:
                await self.sync()
            except (StoreError, ReflectorError) as error:
                if isinstance(error, LeadershipLostError):
                    raise
                delay = next(delays)
                log.warning("custom configuration not written; retrying", error=str(error))
                await asyncio.sleep(delay)
                continue
            delays = self._retry.delays()
            seen = version
            self.passes += 1

    async def sync(self) -> None:
        """One pass: etcd, records and statuses made to match the view."""
        objects = self._objects()
        nodes = self._nodes()
        claimed: dict[str, tuple[str, str]] = {}
        desired: dict[tuple[str, str], dict[str, bytes]] = {}
        verdicts: dict[tuple[str, str], Verdict] = {}
        for owner, config in sorted(objects.items()):
            rendered = render(
                config, agent_prefix=self._agent_prefix, reserved=self._reserved, nodes=nodes
            )
            problems = list(rendered.problems)
            mine: dict[str, bytes] = {}
            for key, (index, value) in rendered.values.items():
                holder = claimed.setdefault(key, owner)
                if holder != owner:
                    problems.append(
                        f"configItems[{index}]: {key} is configured by CustomConfiguration "
                        f"{holder[0]}/{holder[1]}"
                    )
                    continue
                mine[key] = value
            desired[owner] = mine
            verdicts[owner] = Verdict(len(mine), tuple(problems))
        recorded = await self._read_records()
        for owner in sorted(desired.keys() | recorded.keys()):
            await self._converge(owner, desired.get(owner, {}), recorded.get(owner, {}), claimed)
        self._status.keep(object_path(PLURAL, *owner) for owner in verdicts)
        for owner, verdict in sorted(verdicts.items()):
            await self._report(owner, verdict)

    def _nodes(self) -> frozenset[str]:
        if NODE not in self._view.kinds:
            return frozenset()
        parsed = (parse_key(key) for key in self._view.objects(NODE))
        return frozenset(found.name for found in parsed if found is not None)

    def _objects(self) -> dict[tuple[str, str], CustomConfiguration]:
        found: dict[tuple[str, str], CustomConfiguration] = {}
        for key, value in self._view.objects(KIND).items():
            try:
                decoded = decode(key, value)
            except DecodeError as error:  # the informer wrote it: cannot happen but log it
                log.warning("reflected custom configuration unreadable", error=str(error))
                continue
            if decoded is not None and isinstance(decoded.model, CustomConfiguration):
                model = decoded.model
                found[(model.namespace, model.name)] = model
        return found

    async def _read_records(self) -> dict[tuple[str, str], dict[str, bytes]]:
        listing = await self._store.list(self._records)
        records: dict[tuple[str, str], dict[str, bytes]] = {}
        for item in listing.items:
            namespace, _, name = item.key[len(self._records) :].partition("/")
            try:
                data = json.loads(item.value)
                records[(namespace, name)] = {k: v.encode() for k, v in data.items()}
            except (ValueError, AttributeError):
                log.warning("custom configuration record unreadable; ignored", key=item.key)
        return records

    def _record_key(self, owner: tuple[str, str]) -> str:
        return f"{self._records}{owner[0]}/{owner[1]}"

    async def _converge(
        self,
        owner: tuple[str, str],
        desired: Mapping[str, bytes],
        recorded: Mapping[str, bytes],
        claimed: Mapping[str, tuple[str, str]],
    ) -> None:
        current = {key: await self._current(key) for key in desired}
        puts = [PutOp(key, value) for key, value in desired.items() if current[key] != value]
        grown = dict(recorded) | dict(desired)
        ops: list[TxnOp] = list(puts)
        if grown != recorded:
            ops.insert(0, PutOp(self._record_key(owner), _record(grown)))
        await self._commit(ops)
        removed = 0
        for key, value in sorted(recorded.items()):
            if key in desired or key in claimed:  # still wanted, or another object's now
                continue
            result = await self._store.txn(
                Txn(compare=(self._fence, ValueCompare(key, value)), success=(DeleteOp(key),))
            )
            if result.succeeded:
                removed += 1
            elif await self._current(key) == value:
                raise LeadershipLostError("the leader key no longer holds our identity")
        if desired != grown:
            record = (
                PutOp(self._record_key(owner), _record(dict(desired)))
                if desired
                else DeleteOp(self._record_key(owner))
            )
            await self._commit([record])
        if puts or removed:
            log.info(
                "custom configuration written",
                object=f"{owner[0]}/{owner[1]}",
                puts=len(puts),
                deletes=removed,
            )

    async def _current(self, key: str) -> bytes | None:
        found = await self._store.get(key)
        return found.item.value if found.item is not None else None

    async def _commit(self, ops: list[TxnOp]) -> None:
        for start in range(0, len(ops), TXN_OPS):
            chunk = tuple(ops[start : start + TXN_OPS])
            result = await self._store.txn(Txn(compare=(self._fence,), success=chunk))
            if not result.succeeded:
                raise LeadershipLostError("the leader key no longer holds our identity")

    async def _report(self, owner: tuple[str, str], verdict: Verdict) -> None:
        """Write the object's status when it says something else; an Event when it fails."""
        namespace, name = owner
        await self._status.report(object_path(PLURAL, namespace, name), verdict.readiness())


def _record(values: Mapping[str, bytes]) -> bytes:
    return json.dumps({k: v.decode() for k, v in values.items()}, sort_keys=True).encode()
