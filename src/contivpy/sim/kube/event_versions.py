"""Events in both API versions: core/v1 ``Event`` (stored) and events.k8s.io/v1 ``Event``.

In: an Event in one shape. Out: the same Event in the other shape. The real API server keeps
one storage for both versions and converts on every read and write; the stand-in does the same:
events are stored as core/v1 Events, and the events.k8s.io/v1 resource is a view of them.

Field pairs (core/v1 <-> events.k8s.io/v1): involvedObject <-> regarding, message <-> note,
reportingComponent <-> reportingController, source <-> deprecatedSource, firstTimestamp <->
deprecatedFirstTimestamp, lastTimestamp <-> deprecatedLastTimestamp, count <-> deprecatedCount;
metadata, type, reason, action, related, series, eventTime and reportingInstance are the same.
``EVENTS_V1_FIELD_ALIASES`` maps events.k8s.io field selector labels to the stored fields.
"""

from __future__ import annotations

from contivpy.sim.kube.objects import JsonObject

# (core/v1 field, events.k8s.io/v1 field)
_RENAMED = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)
_SAME = (
    "metadata",
    "type",
    "reason",
    "action",
    "related",
    "series",
    "eventTime",
    "reportingInstance",
)

EVENTS_V1_FIELD_ALIASES = {
    "regarding.kind": "involvedObject.kind",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name",
    "regarding.uid": "involvedObject.uid",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
}


def _moved(obj: JsonObject, pairs: tuple[tuple[str, str], ...]) -> JsonObject:
    moved = {field: obj[field] for field in _SAME if field in obj}
    for source, target in pairs:
        if source in obj:
            moved[target] = obj[source]
    return moved


def to_events_v1(core: JsonObject) -> JsonObject:
    """A stored core/v1 Event as events.k8s.io/v1 shows it."""
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", **_moved(core, _RENAMED)}


def to_core_v1(event: JsonObject) -> JsonObject:
    """An events.k8s.io/v1 Event (as written by a client) in the stored core/v1 shape."""
    swapped = tuple((target, source) for source, target in _RENAMED)
    return {"apiVersion": "v1", "kind": "Event", **_moved(event, swapped)}
