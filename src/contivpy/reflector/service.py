"""The reflector assembled: informers, leader election, etcd writer, status, metrics.

In: ``ReflectorSettings``, a store and a ``KubeSource`` (``run_reflector`` opens both from the
settings). Out: ``Reflector.run``: every instance keeps an informer view of the cluster warm;
the elected one converges etcd to it (``mirror``), writes the CustomConfigurations' items
under ``/vnf-agent/<microservice>/`` with their status (``custom_config_writer``), reports
the ServiceFunctionChains' paths and the ExternalInterfaces' and CustomNetworks' problems
in their status (``crd_status``; statuses only when the source is also a ``KubeWriter``),
posts Warning Events on refused Services, Endpoints and NetworkPolicies (``refusal_events``), and
publishes its counters and checks for etcd data loss (``status``); Prometheus metrics are
served when a port is set.

Stopping: set the ``stop`` event for a graceful exit — the election lease is revoked, so a
standby takes over at once. Cancelling ``run`` is treated as a crash: the lease is left to
expire and a standby takes over within ``election_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from contivpy.backoff import Backoff
from contivpy.reflector.crd_status import STATUS_KINDS, CrdStatusWriter
from contivpy.reflector.custom_config_writer import KIND as CUSTOM_CONFIG_KIND
from contivpy.reflector.custom_config_writer import CustomConfigWriter
from contivpy.reflector.election import LeaderElection
from contivpy.reflector.informer import Informer
from contivpy.reflector.kinds import BY_RESOURCE
from contivpy.reflector.metrics_http import MetricsServer
from contivpy.reflector.mirror import EtcdMirror
from contivpy.reflector.named_port_events import NamedPortChecker
from contivpy.reflector.policy_events import PolicyChecker
from contivpy.reflector.refusal_events import RefusalEvents
from contivpy.reflector.service_events import ServiceChecker
from contivpy.reflector.settings import ReflectorSettings
from contivpy.reflector.source import KubeSource, KubeWriter
from contivpy.reflector.stats import ReflectorStats
from contivpy.reflector.status import StatusPublisher
from contivpy.reflector.tasks import first_completed
from contivpy.reflector.view import ReflectedView
from contivpy.reflector.watching import KubeApi
from contivpy.store import Store
from contivpy.store.factory import open_store

log = structlog.get_logger(__name__)

ELECTION_KEY = "election/leader"
STATUS_KEY = "status/gauges"


class Reflector:
    """One reflector instance (see the module doc)."""

    def __init__(self, settings: ReflectorSettings, store: Store, source: KubeSource) -> None:
        self.settings = settings
        self._store = store
        self._writer = source if isinstance(source, KubeWriter) else None
        kinds = [BY_RESOURCE[name] for name in settings.kinds]
        self.view = ReflectedView(kind.resource for kind in kinds)
        self.stats = ReflectorStats(kind.resource for kind in kinds)
        self._retry = Backoff(initial=settings.retry_initial, maximum=settings.retry_max)
        self.informers = [
            Informer(
                kind,
                source,
                self.view,
                self.stats,
                retry=self._retry,
                missing_kind_retry=settings.missing_kind_retry,
            )
            for kind in kinds
        ]
        self.election = LeaderElection(
            store,
            settings.prefix + ELECTION_KEY,
            settings.identity,
            ttl=settings.election_ttl,
            retry=self._retry,
        )
        self.mirror: EtcdMirror | None = None  # the current term's writer, while leading
        self.custom_config: CustomConfigWriter | None = None
        self.crd_status: CrdStatusWriter | None = None
        self.refusal_events: RefusalEvents | None = None
        self.status: StatusPublisher | None = None
        self.metrics_port: int | None = None

    @property
    def leading(self) -> bool:
        return self.election.leading

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Reflect until ``stop`` is set (then hand leadership over) or until cancelled."""
        log.info(
            "reflector starting",
            identity=self.settings.identity,
            prefix=self.settings.prefix,
            kinds=list(self.settings.kinds),
        )
        async with contextlib.AsyncExitStack() as stack:
            if self.settings.metrics_port is not None:
                server = MetricsServer(
                    self.stats.registry, self.settings.metrics_host, self.settings.metrics_port
                )
                self.metrics_port = (await stack.enter_async_context(server)).port
            stopping = stop or asyncio.Event()  # without one, only cancellation ends it
            await first_completed(
                stopping.wait(),
                self.election.run(self._lead),
                *(informer.run() for informer in self.informers),
            )
        await self.election.release()
        log.info("reflector stopped", identity=self.settings.identity)

    async def _lead(self) -> None:
        self.stats.set_leader(True)
        fence = self.election.fence()
        self.mirror = EtcdMirror(
            self._store,
            self.view,
            self.stats,
            prefix=self.settings.prefix,
            agent_prefix=self.settings.agent_prefix,
            fence=fence,
            retry=self._retry,
        )
        self.status = StatusPublisher(
            self._store,
            self.view,
            self.stats,
            key=self.settings.prefix + STATUS_KEY,
            fence=fence,
            interval=self.settings.status_interval,
        )
        writers = [self.mirror.run(), self.status.run()]
        if CUSTOM_CONFIG_KIND in self.view.kinds:
            self.custom_config = CustomConfigWriter(
                self._store,
                self.view,
                self._writer,
                prefix=self.settings.prefix,
                agent_prefix=self.settings.agent_prefix,
                fence=fence,
                retry=self._retry,
            )
            writers.append(self.custom_config.run())
        if any(kind in self.view.kinds for kind in STATUS_KINDS):
            self.crd_status = CrdStatusWriter(
                self._store,
                self.view,
                self._writer,
                prefix=self.settings.prefix,
                fence=fence,
                retry=self._retry,
            )
            writers.append(self.crd_status.run())
        refusals = RefusalEvents(
            self._store,
            self.view,
            self._writer,
            (ServiceChecker(), PolicyChecker(), NamedPortChecker()),
            fence=fence,
            retry=self._retry,
        )
        if refusals.kinds:
            self.refusal_events = refusals
            writers.append(refusals.run())
        try:
            await first_completed(*writers)
        finally:
            self.stats.set_leader(False)


async def run_reflector(settings: ReflectorSettings, *, stop: asyncio.Event | None = None) -> None:
    """Open the store (an embedded etcd when no endpoints are set) and the Kubernetes client
    the settings name, and run a ``Reflector`` until ``stop`` is set or it is cancelled."""
    async with (
        open_store(settings.store, embedded_workdir=settings.embedded_workdir) as store,
        KubeApi.connect(
            settings.kubeconfig, context=settings.kube_context, watch_timeout=settings.watch_timeout
        ) as source,
    ):
        await Reflector(settings, store, source).run(stop)
