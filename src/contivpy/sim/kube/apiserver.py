"""The API server without HTTP: the store, the served resources and the verbs, joined.

In: settings (window size, bookmark interval, watch limits, service CIDR). Out: one object the
HTTP module and the Python API both call, so a test that writes through Python and a client
that writes over HTTP get the same rules and the same events. ``bootstrap`` creates what every
cluster has: the default, kube-system, kube-public and kube-node-lease namespaces and the
``kubernetes`` service.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from contivpy.sim.kube.defaults import Defaulter
from contivpy.sim.kube.errors import KubeApiError, bad_request
from contivpy.sim.kube.listing import list_objects
from contivpy.sim.kube.objects import JsonObject
from contivpy.sim.kube.resources import ResourceRegistry, ResourceType
from contivpy.sim.kube.selectors import parse_field_selector, parse_label_selector
from contivpy.sim.kube.store import ObjectStore
from contivpy.sim.kube.watching import Watch, WatchOptions
from contivpy.sim.kube.writes import ObjectWriter

BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True, slots=True)
class ApiServerSettings:
    """How the stand-in behaves where a real API server is configured or has limits."""

    window: int = 10_000  # changes kept for watch resume and consistent lists (then 410)
    bookmark_interval: float = 60.0  # seconds between BOOKMARK events, when asked for
    watch_queue_limit: int = 10_000  # events a watch may fall behind before it is closed
    default_watch_timeout: float | None = None  # seconds when a watch names none; None: endless
    service_cidr: str = "10.96.0.0/12"
    bootstrap: bool = True  # create the standard namespaces and the kubernetes service


class ApiServer:
    """Resource look-up, list, watch and the write verbs over one store."""

    def __init__(self, settings: ApiServerSettings | None = None) -> None:
        self.settings = settings or ApiServerSettings()
        self.store = ObjectStore(window=self.settings.window)
        self.registry = ResourceRegistry()
        self.defaulter = Defaulter(self.store, self.settings.service_cidr)
        self.writer = ObjectWriter(self.store, self.registry, self.defaulter)
        self.watches_closed: Counter[str] = Counter()  # why watches ended: timeout, dropped, ...

    def bootstrap(self, api_host: str, api_port: int) -> None:
        """Create what a fresh cluster has; the kubernetes service points at this server."""
        if not self.settings.bootstrap:
            return
        namespaces = self.resource("v1", "Namespace")
        for name in BOOTSTRAP_NAMESPACES:
            self.writer.create(namespaces, "", {"metadata": {"name": name}})
        service = {
            "metadata": {
                "name": "kubernetes",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": self.defaulter.kubernetes_service_ip(),
                "ports": [{"name": "https", "port": 443, "targetPort": api_port}],
            },
        }
        self.writer.create(self.resource("v1", "Service"), "default", service)
        endpoints = {
            "metadata": {"name": "kubernetes"},
            "subsets": [
                {
                    "addresses": [{"ip": api_host}],
                    "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}],
                }
            ],
        }
        self.writer.create(self.resource("v1", "Endpoints"), "default", endpoints)

    def resource(self, api_version: str, kind: str) -> ResourceType:
        """The served resource for a manifest's apiVersion and kind (404 when not served)."""
        found = self.registry.by_kind(api_version, kind)
        if found is None:
            raise KubeApiError(
                404,
                "NotFound",
                f"the server could not find the requested resource ({kind} in {api_version})",
            )
        return found

    def list(
        self,
        resource_type: ResourceType,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        resource_version_match: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> JsonObject:
        if limit < 0:
            raise bad_request("limit must be >= 0")
        return list_objects(
            self.store,
            resource_type,
            namespace=namespace,
            labels=parse_label_selector(label_selector),
            fields=parse_field_selector(
                field_selector, resource_type.field_labels, resource_type.field_aliases
            ),
            resource_version=resource_version,
            resource_version_match=resource_version_match,
            limit=limit,
            continue_token=continue_token,
        )

    def open_watch(
        self,
        resource_type: ResourceType,
        namespace: str | None,
        *,
        name: str = "",
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        bookmarks: bool = False,
        send_initial_events: bool | None = None,
        timeout: float | None = None,
    ) -> Watch:
        """A started watch (events before "now" computed, subscribed to changes)."""
        fields = parse_field_selector(
            field_selector, resource_type.field_labels, resource_type.field_aliases
        )
        if name:
            fields = fields.with_name(name)
        options = WatchOptions(
            namespace=namespace,
            labels=parse_label_selector(label_selector),
            fields=fields,
            resource_version=resource_version,
            bookmarks=bookmarks,
            send_initial_events=send_initial_events,
            timeout=timeout if timeout is not None else self.settings.default_watch_timeout,
        )
        watch = Watch(
            self.store,
            resource_type,
            options,
            bookmark_interval=self.settings.bookmark_interval,
            queue_limit=self.settings.watch_queue_limit,
        )
        watch.start()
        return watch

    def drop_watches(self, reason: str = "dropped") -> int:
        """End every open watch, as an API server restart does; clients resume from their RV."""
        return self.store.close_watches(reason)

    def stats(self) -> JsonObject:
        """Counters for tests and the demo: objects per resource, versions, watches."""
        objects = {
            f"{t.plural}.{t.group}" if t.group else t.plural: self.store.count(t.key)
            for t in self.registry
        }
        return {
            "resourceVersion": self.store.resource_version,
            "compactedVersion": self.store.compacted_version,
            "retainedEvents": self.store.event_count(),
            "objects": dict(sorted(objects.items())),
            "puts": self.store.puts,
            "removes": self.store.removes,
            "openWatches": self.store.watch_count(),
            "watchesClosed": dict(self.watches_closed),
        }
