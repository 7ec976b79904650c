"""The object store: every served object, one resourceVersion counter, and the event window.

In: whole objects to put (already defaulted and validated by the write path) and keys to
remove. Out: objects by key, lists (now, or as they were at an earlier version while the window
still holds the changes since), events after a version, and a synchronous fan-out of each change
to the watches subscribed to its resource.

One counter across all resources, like etcd's revision: every put or remove takes the next
number, and the object carries it as metadata.resourceVersion. The window keeps the last
``window`` changes of all resources; a version older than the window can no longer be watched
from or listed at, and callers answer 410 Gone. ``compact`` shrinks the window on demand.
Stored objects are never changed in place: a change stores a new dict.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

from contivpy.sim.kube.objects import JsonObject, name_of, namespace_of
from contivpy.sim.kube.resources import ResourceKey

EventType: TypeAlias = Literal["ADDED", "MODIFIED", "DELETED"]
ObjectKey: TypeAlias = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One change. For DELETED, ``obj`` is the last state stamped with the deletion's version."""

    resource_version: int
    key: ResourceKey
    type: EventType
    obj: JsonObject
    previous: JsonObject | None


class EventSink(Protocol):
    """A subscriber: a watch. ``deliver`` is called synchronously inside the change."""

    def deliver(self, event: StoreEvent) -> None: ...

    def close(self, reason: str) -> None: ...


def _stamp(obj: JsonObject, version: int) -> JsonObject:
    stamped = dict(obj)
    stamped["metadata"] = {**obj.get("metadata", {}), "resourceVersion": str(version)}
    return stamped


def _sorted(objects: Iterable[JsonObject]) -> list[JsonObject]:
    return sorted(objects, key=lambda o: (namespace_of(o), name_of(o)))


class ObjectStore:
    """In-memory objects per resource plus the retained change window."""

    def __init__(self, *, window: int = 10_000, first_version: int = 1) -> None:
        if window < 0:
            raise ValueError("window must be >= 0")
        self._objects: dict[ResourceKey, dict[ObjectKey, JsonObject]] = {}
        self._events: deque[StoreEvent] = deque()
        self._window = window
        self._version = first_version
        self._compacted = first_version  # watches may resume from any version >= this
        self._sinks: dict[ResourceKey, list[EventSink]] = {}
        self._observers: dict[ResourceKey, list[Callable[[StoreEvent], None]]] = {}
        self._change_callbacks: list[Callable[[], None]] = []
        self.puts = 0
        self.removes = 0

    @property
    def resource_version(self) -> int:
        """The version of the latest change (the store's "now")."""
        return self._version

    @property
    def compacted_version(self) -> int:
        """The oldest version a watch can resume from or a list can be served at."""
        return self._compacted

    def is_retained(self, version: int) -> bool:
        return version >= self._compacted

    def get(self, key: ResourceKey, namespace: str, name: str) -> JsonObject | None:
        return self._objects.get(key, {}).get((namespace, name))

    def objects(self, key: ResourceKey, namespace: str | None = None) -> list[JsonObject]:
        objects = self._objects.get(key, {})
        return _sorted(o for (ns, _), o in objects.items() if namespace in (None, ns))

    def count(self, key: ResourceKey) -> int:
        return len(self._objects.get(key, {}))

    def objects_at(self, key: ResourceKey, namespace: str | None, version: int) -> list[JsonObject]:
        """The objects as they were at ``version``; the caller checks ``is_retained`` first."""
        state = dict(self._objects.get(key, {}))
        for event in reversed(self._events):
            if event.resource_version <= version:
                break
            if event.key != key:
                continue
            object_key = (namespace_of(event.obj), name_of(event.obj))
            if event.previous is None:
                state.pop(object_key, None)
            else:
                state[object_key] = event.previous
        return _sorted(o for (ns, _), o in state.items() if namespace in (None, ns))

    def events_after(self, key: ResourceKey, version: int) -> list[StoreEvent]:
        """Changes of one resource with a version above ``version``, oldest first."""
        return [e for e in self._events if e.key == key and e.resource_version > version]

    def put(self, key: ResourceKey, obj: JsonObject) -> JsonObject:
        """Store ``obj`` (created or replaced) under the next version; returns what is stored."""
        object_key = (namespace_of(obj), name_of(obj))
        objects = self._objects.setdefault(key, {})
        previous = objects.get(object_key)
        self._version += 1
        stored = _stamp(obj, self._version)
        objects[object_key] = stored
        self.puts += 1
        self._record(
            StoreEvent(self._version, key, "MODIFIED" if previous else "ADDED", stored, previous)
        )
        return stored

    def remove(self, key: ResourceKey, namespace: str, name: str) -> JsonObject | None:
        """Delete one object; returns its last state stamped with the deletion's version."""
        previous = self._objects.get(key, {}).pop((namespace, name), None)
        if previous is None:
            return None
        self._version += 1
        gone = _stamp(previous, self._version)
        self.removes += 1
        self._record(StoreEvent(self._version, key, "DELETED", gone, previous))
        return gone

    def _record(self, event: StoreEvent) -> None:
        self._events.append(event)
        while len(self._events) > self._window:
            self._compacted = self._events.popleft().resource_version
        for observer in list(self._observers.get(event.key, ())):
            observer(event)
        for sink in list(self._sinks.get(event.key, ())):
            sink.deliver(event)
        for callback in list(self._change_callbacks):
            callback()

    def compact(self, keep: int = 0) -> int:
        """Forget all but the last ``keep`` changes (etcd compaction); returns the new floor."""
        while len(self._events) > keep:
            self._compacted = self._events.popleft().resource_version
        if keep == 0:
            self._compacted = self._version
        return self._compacted

    def subscribe(self, key: ResourceKey, sink: EventSink) -> None:
        self._sinks.setdefault(key, []).append(sink)

    def unsubscribe(self, key: ResourceKey, sink: EventSink) -> None:
        sinks = self._sinks.get(key, [])
        if sink in sinks:
            sinks.remove(sink)

    def observe(self, key: ResourceKey, observer: Callable[[StoreEvent], None]) -> None:
        """Call ``observer`` on every change of a resource: for controllers that run inside the
        stand-in (scheduler, kubelets). Unlike watches they are not counted or dropped."""
        self._observers.setdefault(key, []).append(observer)

    def unobserve(self, key: ResourceKey, observer: Callable[[StoreEvent], None]) -> None:
        observers = self._observers.get(key, [])
        if observer in observers:
            observers.remove(observer)

    def on_any_change(self, callback: Callable[[], None], *, remove: bool = False) -> None:
        """Call ``callback`` after every change of any resource (for waiting in tests)."""
        if remove:
            if callback in self._change_callbacks:
                self._change_callbacks.remove(callback)
        else:
            self._change_callbacks.append(callback)

    def watch_count(self) -> int:
        return sum(len(sinks) for sinks in self._sinks.values())

    def close_watches(self, reason: str, key: ResourceKey | None = None) -> int:
        """End every watch (of one resource, or all): clients see the stream close."""
        closed = 0
        for sink_key, sinks in list(self._sinks.items()):
            if key is not None and sink_key != key:
                continue
            for sink in list(sinks):
                sink.close(reason)
                closed += 1
        return closed

    def event_count(self) -> int:
        return len(self._events)
