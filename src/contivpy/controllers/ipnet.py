"""ipnet: all connectivity configuration — the vswitch base, the mesh, and every pod.

In: resyncs, AddPod / DeletePod, NodeUpdate (another node joined, changed, left); the pod's
IP and its custom interfaces' IPs from ipam (called before ipnet), its custom interfaces and
memif socket from podmanager. Out: puts and deletes of VPP (and, when enabled, Linux) values
as the changes of its result (``ipnet_pods`` for the main interface, ``ipnet_custom`` for the
custom ones); an AddPod's CNI result; this node's VPP address published through nodesync.

It remembers which keys it rendered for each pod and each other node, so a pod's delete or a
node's change removes exactly what was there and nothing else. It refuses a full resync that
would leave the node's pods without the vswitch base configuration (``check_resync``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from contivpy.controllers.base import ControllerBase
from contivpy.controllers.custom_network_render import NetworkSides
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.ipnet_custom import (
    custom_cni_entries,
    render_custom_linux,
    render_custom_vpp,
)
from contivpy.controllers.ipnet_microservice import render_microservice
from contivpy.controllers.ipnet_pods import pod_cni_result, render_pod_vpp
from contivpy.controllers.ipnet_vpp import (
    Config,
    NodeContext,
    remote_vpp_address,
    render_base,
    render_mesh,
)
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.pod_ips import PodID
from contivpy.controllers.podmanager import LocalPod, PodManager, pod_id
from contivpy.events.types import (
    AddPod,
    Changes,
    DeletePod,
    Event,
    EventTxn,
    KubeState,
    NodeUpdate,
    PodCustomIfUpdate,
    UpdateResult,
)
from contivpy.settings import AgentSettings, IPAddress

log = structlog.get_logger(__name__)


class LinuxRenderer(Protocol):
    """The Linux side of the node and of pods (absent: Linux is left alone, as in the demo
    whose pods have no real network namespaces)."""

    def render_base(self, ctx: NodeContext) -> Config:
        """The host's side of the host interconnect."""

    def render_pod(self, ctx: NodeContext, pod: LocalPod, ip: IPAddress) -> Config:
        """The pod's side in its network namespace."""


@dataclass(frozen=True, slots=True)
class Wiring:
    """Undo token of an AddPod: the pod wired and the keys it had before (None: none)."""

    pod: PodID
    previous: set[str] | None


