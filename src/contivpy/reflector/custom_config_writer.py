"""The leader's writer of CustomConfiguration items: vpp-agent keys in etcd, status and Events.

In: the ``ReflectedView`` (its reflected CustomConfiguration models), the store, the election
fence, a ``KubeWriter`` (None: no status is written), the agent prefix (``/vnf-agent/``) and
the reflector's prefix. Out: each object's valid items under
``/vnf-agent/<microservice>/config/...`` (``custom_config`` renders them), a record per
object of what it wrote, its status (``Ready`` condition, ``Success``/``Failure`` as
Contiv-VPP's CRDs carried it) and a Warning Event when it turns invalid.

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
import time
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from contivpy.backoff import Backoff
from contivpy.models.decoded import DecodeError
from contivpy.models.k8s_codec import CustomConfiguration, decode, parse_key
from contivpy.reflector.custom_config import render
from contivpy.reflector.errors import LeadershipLostError, ReflectorError
from contivpy.reflector.source import JsonObject, KubeWriter
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
API = "/apis/contivpp.io/v1"
TXN_OPS = 64
COMPONENT = "contivpy-reflector"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an object's status should say (``problems`` empty: Ready)."""

    written: int
    problems: tuple[str, ...]

    def status(self) -> JsonObject:
        ready = not self.problems
        reason = "Written" if ready else "InvalidConfigItems"
        message = (
            f"{self.written} item(s) written to etcd"
            if ready
            else "; ".join(self.problems) + f" ({self.written} other item(s) written)"
        )
        return {
            "status": "Success" if ready else "Failure",
            "reason": reason,
            "message": message,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": reason,
                    "message": message,
                }
            ],
        }


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
        self._kube = kube
        self._records = prefix + RECORDS
        self._agent_prefix = agent_prefix
        # the reflector's own subtree (/vnf-agent/contiv-ksr/) is not a microservice's
        own = prefix.removeprefix(agent_prefix).strip("/")
        self._reserved = (own,) if prefix.startswith(agent_prefix) and own else ()
        self._fence = fence
        self._retry = retry
        self._statuses: dict[tuple[str, str], JsonObject] = {}  # what the object says now
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
        for owner in sorted(self._statuses.keys() - verdicts.keys()):
            del self._statuses[owner]
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
        wanted = verdict.status()
        if self._kube is None or _same(self._statuses.get(owner), wanted):
            return
        namespace, name = owner
        path = f"{API}/namespaces/{namespace}/customconfigurations/{name}"
        try:
            obj = await self._kube.get_object(path)
            if _same(obj.get("status"), wanted):
                self._statuses[owner] = wanted
                return
            wanted = _stamped(wanted)
            await self._kube.merge_patch(path + "/status", {"status": wanted})
            self._statuses[owner] = wanted
            if verdict.problems:
                await self._kube.create_object(
                    f"/api/v1/namespaces/{namespace}/events", _event(obj, wanted)
                )
                log.warning(
                    "custom configuration has invalid items",
                    object=f"{namespace}/{name}",
                    problems=list(verdict.problems),
                )
        except ReflectorError as error:
            # Gone meanwhile, or the API server is away: the next pass tries again.
            log.info("custom configuration status not written", object=name, error=str(error))


def _record(values: Mapping[str, bytes]) -> bytes:
    return json.dumps({k: v.decode() for k, v in values.items()}, sort_keys=True).encode()


def _same(status: object, wanted: JsonObject) -> bool:
    """True when an object's status says what ``wanted`` says (timestamps aside)."""
    if not isinstance(status, dict):
        return False
    conditions = status.get("conditions")
    ready = [c for c in conditions if isinstance(c, dict)] if isinstance(conditions, list) else []
    theirs = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in ready]
    return {k: status.get(k) for k in ("status", "reason", "message")} == {
        k: wanted[k] for k in ("status", "reason", "message")
    } and theirs == wanted["conditions"]


def _stamped(status: JsonObject) -> JsonObject:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conditions = [dict(c, lastTransitionTime=now) for c in status["conditions"]]
    return dict(status, conditions=conditions)


def _event(obj: JsonObject, status: JsonObject) -> JsonObject:
    metadata = obj.get("metadata") or {}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "metadata": {
            "generateName": f"{metadata.get('name', '')}.",
            "namespace": metadata.get("namespace", ""),
        },
        "involvedObject": {
            "apiVersion": "contivpp.io/v1",
            "kind": "CustomConfiguration",
            "namespace": metadata.get("namespace", ""),
            "name": metadata.get("name", ""),
            "uid": metadata.get("uid", ""),
        },
        "reason": status["reason"],
        "message": status["message"],
        "type": "Warning",
        "count": 1,
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "reportingComponent": COMPONENT,
    }
