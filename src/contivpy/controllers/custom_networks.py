"""customnetworks: CustomNetworks on this node, and what pods and interfaces in them need.

In: reflected CustomNetworks and ExternalInterfaces (resyncs and their KubeStateChanges), the
node map (nodesync; NodeUpdate), local pods (podmanager; AddPod / DeletePod /
PodCustomIfUpdate change an L2 network's members). Out: each accepted network's values on
this node (``custom_network_render``), changed only where they differ; the network's VNI
(``vni`` pool, label ``network-<name>``) and an L3 network's VRF (``vrf`` pool, label
``<name>``), the same on every node and released when the network is deleted; and for the
controllers after it, which networks pods may join (``joinable``) and each network's side on
this node (``side``: VRF, gateway, slice of the subnet).

A network is checked (``models/custom_networks.py``) against the others and this node's own
ranges (pod, VPP-host, node-interconnect, VXLAN and service); a refused one is logged and
kept in ``problems`` (the reflector reports the checks it can make on the object's status),
and pods naming it are refused at their ADD as for a network that does not exist. A pod keeps
its custom interfaces when their network is deleted (its sandbox does): they are left without
the network until the pod's next sandbox.
"""

from __future__ import annotations

import structlog

from contivpy.controllers.addressing import AddressPlan, AddressPlanError
from contivpy.controllers.base import ControllerBase, changes_between, fold_change, reflected
from contivpy.controllers.custom_network_render import NetworkSide, network_side, render_network
from contivpy.controllers.id_pool import IdPool
from contivpy.controllers.ipnet_custom import custom_vpp_name
from contivpy.controllers.ipnet_vpp import NodeContext
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.podmanager import PodManager, pod_id
from contivpy.events.types import (
    AddPod,
    Config,
    DeletePod,
    Event,
    KubeState,
    KubeStateChange,
    NodeUpdate,
    PodCustomIfUpdate,
    UpdateResult,
)
from contivpy.models.custom_networks import IPNetwork, Network, NetworkKind, check_networks
from contivpy.models.external_interfaces import check_entries
from contivpy.models.k8s_codec import CustomNetwork, ExternalInterface
from contivpy.settings import AgentSettings

log = structlog.get_logger(__name__)

NETWORKS = "customnetwork"
EXTERNAL = "external-interface"


def vni_label(network: str) -> str:
    """The label of a network's VNI in the ``vni`` pool (apart from SFC hops' ``sfc-...``)."""
    return f"network-{network}"