class IpNet(ControllerBase[Wiring]):
    """See the module docstring."""

    name = "ipnet"

    def __init__(
        self,
        settings: AgentSettings,
        nodesync: NodeSync,
        ipam: Ipam,
        pods: PodManager,
        *,
        linux: LinuxRenderer | None = None,
        networks: NetworkSides | None = None,
    ) -> None:
        self._settings = settings
        self._networks = networks
        self._nodesync = nodesync
        self._ipam = ipam
        self._pods = pods
        self._linux = linux
        self._pod_keys: dict[PodID, set[str]] = {}
        self._mesh_keys: set[str] = set()
        self._base_keys: frozenset[str] = frozenset()  # rendered by the last resync

    def handles(self, event: Event) -> bool:
        return isinstance(event, AddPod | DeletePod | NodeUpdate | PodCustomIfUpdate)

    def context(self) -> NodeContext:
        """This node's rendering context (NodeNotReadyError before it has an ID)."""
        return NodeContext(self._settings, self._ipam.plan, self._ipam.addresses)

    def underlay_addresses(self) -> dict[str, str]:
        """Every node's VPP (tunnel end) address by node name, this one's included; empty
        before this node has an ID."""
        if not self._ipam.ready:
            return {}
        ctx = self.context()
        found = {n.name: str(remote_vpp_address(ctx, n)) for n in self._nodesync.others()}
        found[self._settings.node_name] = str(ctx.addresses.node_address)
        return found

    async def resync(self, event: Event, state: KubeState, resync_count: int) -> Config:
        self._pod_keys = {}
        self._mesh_keys = set()
        self._base_keys = frozenset()
        if not self._ipam.ready:
            log.warning("no node ID yet: the vswitch is not configured")
            return {}
        ctx = self.context()
        base = render_base(ctx, linux=self._linux is not None)
        if self._linux is not None:
            base.update(self._linux.render_base(ctx))
        desired: Config = dict(base)
        self._base_keys = frozenset(base)
        mesh = render_mesh(ctx, self._nodesync.others())
        desired.update(mesh)
        self._mesh_keys = set(mesh)
        allocations = self._ipam.allocations()
        for pod, local in self._pods.pods.items():
            ip = allocations.get(pod)
            if ip is None:
                log.warning("local pod without an IP left unwired", pod=str(pod))
                continue
            config = self._render_pod(ctx, local, ip, self._ipam.custom_ips_of(pod))
            desired.update(config)
            self._pod_keys[pod] = set(config)
        prefix = self._settings.ipam.node_interconnect_cidr.prefixlen
        await self._nodesync.publish_vpp_addresses((f"{ctx.addresses.node_address}/{prefix}",))
        return desired

    def check_resync(self, txn: EventTxn) -> str:
        pods = len(self._pods.pods)
        if not pods:
            return ""
        if not self._base_keys:
            return f"{pods} local pod(s) but no vswitch base configuration (no node ID yet)"
        missing = sorted(key for key in self._base_keys if txn.get(key) is None)
        if missing:
            return f"{pods} local pod(s) but the base configuration lacks {', '.join(missing)}"
        return ""

    async def update(self, event: Event) -> UpdateResult[Wiring]:
        if isinstance(event, AddPod):
            return self._add_pod(event)
        if isinstance(event, DeletePod):
            return self._delete_pod(event)
        if isinstance(event, PodCustomIfUpdate):
            return self._rewire(PodID(event.namespace, event.pod_name))
        if isinstance(event, NodeUpdate) and self._ipam.ready:
            mesh = render_mesh(self.context(), self._nodesync.others())
            changes = _replace(self._mesh_keys, mesh)
            self._mesh_keys = set(mesh)
            return UpdateResult(event.describe(), changes)
        return UpdateResult()

    async def revert(self, event: Event, undo: Wiring | None) -> None:
        if undo is None:
            return
        if undo.previous is None:
            self._pod_keys.pop(undo.pod, None)
        else:
            self._pod_keys[undo.pod] = undo.previous

    def _add_pod(self, event: AddPod) -> UpdateResult[Wiring]:
        pod = pod_id(event)
        ip = self._ipam.ip_of(pod)
        if ip is None:
            raise RuntimeError(f"pod {pod}: no IP was allocated before wiring")
        ctx = self.context()
        local = self._pods.pods[pod]
        ips = self._ipam.custom_ips_of(pod)
        changes, previous = self._wire(ctx, local, ip, ips)
        result = pod_cni_result(ctx, local, ip)
        if local.custom:
            interfaces, addresses = custom_cni_entries(
                ctx, local, ips, len(result.interfaces), self._networks
            )
            result = replace(
                result,
                interfaces=result.interfaces + interfaces,
                ips=result.ips + addresses,
            )
        extra = f" and {len(local.custom)} custom interface(s)" if local.custom else ""
        return UpdateResult(
            f"pod {pod} wired with {ip}{extra}",
            changes,
            undo=Wiring(pod, previous),
            pod=result,
        )

    def _rewire(self, pod: PodID) -> UpdateResult[Wiring]:
        """Render a wired pod again (its custom interfaces changed): only what differs."""
        local = self._pods.pods.get(pod)
        ip = self._ipam.ip_of(pod)
        if local is None or ip is None or pod not in self._pod_keys:
            return UpdateResult()
        ips = self._ipam.custom_ips_of(pod)
        changes, previous = self._wire(self.context(), local, ip, ips)
        return UpdateResult(f"pod {pod} rewired", changes, undo=Wiring(pod, previous))

    def _wire(
        self, ctx: NodeContext, local: LocalPod, ip: IPAddress, ips: dict[str, IPAddress]
    ) -> tuple[Changes, set[str] | None]:
        """Render a pod, remember its keys; the changes from what it had, and what it had."""
        config = self._render_pod(ctx, local, ip, ips)
        previous = self._pod_keys.get(local.pod)
        self._pod_keys[local.pod] = set(config)
        return _replace(previous or set(), config), previous

    def _delete_pod(self, event: DeletePod) -> UpdateResult[Wiring]:
        pod = pod_id(event)
        local = self._pods.pods.get(pod)
        if local is None or local.container_id != event.request.container_id:
            return UpdateResult()  # not wired here, or an old sandbox's DEL after a newer ADD
        keys = self._pod_keys.pop(pod, set())
        changes: Changes = dict.fromkeys(sorted(keys))
        return UpdateResult(f"pod {pod} unwired" if keys else "", changes)

    def _render_pod(
        self, ctx: NodeContext, local: LocalPod, ip: IPAddress, ips: dict[str, IPAddress]
    ) -> Config:
        """The pod's values: its main interface and (``ips``: their addresses) its custom ones."""
        config = render_pod_vpp(ctx, local, ip, linux=self._linux is not None)
        if self._linux is not None:
            config.update(self._linux.render_pod(ctx, local, ip))
        if local.custom:
            config.update(
                render_custom_vpp(
                    ctx, local, ips, linux=self._linux is not None, networks=self._networks
                )
            )
            if self._linux is not None:
                config.update(render_custom_linux(ctx, local, ips, self._networks))
            config.update(render_microservice(ctx, local, ips))
        return config


def _replace(old: set[str], new: Config) -> Changes:
    """Delete what is no longer rendered, put what is."""
    changes: Changes = dict.fromkeys(sorted(old - set(new)))
    changes.update(new)
    return changes
