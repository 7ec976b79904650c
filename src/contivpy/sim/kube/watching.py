"""One open watch: the events of one resource after a version, filtered, then live.

In: the store, the resource, and the watch parameters of the request (namespace, selectors,
resourceVersion, allowWatchBookmarks, sendInitialEvents, timeoutSeconds). Out: an async iterator
of watch events as JSON dicts (``{"type": ..., "object": ...}``), as the HTTP module streams them.

Semantics follow the real API server:
- resourceVersion unset or "0": synthetic ADDED events for what exists now, then live events.
- resourceVersion N: every change after N from the store's window, then live events; N older
  than the window gives one ERROR event carrying Status 410 Expired, then the stream ends.
- Selectors are applied to both the old and the new object of a change, so an object that
  starts to match is ADDED and one that stops matching is DELETED (a pod bound to a node shows
  up as ADDED in a ``spec.nodeName=<node>`` watch).
- BOOKMARK events carry only metadata.resourceVersion; they are sent every bookmark interval
  while nothing else is pending, and once more just before a timeout ends the stream.
- A watch that falls ``queue_limit`` events behind is closed, as the real server closes
  unresponsive watchers; the client resumes from the last version it saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from contivpy.sim.kube.errors import bad_request, expired, too_large_resource_version
from contivpy.sim.kube.objects import JsonObject, namespace_of
from contivpy.sim.kube.resources import ResourceType
from contivpy.sim.kube.selectors import FieldSelector, LabelSelector
from contivpy.sim.kube.store import ObjectStore, StoreEvent

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """The watch parameters of one request."""

    namespace: str | None = None  # None: all namespaces
    labels: LabelSelector = field(default_factory=LabelSelector)
    fields: FieldSelector = field(default_factory=FieldSelector)
    resource_version: str = ""
    bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout: float | None = None  # seconds; None: until the server closes the watch


def parse_version(text: str) -> int:
    """A resourceVersion from a request; they are opaque to clients but integers here."""
    try:
        version = int(text)
    except ValueError:
        raise bad_request(f'resourceVersion: Invalid value: "{text}": must be an integer') from None
    if version < 0:
        raise bad_request(f'resourceVersion: Invalid value: "{text}": must be >= 0')
    return version


class Watch:
    """A subscriber of the store that turns changes into this watch's events."""

    def __init__(
        self,
        store: ObjectStore,
        resource_type: ResourceType,
        options: WatchOptions,
        *,
        bookmark_interval: float,
        queue_limit: int,
    ) -> None:
        self._store = store
        self._type = resource_type
        self._options = options
        self._bookmark_interval = bookmark_interval
        self._queue_limit = queue_limit
        self._initial: list[JsonObject] = []
        self._queue: asyncio.Queue[JsonObject | None] = asyncio.Queue()
        self._subscribed = False
        self.close_reason = ""

    def _matches(self, obj: JsonObject | None) -> bool:
        if obj is None:
            return False
        options = self._options
        if options.namespace is not None and namespace_of(obj) != options.namespace:
            return False
        return options.labels.matches(obj) and options.fields.matches(obj)

    def _event(self, kind: str, obj: JsonObject) -> JsonObject:
        return {"type": kind, "object": self._type.present(obj)}

    def _translate(self, event: StoreEvent) -> JsonObject | None:
        """The event this watch sees for a change, given what matched before and after."""
        was = self._matches(event.previous)
        if event.type == "DELETED":
            return self._event("DELETED", event.obj) if was else None
        now = self._matches(event.obj)
        if now:
            return self._event("MODIFIED" if was else "ADDED", event.obj)
        if was and event.previous is not None:
            # Left the selection: the last matching state, stamped with this change's version.
            metadata = {
                **event.previous["metadata"],
                "resourceVersion": str(event.resource_version),
            }
            return self._event("DELETED", {**event.previous, "metadata": metadata})
        return None

    def _bookmark(self, *, initial_events_end: bool = False) -> JsonObject:
        metadata: JsonObject = {"resourceVersion": str(self._store.resource_version)}
        if initial_events_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        return {
            "type": "BOOKMARK",
            "object": {
                "kind": self._type.kind,
                "apiVersion": self._type.api_version,
                "metadata": metadata,
            },
        }

    def start(self) -> None:
        """Compute the events before "now" and subscribe, in one step (no change in between)."""
        options = self._options
        store = self._store
        send_initial = options.send_initial_events
        if send_initial is None:
            send_initial = options.resource_version in ("", "0")
        if send_initial:
            current = store.objects(self._type.key, options.namespace)
            self._initial = [self._event("ADDED", o) for o in current if self._matches(o)]
            if options.send_initial_events and options.bookmarks:
                self._initial.append(self._bookmark(initial_events_end=True))
        elif options.resource_version not in ("", "0"):
            version = parse_version(options.resource_version)
            if version > store.resource_version:
                raise too_large_resource_version(version, store.resource_version)
            if not store.is_retained(version):
                status = expired(
                    f"too old resource version: {version} ({store.compacted_version})"
                ).to_status()
                self._initial = [{"type": "ERROR", "object": status}]
                self.close_reason = "expired"
                self._queue.put_nowait(None)
                return
            for change in store.events_after(self._type.key, version):
                if (event := self._translate(change)) is not None:
                    self._initial.append(event)
        store.subscribe(self._type.key, self)
        self._subscribed = True

    def deliver(self, event: StoreEvent) -> None:
        if self.close_reason:
            return
        translated = self._translate(event)
        if translated is None:
            return
        if self._queue.qsize() >= self._queue_limit:
            self.close("too slow")
            return
        self._queue.put_nowait(translated)

    def close(self, reason: str) -> None:
        """End the stream after the events already queued (idempotent)."""
        if not self.close_reason:
            self.close_reason = reason
            self._queue.put_nowait(None)
        self._unsubscribe()

    def _unsubscribe(self) -> None:
        if self._subscribed:
            self._store.unsubscribe(self._type.key, self)
            self._subscribed = False

    async def events(self) -> AsyncGenerator[JsonObject, None]:
        """The events to stream, ending at close, timeout or cancellation."""
        loop = asyncio.get_running_loop()
        timeout = self._options.timeout
        deadline = loop.time() + timeout if timeout is not None else None
        interval = self._bookmark_interval if self._options.bookmarks else None
        next_bookmark = loop.time() + interval if interval is not None else None
        try:
            for event in self._initial:
                yield event
            self._initial = []
            while True:
                now = loop.time()
                if deadline is not None and now >= deadline:
                    if interval is not None and self._queue.empty():
                        yield self._bookmark()
                    self.close_reason = self.close_reason or "timeout"
                    return
                if next_bookmark is not None and interval is not None and now >= next_bookmark:
                    if self._queue.empty():
                        yield self._bookmark()
                    next_bookmark = now + interval
                    continue
                waits = [t - now for t in (deadline, next_bookmark) if t is not None]
                try:
                    item = await asyncio.wait_for(self._queue.get(), min(waits) if waits else None)
                except TimeoutError:
                    continue
                if item is None:
                    return
                yield item
        finally:
            self._unsubscribe()
