"""sfc: ServiceFunctionChains rendered as L2 cross-connects (Contiv's l2xconn renderer).

In: reflected chains, pods (labels, node, IP, custom-interface annotations) and
ExternalInterfaces; the node map (nodesync); local pods' registrations (podmanager, for the
VPP names of their interfaces); AddPod / DeletePod / PodCustomIfUpdate / NodeUpdate, which
change what is wired where. Out: this node's cross-connects and per-hop tunnels for every
chain (``sfc_render``), as changes of only the values that differ from what it rendered
before (a chain re-routed onto another instance touches only the hops that moved), and the
VNIs of the hops that cross nodes, allocated in the cluster-wide ``vni`` pool under the
tunnel's name (both ends get the same one; released when the chain is deleted).

Every node derives the same path of each chain from the same reflected facts
(``contivpy.sfc.paths``), so the two ends of a hop always agree. An event derives and renders
only the chains it can affect (``sfc.path_book``: a pod change, the chains selecting it and
those sharing instances with them; a local pod wired or unwired, the chains whose path has it
here), and this node's values are kept per chain. A chain whose spec is invalid is not
rendered (the problems are logged and kept in ``problems``); the other chains are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from contivpy.controllers.base import ControllerBase, changes_between, fold_change, reflected
from contivpy.controllers.id_pool import IdPool
from contivpy.controllers.ipnet_custom import custom_vpp_name
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import PodManager
from contivpy.controllers.sfc_render import (
    NodeSide,
    crossing_hops,
    render_path,
    tunnel_label,
)
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
from contivpy.models.k8s_codec import ExternalInterface, Pod, ServiceFunctionChain
from contivpy.sfc.chains import Chain, chain_of
from contivpy.sfc.facts import external_facts, pod_facts
from contivpy.sfc.path_book import PathBook
from contivpy.sfc.paths import Instance, Path

log = structlog.get_logger(__name__)

RESOURCES = ("servicefunctionchain", "pod", "external-interface")


@dataclass(frozen=True, slots=True)
class Rendering:
    """Undo token: what each chain had rendered before the event (the chains it changed)."""

    configs: dict[str, Config]


class Sfc(ControllerBase[Rendering]):
    """See the module docstring."""

    name = "sfc"

    def __init__(
        self,
        node_name: str,
        pods: PodManager,
        node_ids: Callable[[], Mapping[str, int]],
        addresses: Callable[[], Mapping[str, str]],
        vnis: IdPool,
        *,
        main_vrf: int = 0,
    ) -> None:
        self._node = node_name
        self._pods = pods
        self._node_ids = node_ids
        self._addresses = addresses
        self._vnis = vnis
        self._main_vrf = main_vrf
        self._chains: dict[str, ServiceFunctionChain] = {}  # by key
        self._external: dict[str, ExternalInterface] = {}  # by key
        self._book = PathBook()
        self._configs: dict[str, Config] = {}  # by chain ID: this node's values for it
        self.problems: dict[str, tuple[str, ...]] = {}  # by chain ID: why a spec is refused
        self.waiting: dict[str, list[str]] = {}  # by chain ID: hops not renderable here yet

    @property
    def paths(self) -> Mapping[str, Path]:
        """Every valid chain's path (rendered or not), by chain ID."""
        return self._book.paths

    def handles(self, event: Event) -> bool:
        if isinstance(event, KubeStateChange):
            return event.resource in RESOURCES
        return isinstance(event, AddPod | DeletePod | PodCustomIfUpdate | NodeUpdate)

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._vnis.forget()
        self._chains = reflected(state, "servicefunctionchain", ServiceFunctionChain)
        self._external = reflected(state, "external-interface", ExternalInterface)
        self.problems = {}
        chains = [chain for chain in map(self._checked, self._chains.values()) if chain]
        pods = [pod_facts(model) for model in reflected(state, "pod", Pod).values()]
        self._book = PathBook()
        self._book.reset(chains, pods, external_facts(self._external.values()), self._node_ids())
        self._configs, self.waiting = {}, {}
        for chain_id in self._book.paths:
            await self._render(chain_id)
        desired: Config = {}
        for config in self._configs.values():
            desired.update(config)
        return desired

    async def update(self, event: Event) -> UpdateResult[Rendering]:
        released: list[Chain] = []
        if isinstance(event, KubeStateChange):
            affected = self._fold(event, released)
        elif isinstance(event, NodeUpdate):
            changed = self._book.set_cluster(
                external_facts(self._external.values()), self._node_ids()
            )
            affected = changed | set(self._configs)  # addresses may have changed too
        elif isinstance(event, AddPod | DeletePod):
            affected = self._using(PodID(event.request.pod.namespace, event.request.pod.name))
        elif isinstance(event, PodCustomIfUpdate):
            affected = self._using(PodID(event.namespace, event.pod_name))
        else:
            return UpdateResult()
        before = {chain_id: self._configs.get(chain_id, {}) for chain_id in affected}
        for chain_id in sorted(affected):
            await self._render(chain_id)
        for chain in released:
            await self._release(chain)
        after = {chain_id: self._configs.get(chain_id, {}) for chain_id in affected}
        old: Config = {}
        new: Config = {}
        for chain_id in affected:
            old.update(before[chain_id])
            new.update(after[chain_id])
        changes = changes_between(old, new)
        undo = Rendering(before)
        if not changes:
            return UpdateResult(undo=undo)
        rendered = sum(p.rendered for p in self._book.paths.values())
        return UpdateResult(
            f"{rendered} chain(s) rendered; {len(changes)} value(s) changed", changes, undo=undo
        )

    async def revert(self, event: Event, undo: Rendering | None) -> None:
        if undo is None:
            return
        for chain_id, config in undo.configs.items():
            if config:
                self._configs[chain_id] = config
            else:
                self._configs.pop(chain_id, None)

    def _fold(self, event: KubeStateChange, released: list[Chain]) -> set[str]:
        """Keep the facts; the chains whose path changed."""
        if event.resource == "servicefunctionchain":
            gone = self._chains.pop(event.key, None)
            if isinstance(event.new, ServiceFunctionChain):
                self._chains[event.key] = event.new
                chain = self._checked(event.new)
                if chain is not None:
                    return self._book.put_chain(chain)
                return self._book.remove_chain(chain_of(event.new)[0].id)
            if gone is None:
                return set()
            chain = chain_of(gone)[0]
            self.problems.pop(chain.id, None)
            released.append(chain)
            return self._book.remove_chain(chain.id) | {chain.id}
        if event.resource == "external-interface":
            fold_change(self._external, event, ExternalInterface)
            return self._book.set_cluster(external_facts(self._external.values()), self._node_ids())
        if isinstance(event.new, Pod):
            return self._book.put_pod(pod_facts(event.new))
        if isinstance(event.prev, Pod):
            return self._book.remove_pod(event.prev.namespace, event.prev.name)
        return set()

    def _checked(self, model: ServiceFunctionChain) -> Chain | None:
        """The chain of a model, or None (its problems kept and logged) when it is invalid."""
        chain, problems = chain_of(model)
        if not problems:
            self.problems.pop(chain.id, None)
            return chain
        if self.problems.get(chain.id) != problems:
            log.warning("chain not rendered", chain=chain.id, problems=list(problems))
        self.problems[chain.id] = problems
        return None

    def _using(self, pod: PodID) -> set[str]:
        """The chains whose path has the pod on this node (its wiring changed)."""
        owner = f"{pod.namespace}/{pod.name}"
        return {
            chain_id
            for chain_id, path in self._book.paths.items()
            if any(i.owner == owner and i.node == self._node for i in path.instances)
        }

    async def _render(self, chain_id: str) -> None:
        """This node's values for one chain (none when it is gone or not rendered)."""
        path = self._book.paths.get(chain_id)
        self.waiting.pop(chain_id, None)
        if path is None or not path.rendered:
            self._configs.pop(chain_id, None)
            return
        vnis = {
            hop: await self._vnis.get_or_allocate(tunnel_label(path.chain, hop))
            for hop in crossing_hops(path, self._node)
        }
        side = NodeSide(self._node, self._addresses(), self._main_vrf)
        rendered = render_path(path, side, self._local_interface, vnis)
        if rendered.config:
            self._configs[chain_id] = rendered.config
        else:
            self._configs.pop(chain_id, None)
        if rendered.waiting:
            self.waiting[chain_id] = rendered.waiting

    def _local_interface(self, instance: Instance, interface: str) -> str | None:
        if not instance.is_pod:
            return interface  # an external interface's VPP name
        namespace, _, name = instance.owner.partition("/")
        local = self._pods.pods.get(PodID(namespace, name))
        if local is None:
            return None
        for custom in local.custom:
            if custom.name == interface:
                return custom_vpp_name(custom, local)
        return None

    async def _release(self, chain: Chain) -> None:
        """Give back the VNIs of the chain's hops (the ones this node knows)."""
        for hop in range(max(len(chain.elements) - 1, 0)):
            label = tunnel_label(chain, hop)
            if self._vnis.known(label) is not None:
                await self._vnis.release(label)
