"""Warning Events on refused objects: the engine, the kinds it reports on and its checkers.

In: the ``ReflectedView``, the ``Checker`` of each family of objects (``service_events``:
Services with their Endpoints; ``policy_events``: NetworkPolicies; ``named_port_events``: a
namespace's Services and NetworkPolicies against its pods' named ports; several checkers may
name one object, its problems are their union), a ``KubeWriter`` (None:
nothing is written), the store and the election fence (checked before each Event, so a
deposed leader stops reporting: ``LeadershipLostError``).
Out: one Warning Event per distinct problem on the object it names (``Subject``), its
reason the kind's (``InvalidService``, ``InvalidEndpoints``, ``InvalidNetworkPolicy``), the
problem (the field and the value, ``spec.ports[0].port: 0 is out of range 1..65535``) as
the message, and a log line. Nothing else is written: the objects have no condition to carry
it.

The problems are the node agents' own checks (the pure ``services``/``policy`` packages), so
the Event says what every agent's ``ctl events`` says.

De-duplication: an Event is posted when a problem appears on an object, not on every pass.
A pass checks again only the objects whose input bytes changed, and looks only at their
subjects (and those whose Events could not be posted yet). The first Event of a problem is
named after the object's UID and the problem, so a new leader (or a restarted reflector)
that finds the same problems gets a conflict for each and posts nothing; a problem that was
fixed and comes back within one term is a new occurrence and gets a new Event. A fixed
problem gets no Event (as for the CRDs' refused entries). A failed post (the API server
away, the object gone) is retried on a later pass, with back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from contivpy.backoff import Backoff
from contivpy.reflector.errors import KubeApiRequestError, LeadershipLostError, ReflectorError
from contivpy.reflector.object_status import COMPONENT
from contivpy.reflector.source import JsonObject, KubeWriter
from contivpy.reflector.view import ReflectedView
from contivpy.store import Compare, Store, StoreError, Txn

log = structlog.get_logger(__name__)

_CONFLICT = 409


@dataclass(frozen=True, slots=True)
class SubjectKind:
    """What an Event needs to know of a kind: its API version, where its objects are and the
    reason of its Events."""

    api_version: str
    plural: str
    reason: str

    @property
    def base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


SUBJECT_KINDS: dict[str, SubjectKind] = {
    "Service": SubjectKind("v1", "services", "InvalidService"),
    "Endpoints": SubjectKind("v1", "endpoints", "InvalidEndpoints"),
    "EndpointSlice": SubjectKind("discovery.k8s.io/v1", "endpointslices", "InvalidEndpointSlice"),
    "NetworkPolicy": SubjectKind("networking.k8s.io/v1", "networkpolicies", "InvalidNetworkPolicy"),
}


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """An object Events are about: its kind (a key of ``SUBJECT_KINDS``), namespace and name."""

    kind: str
    namespace: str
    name: str

    @property
    def path(self) -> str:
        of = SUBJECT_KINDS[self.kind]
        return f"{of.base}/namespaces/{self.namespace}/{of.plural}/{self.name}"

    @property
    def reason(self) -> str:
        return SUBJECT_KINDS[self.kind].reason


Problems = dict[Subject, frozenset[str]]


class Checker(Protocol):
    """One family of objects checked together (a Service with its Endpoints)."""

    @property
    def kinds(self) -> tuple[str, ...]:
        """The view's kinds whose changes may change the problems."""

    def inputs(self, view: ReflectedView) -> Mapping[str, tuple[bytes | None, ...]]:
        """Per checked object (its view key), the bytes its problems depend on."""

    def problems(self, key: str, inputs: tuple[bytes | None, ...]) -> Problems:
        """The problems of one object by subject, without the object's name (the Event's
        ``involvedObject`` says it); every subject of the object, an empty set if it has
        none."""


