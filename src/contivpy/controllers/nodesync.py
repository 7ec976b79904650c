"""Node IDs and node addresses, shared through etcd.

In: resyncs and reflected changes of ``vppnode`` (the ``allocatedIDs/<id>`` records) and
``node`` (Kubernetes Nodes). Out: this node's ID — the smallest free positive integer,
claimed in etcd with put-if-absent so two nodes never get one, and found again by name after
a restart — the map of every node with an ID, this node's VPP addresses published in its
record, and a NodeUpdate follow-up whenever another node joins, changes or leaves.
"""

from __future__ import annotations

import structlog

from contivpy.controllers.base import ControllerBase, EventTxn
from contivpy.errors import RetriableError
from contivpy.events.loop import EventLoop
from contivpy.events.node_events import NodeInfo, NodeUpdate
from contivpy.events.types import Event, KubeState, KubeStateChange
from contivpy.models.k8s_codec import Node, VppNode, encode, key_of
from contivpy.store import Store, Txn

log = structlog.get_logger(__name__)

MGMT_ADDRESS_TYPES = ("InternalIP", "ExternalIP")


class NodeIdUnavailableError(RetriableError):
    """No node ID could be claimed (etcd contention or unavailability); retried by healing."""


class NodeSync(ControllerBase):
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
        self.loop: EventLoop | None = None  # set by the agent, for follow-up events

    @property
    def node_id(self) -> int | None:
        """This node's ID (None until allocated)."""
        record = self._vppnodes.get(self.node_name)
        return record.id if record is not None else None

    @property
    def this_node(self) -> NodeInfo | None:
        """This node's info."""
        return self.nodes.get(self.node_name)

    def others(self) -> list[NodeInfo]:
        """Every other node with an ID, by ID."""
        return sorted((n for n in self.nodes.values() if n.name != self.node_name), key=_by_id)

    def handles(self, event: Event) -> bool:
        return isinstance(event, KubeStateChange) and event.resource in ("vppnode", "node")

    async def resync(
        self, event: Event, state: KubeState, txn: EventTxn, resync_count: int
    ) -> None:
        self._vppnodes = {}
        for model in state.get("vppnode", {}).values():
            if isinstance(model, VppNode):
                self._keep_record(model)
        self._k8s_nodes = {m.name: m for m in state.get("node", {}).values() if isinstance(m, Node)}
        if self.node_id is None:
            await self._allocate()
        self.nodes = self._infos()

    async def update(self, event: Event, txn: EventTxn) -> str:
        if not isinstance(event, KubeStateChange):
            return ""
        before = self.nodes
        if event.resource == "vppnode":
            self._apply_record(event.prev, event.new)
        elif isinstance(event.new, Node):
            self._k8s_nodes[event.new.name] = event.new
        elif isinstance(event.prev, Node):
            self._k8s_nodes.pop(event.prev.name, None)
        self.nodes = self._infos()
        changed = []
        for name in sorted(set(before) | set(self.nodes)):
            prev, new = before.get(name), self.nodes.get(name)
            if prev == new or name == self.node_name:
                continue
            changed.append(name)
            if self.loop is not None:
                self.loop.push(NodeUpdate(name, prev, new))
        return ", ".join(f"node {n} changed" for n in changed)

    async def publish_vpp_addresses(self, addresses: tuple[str, ...]) -> None:
        """Record this node's VPP addresses in its allocatedIDs record (when they changed)."""
        node_id = self.node_id
        if node_id is None:
            return
        record = self._vppnodes[self.node_name]
        if tuple(record.ip_addresses) == addresses:
            return
        updated = VppNode(id=node_id, name=self.node_name, ip_addresses=list(addresses))
        await self._store.put(self._prefix + key_of(updated), encode(updated))
        self._vppnodes[self.node_name] = updated
        self.nodes = self._infos()

    def _apply_record(self, prev: object | None, new: object | None) -> None:
        if isinstance(prev, VppNode) and self._vppnodes.get(prev.name) == prev:
            del self._vppnodes[prev.name]
        if isinstance(new, VppNode):
            self._keep_record(new)

    def _keep_record(self, record: VppNode) -> None:
        held = self._vppnodes.get(record.name)
        # Two records for one name (a race Contiv also had): the lowest ID wins everywhere.
        if held is None or record.id <= held.id:
            self._vppnodes[record.name] = record

    async def _allocate(self) -> None:
        taken = {record.id for record in self._vppnodes.values()}
        listing = await self._store.list(self._prefix + "allocatedIDs/")
        for item in listing.items:
            tail = item.key.rsplit("/", 1)[-1]
            if tail.isdigit():
                taken.add(int(tail))
        candidate = 1
        for _ in range(self._max_attempts):
            while candidate in taken:
                candidate += 1
            record = VppNode(id=candidate, name=self.node_name)
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

    def _infos(self) -> dict[str, NodeInfo]:
        infos = {}
        for name, record in self._vppnodes.items():
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
