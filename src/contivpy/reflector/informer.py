"""List+watch of one kind into the view: the reflector's informer.

In: a ``ReflectedKind``, a ``KubeSource``, the shared ``ReflectedView`` and the stats. Out: the
view kept equal to the API server's objects of that kind, each converted and encoded
(``converting`` + ``k8s_codec``), and counters of errors.

The loop: list (all pages, one version) -> replace the kind in the view (which asks for a
mark-and-sweep of it) -> watch from the list's version with bookmarks, re-watching from the
last version seen whenever the server ends a stream or the connection drops -> on 410 Gone,
list again. Errors back off (``retry_initial`` doubling to ``retry_max``); a kind the server
does not serve (a CRD not installed) counts as empty and is looked for again every
``missing_kind_retry`` seconds.

A malformed object (``ConversionError``) is logged, counted as an error and kept in
``stats.recent_errors``; the stream goes on. If the object was valid before, its last valid
state stays in the view (a typo in a pod's annotation must not tear its network down); one
never seen valid is not reflected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import structlog

from contivpy.backoff import Backoff
from contivpy.models.k8s_codec import encode, key_for, key_of, resource
from contivpy.reflector.converting import convert, object_name
from contivpy.reflector.errors import (
    ConversionError,
    KubeApiRequestError,
    KubeApiUnavailableError,
    ResourceExpiredError,
    ResourceNotServedError,
)
from contivpy.reflector.json_reading import FieldProblem
from contivpy.reflector.kinds import ReflectedKind
from contivpy.reflector.source import KubeSource, WatchedEvent
from contivpy.reflector.stats import ReflectorStats
from contivpy.reflector.view import ReflectedView

log = structlog.get_logger(__name__)


class Informer:
    """Keeps one kind of the view in step with the API server (see the module doc)."""

    def __init__(
        self,
        kind: ReflectedKind,
        source: KubeSource,
        view: ReflectedView,
        stats: ReflectorStats,
        *,
        retry: Backoff,
        missing_kind_retry: float,
    ) -> None:
        self.kind = kind
        self._source = source
        self._view = view
        self._stats = stats
        self._retry = retry
        self._missing_kind_retry = missing_kind_retry
        self._namespaced = resource(kind.resource).namespaced is not False
        self._served: bool | None = None  # unknown until the first list answers
        self._log = log.bind(kind=kind.resource)
        self.lists = 0  # completed (re)lists
        self.version = ""  # the last resourceVersion seen

    async def run(self) -> None:
        """List and watch until cancelled."""
        delays = self._retry.delays()
        while True:
            try:
                await self._relist()
                delays = self._retry.delays()
                await self._watch_until_expired()
                self._log.info("watch version expired (410); relisting", version=self.version)
            except ResourceNotServedError:
                self._not_served()
                await asyncio.sleep(self._missing_kind_retry)
            except (KubeApiUnavailableError, KubeApiRequestError, ResourceExpiredError) as error:
                # (Expired here: a list's continue token outlived the server's history.)
                await self._back_off(error, delays)

    async def _relist(self) -> None:
        listing = await self._source.list_objects(self.kind.path)
        if self._served is False:
            self._log.info("kind is served now")
        self._served = True
        previous = self._view.objects(self.kind.resource)
        objects: dict[str, bytes] = {}
        for obj in listing.items:
            if self.kind.skip(obj):
                continue
            entry = self._encoded(obj, previous)
            if entry is not None:
                objects[entry[0]] = entry[1]
        self._view.replace(self.kind.resource, objects)
        self._stats.set_objects(self.kind.resource, len(objects))
        self.version = listing.resource_version
        self.lists += 1
        self._log.debug("listed", objects=len(objects), version=self.version)

    async def _watch_until_expired(self) -> None:
        """Watch from ``self.version``, resuming after stream ends and connection errors;
        returns when the version has expired (410)."""
        delays = self._retry.delays()
        while True:
            delivered = False
            try:
                events = self._source.watch_objects(self.kind.path, self.version)
                async with contextlib.aclosing(events):
                    async for event in events:
                        self._apply(event)
                        delivered = True
            except ResourceExpiredError:
                return
            except (KubeApiUnavailableError, KubeApiRequestError) as error:
                await self._back_off(error, delays)
                continue
            if delivered:
                delays = self._retry.delays()
            else:  # a stream that ends at once, again and again, must not spin
                await asyncio.sleep(next(delays))

    def _apply(self, event: WatchedEvent) -> None:
        if event.resource_version:
            self.version = event.resource_version
        if event.type == "BOOKMARK" or self.kind.skip(event.object):
            return
        if event.type == "DELETED":
            key = self._key_from_metadata(event.object)
            if key is not None:
                self._view.remove(self.kind.resource, key)
        else:
            current: dict[str, bytes] = {}
            key = self._key_from_metadata(event.object)
            if key is not None and (value := self._view.get(self.kind.resource, key)) is not None:
                current[key] = value
            entry = self._encoded(event.object, current)
            if entry is not None:
                self._view.put(self.kind.resource, *entry)
        self._stats.set_objects(self.kind.resource, self._view.count(self.kind.resource))

    def _encoded(
        self, obj: Mapping[str, Any], previous: Mapping[str, bytes]
    ) -> tuple[str, bytes] | None:
        """(key, bytes) of an object; for a malformed one its last valid state, if any."""
        try:
            model = convert(self.kind.resource, obj)
            return key_of(model), encode(model)
        except (ConversionError, ValueError) as error:
            self._stats.record_error(self.kind.resource, str(error))
            self._log.warning("malformed object not reflected", error=str(error))
        key = self._key_from_metadata(obj)
        if key is not None and key in previous:
            return key, previous[key]
        return None

    def _key_from_metadata(self, obj: Mapping[str, Any]) -> str | None:
        try:
            name, namespace = object_name(obj)
            return key_for(self.kind.resource, name, namespace if self._namespaced else "")
        except (FieldProblem, ValueError) as error:
            self._stats.record_error(self.kind.resource, f"{self.kind.resource}: {error}")
            return None

    def _not_served(self) -> None:
        if self._served is not False:
            self._log.info("kind not served by the API server (CRD not installed?)")
        if self._served is not False:
            # Absent counts as empty: its objects in etcd are swept (once, not every poll).
            self._view.replace(self.kind.resource, {})
            self._stats.set_objects(self.kind.resource, 0)
        self._served = False
        self.version = ""

    async def _back_off(self, error: Exception, delays: Iterator[float]) -> None:
        delay = next(delays)
        self._stats.record_error(self.kind.resource, str(error))
        self._log.warning("API server error; retrying", error=str(error), retry_in=round(delay, 3))
        await asyncio.sleep(delay)
