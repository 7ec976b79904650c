"""The node agent: everything that runs on one node, wired together.

In: an AgentConfig and a connected Store (etcd). Out, once started: the VPP client and the
scheduler with VPP (and Linux) descriptors, a refresh-only start against what VPP holds, the
controllers on one event loop fed from etcd (DbWatcher), the RemoteCNI server for the CNI
plugin, the debug gRPC API, and the VPP connection watched (a VPP restart becomes a
downstream resync event); given ``AgentMetrics``, every part reports to them. ``stop`` takes
it all down in reverse order.

This is the one place the agent's parts are created; tests and the demo build agents here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

import contivpy
from contivpy.agent import inventory
from contivpy.agent.cni_bridge import CniBridge, MemifGrants
from contivpy.agent.metrics import AgentMetrics, AgentReadings
from contivpy.agent.nat_view import nat_sessions
from contivpy.agent.node_reports import ExternalInterfaceReports
from contivpy.api.cni_server import CniServer
from contivpy.api.device_plugin import MemifDevicePlugin
from contivpy.api.introspection import (
    AgentPhase,
    AgentStatus,
    CliOutput,
    IpamView,
    NatSessionsView,
    NodeView,
    PodView,
)
from contivpy.api.pod_resources import MemifPodLookup, PodResourcesClient
from contivpy.api.server import DebugServer, DebugServerSettings
from contivpy.async_service import cancel_and_wait
from contivpy.cni.types import PodRef
from contivpy.controllers.custom_networks import CustomNetworks
from contivpy.controllers.customconfig import CustomConfig
from contivpy.controllers.extif import ExternalInterfaces
from contivpy.controllers.id_pool import vni_pool, vrf_pool
from contivpy.controllers.ipam import Ipam
from contivpy.controllers.ipnet import IpNet, LinuxRenderer
from contivpy.controllers.nodesync import NodeSync
from contivpy.controllers.podmanager import PodManager
from contivpy.controllers.policies import Policies
from contivpy.controllers.services import Services, ServiceSettings
from contivpy.controllers.sfc import Sfc
from contivpy.controllers.state_file import StateFile
from contivpy.descriptors.registration import register_vpp_descriptors
from contivpy.descriptors.vnf_config import VnfConfigDescriptor
from contivpy.deviceplugin import (
    DEFAULT_DEVICE_COUNT,
    DEFAULT_DEVICE_PLUGINS_DIR,
    DEFAULT_MEMIF_DIR,
    DEFAULT_POD_RESOURCES_SOCKET,
    MemifAllocations,
    MemifGrant,
    MemifPluginSettings,
)
from contivpy.errors import ContivpyError
from contivpy.events.dbwatch import DbWatcher
from contivpy.events.history import EventHistory
from contivpy.events.loop import EventLoop, LoopSettings
from contivpy.events.types import Controller
from contivpy.linux.netlink import Netlink
from contivpy.logs import change_level
from contivpy.models.k8s_codec import DEFAULT_PREFIX, decode
from contivpy.scheduler import RetryPolicy, Scheduler
from contivpy.settings import AgentSettings
from contivpy.store import Store
from contivpy.vppcalls.cli import cli_inband
from contivpy.vppcalls.client import VppClient, VppConnected, VppDisconnected

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AgentPaths:
    """Where the agent finds VPP and serves its APIs."""

    state_dir: Path
    vpp_socket: Path = Path("/run/vpp/api.sock")
    cni_socket: Path = Path("/run/contivpy/cni.sock")
    debug_socket: Path | None = Path("/run/contivpy/debug.sock")


@dataclass(frozen=True, slots=True)
class MemifPluginConfig:
    """The memif device plugin the agent runs (contivpp.io/memif, for pods' custom memifs)."""

    enabled: bool = False
    device_plugins_dir: Path = DEFAULT_DEVICE_PLUGINS_DIR  # kubelet's; the plugin serves there
    memif_dir: Path = DEFAULT_MEMIF_DIR  # each allocation's socket directory goes under it
    device_count: int = DEFAULT_DEVICE_COUNT  # devices advertised: memif pods per node
    pod_resources_socket: Path = DEFAULT_POD_RESOURCES_SOCKET  # kubelet's pod-resources API

    def plugin_settings(self) -> MemifPluginSettings:
        return MemifPluginSettings(
            device_plugins_dir=self.device_plugins_dir,
            memif_dir=self.memif_dir,
            device_count=self.device_count,
        )


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Everything a node agent is started with."""

    settings: AgentSettings
    paths: AgentPaths
    ksr_prefix: str = DEFAULT_PREFIX
    configure_linux: bool = True  # False: pods have no real netns (the demo)
    concurrency: int = 16
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    healing_delay: float = 5.0
    vpp_wait: float = 30.0  # how long a CNI ADD waits for a disconnected VPP
    memif_plugin: MemifPluginConfig = field(default_factory=MemifPluginConfig)
    # where a pod's memif grant is looked up when the plugin is not enabled (tests, benches);
    # neither: a pod asking for memifs is refused
    memif_grants: MemifGrants | None = None
    services: ServiceSettings = field(default_factory=ServiceSettings)


class NodeAgent:
    """One node's agent (see the module docstring)."""

    def __init__(
        self, config: AgentConfig, store: Store, *, metrics: AgentMetrics | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.started_at = time.time()
        # Each part reports to the metrics (if any) through the small observer protocol it
        # defines itself; without metrics nothing is measured (tests, benches).
        self.metrics = metrics
        self.vpp = VppClient(str(config.paths.vpp_socket), observer=metrics)
        self.scheduler = Scheduler(concurrency=config.concurrency, retry=config.retry)
        settings = config.settings
        state = config.paths.state_dir
        self.nodesync = NodeSync(settings.node_name, store, key_prefix=config.ksr_prefix)
        # Without the Linux side, pods are simulated: their netns paths are names only.
        self.pods = PodManager(
            StateFile(state / "pods.json"),
            netns_exists=os.path.exists if config.configure_linux else _always,
        )
        owner = settings.node_name
        # A pool instance per controller: what one learnt is its own (each forgets its own at
        # a resync and releases only what it learnt; etcd keeps them consistent).
        self.networks = CustomNetworks(
            settings,
            self.nodesync,
            self.pods,
            vni_pool(store, key_prefix=config.ksr_prefix, owner=owner),
            vrf_pool(store, key_prefix=config.ksr_prefix, owner=owner),
        )
        self.pods.networks = self.networks
        self.ipam = Ipam(
            settings.ipam,
            self.nodesync,
            self.pods,
            StateFile(state / "ipam.json"),
            self.networks,
        )
        self.ipnet = IpNet(
            settings,
            self.nodesync,
            self.ipam,
            self.pods,
            linux=self._linux_renderer(),
            networks=self.networks,
        )
        self.customconfig = CustomConfig(settings.node_name)
        self.extif = ExternalInterfaces(settings, self.networks)
        nodesync = self.nodesync
        self.sfc = Sfc(
            settings.node_name,
            self.pods,
            node_ids=lambda: {name: info.id for name, info in nodesync.nodes.items()},
            addresses=self.ipnet.underlay_addresses,
            vnis=vni_pool(store, key_prefix=config.ksr_prefix, owner=owner),
            main_vrf=settings.main_vrf_id,
        )
        self.services = Services(settings, self.nodesync, self.ipam, self.pods, config.services)
        self.policies = Policies(settings, self.ipam, self.pods)
        controllers: list[Controller[Any]] = [
            self.nodesync,
            self.pods,
            self.networks,
            self.ipam,
            self.ipnet,
            self.extif,
            self.sfc,
            self.services,
            self.policies,
            self.customconfig,
        ]
        self.history = EventHistory()
        self.loop = EventLoop(
            controllers,
            self.scheduler,
            settings=LoopSettings(healing_delay=config.healing_delay),
            history=self.history,
            observer=metrics,
        )
        self.reports = ExternalInterfaceReports(
            settings.node_name,
            self.extif,
            self.scheduler,
            store,
            key_prefix=config.ksr_prefix,
            started=self.loop.wait_started,
        )
        self.memif_plugin: MemifDevicePlugin | None = None
        memif_grants, memif_release = config.memif_grants, None
        if config.memif_plugin.enabled:
            allocations = MemifAllocations(config.memif_plugin.memif_dir, state)
            self.memif_plugin = MemifDevicePlugin(
                allocations, config.memif_plugin.plugin_settings()
            )
            client = PodResourcesClient(config.memif_plugin.pod_resources_socket)
            lookup = MemifPodLookup(allocations, client)

            async def memif_grants_of(pod: PodRef) -> MemifGrant | None:
                return await lookup.memif_allocation_of(pod.namespace, pod.name)

            memif_grants, memif_release = memif_grants_of, allocations.release_grant
        self.cni = CniBridge(
            self.loop,
            self.pods,
            vpp_ready=self.vpp.wait_connected,
            vpp_connected=lambda: self.vpp.connected,
            vpp_wait=config.vpp_wait,
            memif_grants=memif_grants,
            memif_release=memif_release,
            observer=metrics,
        )
        self.vpp_restarts = 0
        self.vpp_last_restart = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._servers: contextlib.AsyncExitStack | None = None
        self._netlink: Netlink | None = None
        self._phase = AgentPhase.STARTING
        self._watcher: DbWatcher | None = None
        if metrics is not None:
            metrics.watch(self._readings())

    def _readings(self) -> AgentReadings:
        """What the metrics read of this agent when scraped."""
        return AgentReadings(
            event_queue_length=lambda: self.loop.queue_depth,
            loop=self.loop.stats,
            scheduler=self.scheduler.stats,
            pods=lambda: len(self.pods.pods),
            etcd_reconnects=lambda: self._watcher.reconnects if self._watcher is not None else 0,
        )

    def _linux_renderer(self) -> LinuxRenderer | None:
        if not self.config.configure_linux:
            return None
        from contivpy.controllers.ipnet_linux import LinuxSide

        return LinuxSide()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, vpp_timeout: float | None = None) -> None:
        """Connect to VPP, record what it holds, start the loop, the watch and the servers.

        Cut short (an error, or cancelled: a signal while it waits for VPP), it leaves
        nothing running."""
        log.info("agent starting", node=self.config.settings.node_name)
        self._phase = AgentPhase.WAITING_FOR_VPP
        try:
            await self._start(vpp_timeout)
        except BaseException:
            await self.stop()
            raise
        self._phase = AgentPhase.FIRST_RESYNC  # RUNNING once the loop has done it (``phase``)
        # Everything built so far lives as long as the agent: keep it out of the garbage
        # collector's full passes, which otherwise stall CNI requests for tens of ms.
        gc.freeze()
        log.info("agent started", node=self.config.settings.node_name)

    async def _start(self, vpp_timeout: float | None) -> None:
        await self.vpp.start(connect_timeout=vpp_timeout)
        register_vpp_descriptors(self.scheduler, self.vpp)
        # what CNF pods' own agents apply: written to their etcd subtrees
        self.scheduler.register(VnfConfigDescriptor(self.store, self.config.settings.node_name))
        if self.config.configure_linux:
            from contivpy.linux.registration import register_linux_descriptors

            self._netlink = Netlink()
            register_linux_descriptors(self.scheduler, self._netlink)
        await self.scheduler.start()  # refresh-only: nothing is changed before the resync
        self.loop.start()
        watcher = DbWatcher(self.store, self.config.ksr_prefix, decode, self.loop)
        self._watcher = watcher
        self._tasks = [
            asyncio.create_task(watcher.run(), name="dbwatch"),
            asyncio.create_task(self._watch_vpp(), name="vpp-watch"),
            asyncio.create_task(self.reports.run(), name="node-reports"),
        ]
        stack = contextlib.AsyncExitStack()
        self._servers = stack  # ``stop`` closes what was entered, also when cut short
        await stack.enter_async_context(CniServer(self.cni, self.config.paths.cni_socket))
        if self.config.paths.debug_socket is not None:
            debug = DebugServerSettings(socket_path=self.config.paths.debug_socket)
            await stack.enter_async_context(DebugServer(self, debug))
        if self.memif_plugin is not None:
            try:
                await stack.enter_async_context(self.memif_plugin)
            except (OSError, ContivpyError) as error:
                # Pods without memifs must not suffer (Contiv: init failures are non-fatal);
                # a pod asking for memifs gets no grant and is refused, naming the resource.
                log.error("memif device plugin not started", error=str(error))

    async def stop(self) -> None:
        """Stop serving, stop the loop and the scheduler, disconnect from VPP. Safe to call
        on an agent in any phase, and more than once."""
        self._phase = AgentPhase.STOPPING
        if self._servers is not None:
            await self._servers.aclose()
            self._servers = None
        await cancel_and_wait(self._tasks)
        self._tasks = []
        await self.loop.stop()
        await self.scheduler.stop()
        await self.vpp.close()
        if self._netlink is not None:
            await self._netlink.close()
            self._netlink = None

    async def wait_ready(self) -> None:
        """Return once the first resync has been processed."""
        await self.loop.wait_started()

    @property
    def phase(self) -> AgentPhase:
        """Where the agent is in its life (WAITING_FOR_VPP inside ``start``)."""
        if self._phase is AgentPhase.FIRST_RESYNC and self.loop.started:
            return AgentPhase.RUNNING
        return self._phase

    @property
    def waiting_for(self) -> str:
        """What the agent waits for in its phase ("" for nothing)."""
        if self._phase is AgentPhase.WAITING_FOR_VPP:
            return f"VPP at {self.config.paths.vpp_socket}"
        return ""

    async def _watch_vpp(self) -> None:
        while True:
            event = await self.vpp.connection_events.get()
            if isinstance(event, VppDisconnected):
                log.warning("VPP disconnected", reason=event.reason)
                # Events wait from now on: VPP may come back without its state, and nothing
                # may touch it before the resync that rebuilds it (dataplane_back).
                self.loop.dataplane_lost()
                continue
            if isinstance(event, VppConnected) and event.reconnected:
                if event.restarted:
                    self.vpp_restarts += 1
                    self.vpp_last_restart = time.time()
                if self.metrics is not None:
                    self.metrics.vpp_reconnected(restarted=event.restarted)
                reason = "VPP restarted" if event.restarted else "VPP reconnected"
                log.warning(reason, pid=event.pid)
                self.loop.dataplane_back(f"{reason} (pid {event.pid})")

    # --- introspection (debug API) -------------------------------------------------------

    @property
    def event_history(self) -> EventHistory:
        """The event loop's history."""
        return self.history

    def agent_status(self) -> AgentStatus:
        """The agent's state now."""
        stats = self.loop.stats
        return AgentStatus(
            node_name=self.config.settings.node_name,
            version=contivpy.__version__,
            started_at=self.started_at,
            phase=self.phase,
            waiting_for=self.waiting_for,
            store_endpoint=self.store.endpoint_in_use,
            vpp_connected=self.vpp.connected,
            vpp_pid=self.vpp.pid or 0,
            vpp_last_restart=self.vpp_last_restart,
            vpp_restarts=self.vpp_restarts,
            event_queue_depth=self.loop.queue_depth,
            event_queue_capacity=self.loop.settings.queue_size,
            event_queue_overflows=stats.overflows,
            counters={
                "events.processed": stats.processed,
                "events.failed": stats.failed,
                "events.healings_scheduled": stats.healings_scheduled,
                "node.id": self.nodesync.node_id or 0,
                "pods.local": len(self.pods.pods),
            },
        )

    def pod_views(self) -> list[PodView]:
        """The pods wired on this node (``ctl pods``)."""
        return inventory.pods(self)

    def node_views(self) -> list[NodeView]:
        """Every node with an ID and this node's tunnel to it (``ctl nodes``)."""
        return inventory.nodes(self)

    def ipam_view(self) -> IpamView:
        """This node's address plan and allocations (``ctl ipam``)."""
        return inventory.ipam(self)

    async def vpp_cli(self, command: str) -> CliOutput:
        """One VPP CLI command through the API (``ctl vpp cli``); memif secrets masked."""
        reply = await cli_inband(self.vpp, command)
        return CliOutput(inventory.masked(self, reply.text), reply.ok)

    async def nat_sessions(self) -> NatSessionsView:
        """The NAT44-ED sessions VPP holds (``ctl nat sessions``)."""
        return await nat_sessions(self.vpp)

    def set_log_level(self, level: str) -> str:
        """Change the process's log level now (``ctl log-level``); the previous one."""
        return change_level(level)


def _always(_: str) -> bool:
    return True
