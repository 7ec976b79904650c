"""Node IDs and node addresses, shared through etcd.

In: resyncs and reflected changes of ``vppnode`` (the ``allocatedIDs/<id>`` records) and
``node`` (Kubernetes Nodes). Out: this node's ID — the smallest free positive integer,
claimed in etcd with put-if-absent so two nodes never get one, and found again by name after
a restart — the map of every node with an ID, this node's VPP addresses published in its
record, and a NodeUpdate follow-up (in its update's result) whenever another node joins,
changes or leaves.

Re-registration: the reflector frees a node's ID (deletes its record) when the Kubernetes Node
is deleted. This node keeps using its ID locally meanwhile (its pod subnet and addresses derive
from it) and claims it again in etcd as soon as its Node exists again — at once when its record
vanished while the Node stayed. The same ID is claimed when it is still free; when another node
took it, a new one is claimed and a full resync follows (everything derived from the ID changes).
"""

from __future__ import annotations

import structlog

from contivpy.controllers.base import ControllerBase
from contivpy.errors import RetriableError
from contivpy.events.types import (
    Config,
    Event,
    HealingResync,
    KubeState,
    KubeStateChange,
    NodeInfo,
    NodeUpdate,
    UpdateResult,
)
from contivpy.models.k8s_codec import ModelDecodeError, Node, VppNode, decode, encode, key_of
from contivpy.store import Store, Txn

log = structlog.get_logger(__name__)

MGMT_ADDRESS_TYPES = ("InternalIP", "ExternalIP")


class NodeIdUnavailableError(RetriableError):
    """No node ID could be claimed (etcd contention or unavailability); retried by healing."""


