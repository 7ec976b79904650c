"""Values for microservices' agents (``vnf-config``): etcd keys under ``/vnf-agent/<label>/``.

In: :class:`~contivpy.models.vnf_writes.VnfConfigValue` values (what ipnet renders for a pod
with a microservice label: the pod side of its custom interfaces, in vpp-agent's format) and
a :class:`~contivpy.store.Store`. Out: those keys written to and deleted from etcd, and the
ones this agent wrote that still hold what it wrote (retrieve).

Others may write to the same subtrees (a CustomConfiguration, an operator), so every write
is conditional on what this agent last wrote, in one etcd transaction each: a create puts a
key only if it is absent (put-if-absent), an update and a delete only if the key still holds
this agent's last value (compare-and-swap, compare-and-delete). A key someone else wrote is
left alone and said so in a log line. What this agent wrote is recorded beside it, under
``/contivpy/vnf-written/<node>/<label>/<relative key>`` with the same bytes, so a restarted
agent finds its own values (and only them) again: restart costs no write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import structlog

from contivpy.models.vnf_config import microservice_prefix
from contivpy.models.vnf_writes import (
    VNF_CONFIG_PREFIX,
    VnfConfigValue,
    parse_vnf_config_key,
    vnf_config_key,
)
from contivpy.scheduler import DescriptorBase, InvalidValueError, Retrieved
from contivpy.store import DeleteOp, ExistsCompare, GetOp, PutOp, Store, Txn, ValueCompare

log = structlog.get_logger(__name__)

WRITTEN_PREFIX = "/contivpy/vnf-written/"


class VnfConfigDescriptor(DescriptorBase):
    """See the module docstring."""

    name: ClassVar[str] = "vnf-config"
    key_prefix: ClassVar[str] = VNF_CONFIG_PREFIX

    def __init__(self, store: Store, node_name: str) -> None:
        self._store = store
        self._written = f"{WRITTEN_PREFIX}{node_name}/"

    def validate(self, key: str, value: Any) -> None:
        if not isinstance(value, VnfConfigValue):
            raise InvalidValueError(
                "value", f"expected a VnfConfigValue, got {type(value).__name__}"
            )
        try:
            value.etcd_key  # noqa: B018 -- validates the label
        except ValueError as error:
            raise InvalidValueError("label", str(error)) from None
        if key != vnf_config_key(value.label, value.relative_key):
            raise InvalidValueError("key", f"does not match the value's label and key: {key}")

    async def create(self, key: str, value: VnfConfigValue) -> None:
        target, mark = value.etcd_key, self._mark(value)
        done = await self._store.txn(
            Txn(
                compare=(ExistsCompare(target, exists=False),),
                success=(PutOp(target, value.data), PutOp(mark, value.data)),
                failure=(GetOp(target),),
            )
        )
        if done.succeeded:
            return
        current = done.reads[0]
        if current is not None and current.value == value.data:
            await self._store.put(mark, value.data)  # what we want is there: ours from now
            return
        log.warning("microservice key left alone: written by someone else", key=target)

    async def update(
        self, key: str, old: VnfConfigValue, new: VnfConfigValue, metadata: object
    ) -> None:
        target, mark = new.etcd_key, self._mark(new)
        done = await self._store.txn(
            Txn(
                compare=(ValueCompare(target, old.data),),
                success=(PutOp(target, new.data), PutOp(mark, new.data)),
                failure=(GetOp(target),),
            )
        )
        if done.succeeded:
            return
        if done.reads[0] is None:
            await self.create(key, new)  # gone meanwhile: put it back
            return
        await self._store.delete(mark)
        log.warning("microservice key left alone: changed by someone else", key=target)

    async def delete(self, key: str, value: VnfConfigValue, metadata: object) -> None:
        target, mark = value.etcd_key, self._mark(value)
        done = await self._store.txn(
            Txn(
                compare=(ValueCompare(target, value.data),),
                success=(DeleteOp(target), DeleteOp(mark)),
                failure=(DeleteOp(mark),),
            )
        )
        if not done.succeeded:
            log.info("microservice key not deleted: changed by someone else", key=target)

    async def retrieve(self, correlate: Mapping[str, Any]) -> Sequence[Retrieved]:
        # what this agent wrote, by label; then each label's subtree read once
        written: dict[str, list[VnfConfigValue]] = {}
        for item in (await self._store.list(self._written)).items:
            parts = parse_vnf_config_key(VNF_CONFIG_PREFIX + item.key[len(self._written) :])
            if parts is not None:
                written.setdefault(parts[0], []).append(VnfConfigValue(*parts, item.value))
        found: list[Retrieved] = []
        for label, values in written.items():
            try:
                subtree = microservice_prefix(label)
            except ValueError:  # a record of a label that is no label: not ours to judge
                continue
            held = {kv.key: kv.value for kv in (await self._store.list(subtree)).items}
            for value in values:
                if held.get(value.etcd_key) == value.data:
                    found.append(Retrieved(vnf_config_key(label, value.relative_key), value))
        return found

    def _mark(self, value: VnfConfigValue) -> str:
        return f"{self._written}{value.label}/{value.relative_key}"