class RefusalEvents:
    """Posts the Events of refused objects (see the module doc)."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        kube: KubeWriter | None,
        checkers: Sequence[Checker],
        *,
        fence: Compare,
        retry: Backoff,
    ) -> None:
        self._store = store
        self._view = view
        self._kube = kube
        self._checkers = tuple(checkers)
        self._fence = fence
        self._retry = retry
        # (checker, object key) -> (its input bytes, its problems by subject)
        self._checked: dict[tuple[int, str], tuple[tuple[bytes | None, ...], Problems]] = {}
        # per subject seen in this term: the problems posted (or found posted) ...
        self._reported: dict[Subject, frozenset[str]] = {}
        # ... and those reported in this term that went away since (their return is new)
        self._cleared: dict[Subject, frozenset[str]] = {}
        self._pending: set[Subject] = set()  # checked again, or not all posted: to report
        self.passes = 0
        self.synced: tuple[int, ...] = ()  # the view's versions the last whole pass covered
        self.events = 0  # Events created

    @property
    def kinds(self) -> tuple[str, ...]:
        """The view's kinds a pass reads."""
        found: list[str] = []
        for checker in self._checkers:
            found += [k for k in checker.kinds if k in self._view.kinds and k not in found]
        return tuple(found)

    async def run(self) -> None:
        """Report until cancelled; raises ``LeadershipLostError`` when the fence fails."""
        await self._view.wait_all_listed()
        kinds = self.kinds
        seen: tuple[int, ...] = ()
        delays = self._retry.delays()
        while True:
            await self._view.wait_versions(kinds, seen)
            seen = self._view.versions(kinds)
            done = await self.sync()
            self.passes += 1
            if done:
                self.synced = seen
                delays = self._retry.delays()
            else:  # an Event not posted: another pass after a while, even if nothing moves
                await asyncio.sleep(next(delays))
                seen = ()

    async def sync(self) -> bool:
        """One pass; False when an Event could not be posted (a later pass tries again)."""
        wanted = self._problems()
        done = True
        for subject in sorted(self._pending):
            if subject not in wanted:  # the object is gone
                self._reported.pop(subject, None)
                self._cleared.pop(subject, None)
            elif not await self._report(subject, wanted[subject]):
                done = False
                continue  # still pending
            self._pending.discard(subject)
        return done

    def _problems(self) -> Problems:
        """Every checked object's problems by subject (an empty set for one without any)."""
        wanted: Problems = {}
        for index, checker in enumerate(self._checkers):
            current = checker.inputs(self._view)
            for cache_key in [c for c in self._checked if c[0] == index]:
                if cache_key[1] not in current:
                    self._pending.update(self._checked.pop(cache_key)[1])
            for key, inputs in current.items():
                cached = self._checked.get((index, key))
                if cached is None or cached[0] != inputs:
                    old = cached[1] if cached is not None else {}
                    cached = (inputs, checker.problems(key, inputs))
                    self._checked[(index, key)] = cached
                    self._pending.update(old.keys() | cached[1].keys())
                for subject, problems in cached[1].items():  # several checkers may name one
                    wanted[subject] = wanted.get(subject, frozenset()) | problems
        return wanted

    async def _report(self, subject: Subject, problems: frozenset[str]) -> bool:
        """Post an Event for each problem of ``subject`` not reported yet."""
        before = self._reported.get(subject, frozenset())
        cleared = self._cleared.get(subject, frozenset()) | (before - problems)
        posted = problems & before
        new = problems - before
        try:
            if new and self._kube is not None:
                obj = await self._kube.get_object(subject.path)
                for problem in sorted(new):
                    await self._check_leading()
                    await self._post(subject, obj, problem, recurring=problem in cleared)
                    posted |= {problem}
            else:
                posted = problems
        except LeadershipLostError:
            raise
        except (ReflectorError, StoreError) as error:
            # Gone meanwhile, or the API server or etcd is away: a later pass tries again.
            log.info("event not posted", object=subject.path, error=str(error))
            return False
        finally:
            self._reported[subject] = posted
            self._cleared[subject] = cleared - posted
        return True

    async def _check_leading(self) -> None:
        result = await self._store.txn(Txn(compare=(self._fence,)))
        if not result.succeeded:
            raise LeadershipLostError("the leader key no longer holds our identity")

    async def _post(
        self, subject: Subject, obj: JsonObject, problem: str, *, recurring: bool
    ) -> None:
        assert self._kube is not None  # the caller checked
        event = _event(subject, obj, problem, recurring=recurring)
        try:
            await self._kube.create_object(f"/api/v1/namespaces/{subject.namespace}/events", event)
        except KubeApiRequestError as error:
            if error.status == _CONFLICT and not recurring:
                return  # posted before (by a previous leader, or before a restart)
            raise
        self.events += 1
        log.warning(
            "refused",
            kind=subject.kind,
            object=f"{subject.namespace}/{subject.name}",
            problem=problem,
        )


def _event(subject: Subject, obj: JsonObject, problem: str, *, recurring: bool) -> JsonObject:
    """The Event; named after the object's UID and the problem unless it is a recurrence."""
    metadata = obj.get("metadata")
    uid = str(metadata.get("uid", "")) if isinstance(metadata, dict) else ""
    digest = hashlib.sha256(f"{uid}\n{problem}".encode()).hexdigest()[:16]
    naming = (
        {"generateName": f"{subject.name}."} if recurring else {"name": f"{subject.name}.{digest}"}
    )
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "metadata": {**naming, "namespace": subject.namespace},
        "involvedObject": {
            "apiVersion": SUBJECT_KINDS[subject.kind].api_version,
            "kind": subject.kind,
            "namespace": subject.namespace,
            "name": subject.name,
            "uid": uid,
        },
        "reason": subject.reason,
        "message": problem,
        "type": "Warning",
        "count": 1,
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "reportingComponent": COMPONENT,
    }