class NodeSync(ControllerBase[None]):
    """See the module docstring."""

    name = "nodesync"

    def __init__(
        self, node_name: str, store: Store, *, key_prefix: str, max_attempts: int = 10
    ) -> None:
        self.node_name = node_name
        self._store = store
        self._prefix = key_prefix
        self._max_attempts = max_attempts
        self._vppnodes: dict[str, VppNode] = {}  # by node name
        self._k8s_nodes: dict[str, Node] = {}
        self.nodes: dict[str, NodeInfo] = {}  # every node with an ID, by name
        # This node's record is gone from etcd; the ID is still used here (see the docstring).
        self._unregistered = False
        # This node's Kubernetes Node was seen and then deleted (not seen again since).
        self._node_deleted = False

    @property
    def node_id(self) -> int | None:
        """This node's ID (None until allocated)."""
        record = self._vppnodes.get(self.node_name)
        return record.id if record is not None else None

    def others(self) -> list[NodeInfo]:
        """Every other node with an ID, by ID."""
        return sorted((n for n in self.nodes.values() if n.name != self.node_name), key=_by_id)

    def handles(self, event: Event) -> bool:
        return isinstance(event, KubeStateChange) and event.resource in ("vppnode", "node")

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        held = self._vppnodes.get(self.node_name)
        had_node = self.node_name in self._k8s_nodes
        self._vppnodes = {}
        for model in state.get("vppnode", {}).values():
            if isinstance(model, VppNode):
                self._keep_record(model)
        self._k8s_nodes = {m.name: m for m in state.get("node", {}).values() if isinstance(m, Node)}
        if self.node_name in self._k8s_nodes:
            self._node_deleted = False
        elif had_node:
            self._node_deleted = True
        self._unregistered = False
        if self.node_id is None:
            if held is not None and self._node_deleted:
                self._unregister(held)  # claimed again when the Node is back
            else:
                await self._allocate(held)
        self.nodes = self._infos()
        return {}

    async def update(self, event: Event) -> UpdateResult[None]:
        if not isinstance(event, KubeStateChange):
            return UpdateResult()
        before = self.nodes
        if event.resource == "vppnode":
            self._apply_record(event.prev, event.new)
        elif isinstance(event.new, Node):
            self._k8s_nodes[event.new.name] = event.new
            if event.new.name == self.node_name:
                self._node_deleted = False
        elif isinstance(event.prev, Node):
            self._k8s_nodes.pop(event.prev.name, None)
            if event.prev.name == self.node_name:
                self._node_deleted = True
        changed: list[str] = []
        follow_ups: list[Event] = []
        if self._unregistered and not self._node_deleted:
            held = self._vppnodes[self.node_name]
            # Claim an ID again (the one held, when still free); on failure this node stays
            # unregistered and the healing resync retries.
            await self._allocate(held)
            self._unregistered = False
            changed.append(f"node {self.node_name} registered again with ID {self.node_id}")
            if self.node_id != held.id:
                # Everything derived from the ID changes (addresses, pod subnet).
                error = f"node ID changed from {held.id} to {self.node_id}"
                follow_ups.append(HealingResync(error=error))
        self.nodes = self._infos()
        for name in sorted(set(before) | set(self.nodes)):
            prev, new = before.get(name), self.nodes.get(name)
            if prev == new or name == self.node_name:
                continue
            changed.append(f"node {name} changed")
            follow_ups.append(NodeUpdate(name, prev, new))
        return UpdateResult(", ".join(changed), follow_ups=tuple(follow_ups))

    async def publish_vpp_addresses(self, addresses: tuple[str, ...]) -> None:
        """Record this node's VPP addresses in its allocatedIDs record (when they changed)."""
        node_id = self.node_id
        if node_id is None:
            return
        record = self._vppnodes[self.node_name]
        if tuple(record.ip_addresses) == addresses:
            return
        updated = VppNode(id=node_id, name=self.node_name, ip_addresses=list(addresses))
        if not self._unregistered:  # an unregistered node's record is written when it claims
            await self._store.put(self._prefix + key_of(updated), encode(updated))
        self._vppnodes[self.node_name] = updated
        self.nodes = self._infos()

    def _apply_record(self, prev: object | None, new: object | None) -> None:
        if isinstance(prev, VppNode) and self._vppnodes.get(prev.name) == prev:
            if prev.name == self.node_name and new is None:
                self._unregister(prev)
            else:
                del self._vppnodes[prev.name]
        if isinstance(new, VppNode):
            if new.name == self.node_name and self._unregistered:
                # Our record is back (we claimed it, or someone restored it): use it.
                self._unregistered = False
                self._vppnodes[self.node_name] = new
            else:
                self._keep_record(new)

    def _unregister(self, record: VppNode) -> None:
        """Our record is gone from etcd: keep using its ID here until we claim one again."""
        log.warning(
            "this node's ID record is gone; it is claimed again once the Node exists",
            node=self.node_name,
            node_id=record.id,
            node_deleted=self._node_deleted,
        )
        self._vppnodes[self.node_name] = record
        self._unregistered = True

    def _keep_record(self, record: VppNode) -> None:
        held = self._vppnodes.get(record.name)
        # Two records for one name (a race Contiv also had): the lowest ID wins everywhere.
        if held is None or record.id <= held.id:
            self._vppnodes[record.name] = record

    async def _allocate(self, held: VppNode | None = None) -> None:
        """Take this node's record when etcd holds one (written by us but not yet reflected
        to this controller); otherwise claim ``held``'s ID while it is free (with its
        addresses), or the smallest free one."""
        taken = {r.id for name, r in self._vppnodes.items() if name != self.node_name}
        listing = await self._store.list(self._prefix + "allocatedIDs/")
        own: list[VppNode] = []
        for item in listing.items:
            tail = item.key.rsplit("/", 1)[-1]
            if tail.isdigit():
                taken.add(int(tail))
            record = self._record_of(item.key, item.value)
            if record is not None and record.name == self.node_name:
                own.append(record)
        if own:
            self._vppnodes[self.node_name] = min(own, key=lambda r: r.id)
            return
        preferred = held.id if held is not None and held.id not in taken else None
        # The addresses derive from the ID: kept only with it (ipnet publishes new ones).
        addresses = list(held.ip_addresses) if held is not None and preferred is not None else []
        for _ in range(self._max_attempts):
            if preferred is not None:
                candidate, preferred = preferred, None
            else:
                candidate = 1
                while candidate in taken:
                    candidate += 1
            record = VppNode(id=candidate, name=self.node_name, ip_addresses=addresses)
            result = await self._store.txn(
                Txn.put_if_absent(self._prefix + key_of(record), encode(record))
            )
            if result.succeeded:
                self._vppnodes[self.node_name] = record
                log.info("node ID allocated", node=self.node_name, node_id=candidate)
                return
            taken.add(candidate)  # another node took it first
        raise NodeIdUnavailableError(
            f"node {self.node_name}: no node ID claimed after {self._max_attempts} attempts"
        )

    def _record_of(self, key: str, value: bytes) -> VppNode | None:
        try:
            decoded = decode(key[len(self._prefix) :], value)
        except ModelDecodeError:
            return None  # not a record we can read; the watcher reports it
        model = decoded.model if decoded is not None else None
        return model if isinstance(model, VppNode) else None

    def _infos(self) -> dict[str, NodeInfo]:
        infos = {}
        own_id = self.node_id
        for name, record in self._vppnodes.items():
            if name != self.node_name and record.id == own_id:
                # Another node took the ID we still use while unregistered: a tunnel to it
                # would point at our own address (a loop). It shows once we hold another ID.
                continue
            node = self._k8s_nodes.get(name)
            mgmt: tuple[str, ...] = ()
            pod_cidr = ""
            if node is not None:
                mgmt = tuple(a.address for a in node.addresses if a.type in MGMT_ADDRESS_TYPES)
                pod_cidr = node.pod_cidr
            infos[name] = NodeInfo(record.id, name, tuple(record.ip_addresses), mgmt, pod_cidr)
        return infos


def _by_id(node: NodeInfo) -> int:
    return node.id
