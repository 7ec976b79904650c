"""A custom resource's ``status`` and Events, written by the reflector's leader.

In: a ``KubeWriter`` (None: nothing is written), the kind of the objects (for their Events),
and per object its API path and what its status should say (``Readiness``). Out: the
object's ``/status`` merge-patched when it says something else (``lastTransitionTime`` aside),
an Event on the object when a status is written (Warning for a failure; Normal for a success
where the caller asks for it), and a log line.

The status has the shape Contiv-VPP's CRDs carried (``status`` Success/Failure, ``reason``,
``message``) plus a ``Ready`` condition. ``lastTransitionTime`` moves only when the condition's
``status`` flips, as Kubernetes' conventions say. What was last written (or found equal) is
remembered per path, so an unchanged status costs no request; a new reporter (a new leader)
reads each object once and writes nothing where the status already says it. An object gone
meanwhile, or an API server away, is logged and tried again on a later pass.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog

from contivpy.reflector.errors import LeadershipLostError, ReflectorError
from contivpy.reflector.source import JsonObject, KubeWriter

log = structlog.get_logger(__name__)

COMPONENT = "contivpy-reflector"
API_VERSION = "contivpp.io/v1"
_TIME = "lastTransitionTime"
_FIELDS = ("status", "reason", "message")


@dataclass(frozen=True, slots=True)
class Readiness:
    """What an object's status should say."""

    ready: bool
    reason: str
    message: str

    def status(self) -> JsonObject:
        """The ``status`` (timestamps are added when it is written)."""
        return {
            "status": "Success" if self.ready else "Failure",
            "reason": self.reason,
            "message": self.message,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if self.ready else "False",
                    "reason": self.reason,
                    "message": self.message,
                }
            ],
        }


def object_path(plural: str, namespace: str, name: str, api_version: str = API_VERSION) -> str:
    """A custom resource's API path (without ``/namespaces/`` for a cluster-scoped one)."""
    where = f"/namespaces/{namespace}" if namespace else ""
    return f"/apis/{api_version}{where}/{plural}/{name}"


class ObjectStatus:
    """Writes the statuses and Events of one kind's objects (see the module doc).

    ``guard`` runs before every write; it raises ``LeadershipLostError`` when this instance
    no longer leads (that error, and only that, comes out of ``report``)."""

    def __init__(
        self,
        kube: KubeWriter | None,
        kind: str,
        *,
        api_version: str = API_VERSION,
        guard: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._kube = kube
        self._kind = kind
        self._api_version = api_version
        self._guard = guard
        self._said: dict[str, JsonObject] = {}  # path -> what the object's status says
        self.writes = 0  # statuses written
        self.events = 0  # Events created

    async def report(self, path: str, wanted: Readiness, *, success_event: bool = False) -> bool:
        """Make the object at ``path`` say ``wanted``; True when its status was written."""
        status = wanted.status()
        if self._kube is None or same_status(self._said.get(path), status):
            return False
        try:
            obj = await self._kube.get_object(path)
            current = obj.get("status")
            if same_status(current, status):
                self._said[path] = status
                return False
            if self._guard is not None:
                await self._guard()
            status = _stamped(status, current)
            await self._kube.merge_patch(path + "/status", {"status": status})
            self._said[path] = status
            self.writes += 1
            self._log(obj, wanted)
            if not wanted.ready or success_event:
                await self._kube.create_object(self._events_path(obj), self._event(obj, wanted))
                self.events += 1
        except LeadershipLostError:
            raise
        except ReflectorError as error:
            # Gone meanwhile, or the API server is away: a later pass tries again.
            log.info("status not written", kind=self._kind, object=path, error=str(error))
            return False
        return True

    def keep(self, paths: Iterable[str]) -> None:
        """Forget what the other objects' statuses said (they are gone)."""
        kept = set(paths)
        for path in self._said.keys() - kept:
            del self._said[path]

    def _log(self, obj: JsonObject, wanted: Readiness) -> None:
        name = _object_name(obj)
        if wanted.ready:
            log.info("status", kind=self._kind, object=name, reason=wanted.reason)
        else:
            log.warning(
                "status: not ready",
                kind=self._kind,
                object=name,
                reason=wanted.reason,
                message=wanted.message,
            )

    def _events_path(self, obj: JsonObject) -> str:
        # Events of a cluster-scoped object go to "default", as Kubernetes' recorder puts them.
        namespace = _metadata(obj).get("namespace") or "default"
        return f"/api/v1/namespaces/{namespace}/events"

    def _event(self, obj: JsonObject, wanted: Readiness) -> JsonObject:
        metadata = _metadata(obj)
        now = _now()
        return {
            "metadata": {
                "generateName": f"{metadata.get('name', '')}.",
                "namespace": metadata.get("namespace") or "default",
            },
            "involvedObject": {
                "apiVersion": self._api_version,
                "kind": self._kind,
                "namespace": metadata.get("namespace", ""),
                "name": metadata.get("name", ""),
                "uid": metadata.get("uid", ""),
            },
            "reason": wanted.reason,
            "message": wanted.message,
            "type": "Normal" if wanted.ready else "Warning",
            "count": 1,
            "source": {"component": COMPONENT},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": COMPONENT,
        }


def same_status(status: object, wanted: JsonObject) -> bool:
    """True when an object's status says what ``wanted`` says (timestamps aside)."""
    if not isinstance(status, dict):
        return False
    conditions = status.get("conditions")
    found = [c for c in conditions if isinstance(c, dict)] if isinstance(conditions, list) else []
    theirs = [{k: v for k, v in c.items() if k != _TIME} for c in found]
    return {k: status.get(k) for k in _FIELDS} == {k: wanted[k] for k in _FIELDS} and (
        theirs == wanted["conditions"]
    )


def _stamped(status: JsonObject, current: object) -> JsonObject:
    """``status`` with each condition's ``lastTransitionTime``: kept from the current
    condition of that type when its ``status`` is the same, now otherwise."""
    before: dict[str, JsonObject] = {}
    if isinstance(current, dict) and isinstance(current.get("conditions"), list):
        before = {str(c.get("type")): c for c in current["conditions"] if isinstance(c, dict)}
    now = _now()
    conditions = []
    for condition in status["conditions"]:
        old = before.get(condition["type"], {})
        kept = old.get(_TIME) if old.get("status") == condition["status"] else None
        conditions.append(dict(condition, lastTransitionTime=kept or now))
    return dict(status, conditions=conditions)


def _metadata(obj: JsonObject) -> JsonObject:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _object_name(obj: JsonObject) -> str:
    metadata = _metadata(obj)
    namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
    return f"{namespace}/{name}" if namespace else str(name)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
