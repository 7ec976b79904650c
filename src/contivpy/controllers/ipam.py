"""IPAM: this node's address plan and its pods' IPs.

In: resyncs (node ID from nodesync; reflected pods; the IPAM state file), AddPod (allocate
the pod's IP and one for each of its custom interfaces in the default network, as podmanager,
called before ipam, registered them), its revert (release what its undo token names),
DeletePod and reflected pod deletions. Out: ``addresses`` (this node's plan: pod subnet,
gateway, host interconnect, VXLAN BVI...), each pod's IP (``ip_of``) and its custom
interfaces' IPs (``custom_ips_of``) — ipnet, called after ipam, asks for the pod it wires —
and the allocations kept in a local state file.

Pod IPs survive an agent restart: they are restored from the state file and from the pods'
reflected status. An IP is released only when the pod is gone from both this node's registry
(a CNI DEL) and Kubernetes, so it is never handed to a new pod while the old one may still
use it; its custom interfaces' IPs go with it (they come back from the state file only, as
Kubernetes reports the main IP alone). Exhaustion is a CniError (code IP_EXHAUSTED) naming
the subnet.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import structlog

from contivpy.cni.types import CniCode, CniError
from contivpy.controllers.addressing import AddressPlan, NodeAddresses
from contivpy.controllers.base import ControllerBase
from contivpy.controllers.custom_network_render import NetworkSides
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.pod_ips import (
    IpOwner,
    PodID,
    PodInterface,
    PodIpAllocator,
    PodSubnetExhaustedError,
)
from contivpy.controllers.podmanager import PodManager, pod_id
from contivpy.controllers.state_file import StateFile
from contivpy.errors import RetriableError
from contivpy.events.types import (
    AddPod,
    Config,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    PodCustomIfUpdate,
    UpdateResult,
)
from contivpy.models.custom_if import DEFAULT_NETWORK
from contivpy.models.k8s_codec import CustomNetwork, Pod
from contivpy.settings import IPAddress, IpamSettings

log = structlog.get_logger(__name__)


class NodeNotReadyError(RetriableError):
    """This node has no ID yet, so it has no address plan."""


class Ipam(ControllerBase[tuple[IpOwner, ...]]):
    """See the module docstring. The undo token of an AddPod is what it allocated IPs for
    (empty when the pod already had them all)."""

    name = "ipam"

    def __init__(
        self,
        settings: IpamSettings,
        nodesync: NodeSync,
        pods: PodManager,
        state: StateFile,
        networks: NetworkSides | None = None,
    ) -> None:
        self.plan = AddressPlan(settings)
        self._nodesync = nodesync
        self._pods = pods
        self._state = state
        self._networks = networks
        self._allocator: PodIpAllocator | None = None
        # L3 custom networks' slices on this node, by network (made when first needed)
        self._network_allocators: dict[str, PodIpAllocator] = {}
        self._addresses: NodeAddresses | None = None
        self._k8s_pods: set[PodID] = set()

    @property
    def addresses(self) -> NodeAddresses:
        """This node's address plan (NodeNotReadyError before the node has an ID)."""
        if self._addresses is None:
            raise NodeNotReadyError(f"node {self._nodesync.node_name} has no node ID yet")
        return self._addresses

    @property
    def ready(self) -> bool:
        """True once the node has an address plan."""
        return self._addresses is not None

    def allocations(self) -> dict[PodID, ipaddress.IPv4Address | ipaddress.IPv6Address]:
        """Current pod IPs of this node (main interfaces)."""
        if self._allocator is None:
            return {}
        return {o: ip for o, ip in self._allocator.allocations().items() if isinstance(o, PodID)}

    def ip_of(self, pod: PodID) -> IPAddress | None:
        """The pod's IP (None when it has none)."""
        return self._allocator.get(pod) if self._allocator is not None else None

    def custom_ips_of(self, pod: PodID) -> dict[str, IPAddress]:
        """The IPs of the pod's custom interfaces (default network and L3 custom networks),
        by interface name."""
        found: dict[str, IPAddress] = {}
        for allocator in self._allocators():
            for owner in allocator.owners_of(pod):
                ip = allocator.get(owner)
                if isinstance(owner, PodInterface) and ip is not None:
                    found[owner.interface] = ip
        return found

    def _allocators(self) -> list[PodIpAllocator]:
        main = [self._allocator] if self._allocator is not None else []
        return main + [self._network_allocators[n] for n in sorted(self._network_allocators)]

    def _allocator_of(self, network: str) -> PodIpAllocator | None:
        """Where an interface in ``network`` gets its IP (None: it gets none)."""
        if network == DEFAULT_NETWORK:
            return self._allocator
        side = self._networks.side(network) if self._networks is not None else None
        if side is None or not side.addressed or side.node_slice is None:
            return None
        allocator = self._network_allocators.get(network)
        if allocator is None or allocator.subnet != side.node_slice:
            size = side.node_slice.num_addresses
            last = size - (2 if side.node_slice.version == 4 else 1)
            allocator = PodIpAllocator(side.node_slice, 2, last)  # host 1: the gateway
            self._network_allocators[network] = allocator
        return allocator

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource in ("pod", "customnetwork")
        return isinstance(event, AddPod | DeletePod | PodCustomIfUpdate)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        node_id = self._nodesync.node_id
        if node_id is None:
            self._addresses = None
            self._allocator = None
            return {}
        addresses = self.plan.node(node_id)
        first, last = addresses.pod_ip_range
        allocator = PodIpAllocator(addresses.pod_subnet, first, last)
        self._allocator = allocator
        self._network_allocators = {}
        # Our own record first (what we handed out), then what Kubernetes reports.
        for entry in self._state.read().get("allocations", []):
            try:
                holder = PodID(entry["namespace"], entry["name"])
                interface = entry.get("interface")
                owner: IpOwner = PodInterface(holder, str(interface)) if interface else holder
                ip = ipaddress.ip_address(entry["ip"])
                network = str(entry.get("network", DEFAULT_NETWORK))
            except (KeyError, TypeError, ValueError):
                log.error("IPAM state entry ignored: malformed", entry=entry)
                continue
            target = self._allocator_of(network)
            if target is None:
                log.info("IP of a network gone dropped", owner=str(owner), network=network)
                continue
            target.restore(owner, ip)
        self._k8s_pods = set()
        for model in state.get("pod", {}).values():
            if not isinstance(model, Pod):
                continue
            pod = PodID(model.namespace, model.name)
            self._k8s_pods.add(pod)
            if model.node_name != self._nodesync.node_name or model.host_network:
                continue
            for text in [model.ip_address, *model.ip_addresses]:
                if text:
                    try:
                        allocator.restore(pod, ipaddress.ip_address(text))
                    except ValueError:
                        log.warning("pod IP ignored: not an address", pod=str(pod), ip=text)
        # Pods gone from both Kubernetes and this node while the agent was down: free; and
        # custom interfaces the pod no longer has (it was re-added with fewer).
        for pool in self._allocators():
            for owner in list(pool.allocations()):
                if self._stale(owner, pool):
                    pool.release(owner)
        self._addresses = addresses
        self._save()
        return {}

    async def update(self, event: Event) -> UpdateResult[tuple[IpOwner, ...]]:
        if isinstance(event, AddPod):
            return self._allocate(pod_id(event))
        if isinstance(event, PodCustomIfUpdate):
            return self._allocate(PodID(event.namespace, event.pod_name))
        if isinstance(event, DeletePod):
            pod = pod_id(event)
            if pod not in self._k8s_pods:
                return UpdateResult(self._release(pod))
            return UpdateResult()
        if isinstance(event, KubeStateChange) and event.resource == "customnetwork":
            # a deletion runs the controllers in reverse: customnetworks still has it here
            deleted = (
                event.prev.name
                if event.new is None and isinstance(event.prev, CustomNetwork)
                else ""
            )
            return UpdateResult(self._drop_networks_gone(deleted))
        if isinstance(event, KubeStateChange):
            if isinstance(event.new, Pod):
                self._k8s_pods.add(PodID(event.new.namespace, event.new.name))
            elif isinstance(event.prev, Pod):
                pod = PodID(event.prev.namespace, event.prev.name)
                self._k8s_pods.discard(pod)
                if pod not in self._pods.pods:
                    return UpdateResult(self._release(pod))
        return UpdateResult()

    async def revert(self, event: Event, undo: tuple[IpOwner, ...] | None) -> None:
        for owner in undo or ():
            self._release_one(owner)

    def _allocate(self, pod: PodID) -> UpdateResult[tuple[IpOwner, ...]]:
        allocator = self._allocator
        if allocator is None:
            raise NodeNotReadyError(f"node {self._nodesync.node_name} has no node ID yet")
        local = self._pods.pods.get(pod)
        owners: list[tuple[IpOwner, PodIpAllocator]] = [(pod, allocator)]
        for interface in local.custom if local is not None else ():
            pool = self._allocator_of(interface.network) if interface.addressed else None
            if pool is not None:
                owners.append((PodInterface(pod, interface.name), pool))
        wanted = {(o, id(p)) for o, p in owners if isinstance(o, PodInterface)}
        # custom interfaces of a former sandbox the new one does not have (or not there)
        dropped = [
            (o, p)
            for p in self._allocators()
            for o in p.owners_of(pod)
            if isinstance(o, PodInterface) and (o, id(p)) not in wanted
        ]
        given: list[IpOwner] = []
        said: list[str] = []
        try:
            for owner, pool in owners:
                if pool.get(owner) is not None:
                    continue  # kept: a new sandbox, a retried ADD
                said.append(f"{owner} has IP {pool.allocate(owner)}")
                given.append(owner)
        except PodSubnetExhaustedError as error:
            for owner in given:
                self._release_one(owner)
            raise CniError(CniCode.IP_EXHAUSTED, str(error)) from error
        for owner, pool in dropped:
            said.append(f"released {pool.release(owner)} of {owner}")
        if given or dropped:
            self._save()
        # what was given is released if the ADD is reverted
        return UpdateResult("; ".join(said), undo=tuple(given))

    def _drop_networks_gone(self, deleted: str = "") -> str:
        """Free every IP of the networks pods can no longer join (deleted, or refused since):
        the pods keep their interfaces until their next sandbox, without an address of a
        network that is not there."""
        gone = [
            name
            for name in sorted(self._network_allocators)
            if name == deleted or self._networks is None or self._networks.side(name) is None
        ]
        said = []
        for name in gone:
            held = len(self._network_allocators.pop(name))
            said.append(f"released the {held} IP(s) of network {name}")
        if gone:
            self._save()
        return "; ".join(said)

    def _stale(self, owner: IpOwner, pool: PodIpAllocator) -> bool:
        """Whether an address restored at a resync has no holder any more (in that pool)."""
        pod = owner.pod if isinstance(owner, PodInterface) else owner
        if pod not in self._k8s_pods and pod not in self._pods.pods:
            return True
        if isinstance(owner, PodID):
            return False
        local = self._pods.pods.get(pod)
        return local is None or not any(
            i.name == owner.interface and i.addressed and self._allocator_of(i.network) is pool
            for i in local.custom
        )

    def _release(self, pod: PodID) -> str:
        """Free the pod's IP and its custom interfaces'."""
        owners = [o for pool in self._allocators() for o in pool.owners_of(pod)]
        return "; ".join(filter(None, (self._release_one(o) for o in owners)))

    def _release_one(self, owner: IpOwner) -> str:
        released = [ip for pool in self._allocators() if (ip := pool.release(owner)) is not None]
        if not released:
            return ""
        self._save()
        return f"released {released[0]} of {'pod ' if isinstance(owner, PodID) else ''}{owner}"

    def persist(self) -> None:
        self._state.flush()

    def _save(self) -> None:
        self._state.write(self._document)

    def _document(self) -> dict[str, Any]:
        pools: list[tuple[str, PodIpAllocator]] = []
        if self._allocator is not None:
            pools.append((DEFAULT_NETWORK, self._allocator))
        pools += sorted(self._network_allocators.items())
        entries: list[dict[str, str]] = []
        for network, pool in pools:
            for owner, ip in pool.allocations().items():
                if isinstance(owner, PodInterface):
                    pod = owner.pod
                    entries.append(
                        {"namespace": pod.namespace, "name": pod.name, "interface": owner.interface}
                    )
                else:
                    entries.append({"namespace": owner.namespace, "name": owner.name})
                entries[-1]["ip"] = str(ip)
                if network != DEFAULT_NETWORK:
                    entries[-1]["network"] = network
        entries.sort(key=lambda e: (e["namespace"], e["name"], e.get("interface", "")))
        return {"allocations": entries}