class CustomNetworks(ControllerBase[Config]):
    """See the module docstring. The undo token is the configuration before the event."""

    name = "customnetworks"

    def __init__(
        self,
        settings: AgentSettings,
        nodesync: NodeSync,
        pods: PodManager,
        vnis: IdPool,
        vrfs: IdPool,
    ) -> None:
        self._settings = settings
        self._nodesync = nodesync
        self._pods = pods
        self._vnis = vnis
        self._vrfs = vrfs
        self._plan = AddressPlan(settings.ipam)
        self._models: dict[str, CustomNetwork] = {}
        self._external: dict[str, ExternalInterface] = {}
        self._networks: dict[str, Network] = {}
        self._sides: dict[str, NetworkSide] = {}
        self._config: Config = {}
        self.problems: dict[str, list[str]] = {}

    def existing(self) -> frozenset[str]:
        """Every CustomNetwork reflected, accepted or not."""
        return frozenset(model.name for model in self._models.values())

    def joinable(self) -> frozenset[str]:
        """The networks pods may join (accepted, with their VNI and VRF known)."""
        return frozenset(self._sides)

    def kinds(self) -> dict[str, bool]:
        """The accepted networks, and whether each is L3 (its interfaces take IPs)."""
        return {name: n.kind is NetworkKind.L3 for name, n in self._networks.items()}

    def side(self, network: str) -> NetworkSide | None:
        """A joinable network's side on this node."""
        return self._sides.get(network)

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource in (NETWORKS, EXTERNAL)
        return isinstance(event, AddPod | DeletePod | PodCustomIfUpdate | NodeUpdate)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._vnis.forget()
        self._vrfs.forget()
        self._models = reflected(state, NETWORKS, CustomNetwork)
        self._external = reflected(state, EXTERNAL, ExternalInterface)
        self._config = await self._render(leaving=None)
        return dict(self._config)

    async def update(self, event: Event) -> UpdateResult[Config]:
        leaving = None
        if isinstance(event, KubeStateChange) and event.resource == NETWORKS:
            fold_change(self._models, event, CustomNetwork)
        elif isinstance(event, KubeStateChange):
            fold_change(self._external, event, ExternalInterface)
        elif isinstance(event, DeletePod):
            leaving = pod_id(event)
        if isinstance(event, AddPod | DeletePod | PodCustomIfUpdate) and not any(
            n.kind is NetworkKind.L2 for n in self._networks.values()
        ):
            return UpdateResult()
        before = self._config
        gone = set(self._networks)
        after = await self._render(leaving=leaving)
        for name in sorted(gone - set(self._networks)):
            await self._release(name)
        self._config = after
        changes = changes_between(before, after)
        if not changes:
            return UpdateResult(undo=before)
        return UpdateResult(
            f"{len(self._networks)} custom network(s); {len(changes)} value(s) changed",
            changes,
            undo=before,
        )

    async def revert(self, event: Event, undo: Config | None) -> None:
        if undo is not None:
            self._config = undo

    async def _render(self, *, leaving: object) -> Config:
        """Check the networks, allocate their VNIs and VRFs, render them on this node."""
        networks, problems = check_networks(self._models.values(), self._reserved())
        previous = self.problems
        for owner, found in problems.items():
            if previous.get(owner) != found:
                for problem in found:
                    log.warning("custom network refused", error=problem)
        self.problems = problems
        self._networks = networks
        node_id = self._nodesync.node_id
        if node_id is None:
            self._sides = {}
            return {}
        ctx = NodeContext(self._settings, self._plan, self._plan.node(node_id))
        others = self._nodesync.others()
        members = self._l2_members(leaving)
        config: Config = {}
        sides: dict[str, NetworkSide] = {}
        for name, network in sorted(networks.items()):
            if network.kind is NetworkKind.STUB:
                sides[name] = network_side(network, 0, node_id)
                continue
            vni = await self._vnis.get_or_allocate(vni_label(name))
            vrf = await self._vrfs.get_or_allocate(name) if network.kind is NetworkKind.L3 else 0
            try:
                side = network_side(network, vrf, node_id)
            except AddressPlanError as error:
                # more nodes than the network has slices: this node cannot join it
                here = self._settings.node_name
                problem = f"CustomNetwork {network.owner}: not on node {here}: {error}"
                if problem not in previous.get(network.owner, []):
                    log.warning("custom network not on this node", error=problem)
                self.problems.setdefault(network.owner, []).append(problem)
                continue
            sides[name] = side
            config.update(render_network(side, vni, ctx, others, members.get(name, ())))
        self._sides = sides
        return config

    def _l2_members(self, leaving: object) -> dict[str, list[str]]:
        """Local interfaces in each L2 network: pods' custom interfaces (but a pod being
        deleted) and external interfaces of this node."""
        members: dict[str, list[str]] = {}
        for pod, local in self._pods.pods.items():
            if pod == leaving:
                continue
            for interface in local.custom:
                network = self._networks.get(interface.network)
                if network is not None and network.kind is NetworkKind.L2:
                    members.setdefault(network.name, []).append(custom_vpp_name(interface, local))
        accepted, _ = check_entries(self._external.values(), self.kinds())
        for entry in accepted:
            network = self._networks.get(entry.network)
            mine = entry.node == self._settings.node_name
            if mine and network is not None and network.kind is NetworkKind.L2:
                members.setdefault(network.name, []).append(entry.vpp_interface)
        return members

    def _reserved(self) -> dict[str, IPNetwork]:
        ipam = self._settings.ipam
        return {
            "pod subnet (ipam.podSubnetCIDR)": ipam.pod_subnet_cidr,
            "VPP-host subnet (ipam.vppHostSubnetCIDR)": ipam.vpp_host_subnet_cidr,
            "node interconnect (ipam.nodeInterconnectCIDR)": ipam.node_interconnect_cidr,
            "VXLAN range (ipam.vxlanCIDR)": ipam.vxlan_cidr,
            "service range (ipam.serviceCIDR)": ipam.service_cidr,
        }

    async def _release(self, network: str) -> None:
        """Give back a deleted network's VNI and VRF (the ones this node knows)."""
        for pool, label in ((self._vnis, vni_label(network)), (self._vrfs, network)):
            if pool.known(label) is not None:
                await pool.release(label)
