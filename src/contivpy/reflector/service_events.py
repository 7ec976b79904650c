"""Warning Events on refused Services (and on Endpoints the join skips parts of).

In: the ``ReflectedView`` (``service`` and ``endpoints``), a ``KubeWriter`` (None: nothing is
written), the store and the election fence (checked before each Event, so a deposed leader
stops reporting: ``LeadershipLostError``).
Out: one Warning Event per distinct problem on the object it names — reason
``InvalidService`` on the core Service, ``InvalidEndpoints`` on its Endpoints — with the
problem (the field and the value, ``spec.ports[0].port: 0 is out of range 1..65535``) as the
message, and a log line. Nothing else is written: a core Service has no condition to carry it.

The problems are the service processor's (``contivpy.services.processor.join``) and are the
ones every node agent finds too (its ``ctl events``): the join's checks do not depend on a
node (``LocalNode`` and the node IPs only set the backends' flags). The NodePort range is the
one input that is the agents' configuration (``services.nodePortRange``), not the
reflector's: it is not checked here (the API server checks its own range anyway).

De-duplication: an Event is posted when a problem appears on an object, not on every pass.
A pass joins again only the services whose Service or Endpoints bytes changed, and looks
only at their objects (and those whose Events could not be posted yet). The first
Event of a problem is named after the object's UID and the problem, so a new leader (or a
restarted reflector) that finds the same problems gets a conflict for each and posts nothing;
a problem that was fixed and comes back within one term is a new occurrence and gets a new
Event. A fixed problem gets no Event (as for the CRDs' refused entries). A failed post (the
API server away, the object gone) is retried on a later pass, with back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

import structlog

from contivpy.backoff import Backoff
from contivpy.models.k8s_codec import Endpoints, Service
from contivpy.reflector.crd_status import decoded_as
from contivpy.reflector.errors import KubeApiRequestError, LeadershipLostError, ReflectorError
from contivpy.reflector.object_status import COMPONENT
from contivpy.reflector.source import JsonObject, KubeWriter
from contivpy.reflector.view import ReflectedView
from contivpy.services.model import LocalNode
from contivpy.services.processor import JoinRules, join
from contivpy.store import Compare, Store, StoreError, Txn

log = structlog.get_logger(__name__)

SERVICE = "service"
ENDPOINTS = "endpoints"
KINDS = (SERVICE, ENDPOINTS)
SERVICE_REASON = "InvalidService"
ENDPOINTS_REASON = "InvalidEndpoints"
# The agents' NodePort range is their configuration: every port is in this one.
_RULES = JoinRules(node_port_range=(1, 65535))
_CONFLICT = 409
_SERVICE_PREFIX = "k8s/service/"
_ENDPOINTS_PREFIX = "k8s/endpoints/"


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """An object Events are about: ``Service`` or ``Endpoints``, its namespace and name."""

    kind: str
    namespace: str
    name: str

    @property
    def path(self) -> str:
        plural = "services" if self.kind == "Service" else "endpoints"
        return f"/api/v1/namespaces/{self.namespace}/{plural}/{self.name}"

    @property
    def reason(self) -> str:
        return SERVICE_REASON if self.kind == "Service" else ENDPOINTS_REASON


def problems_by_subject(
    service: Service, endpoints: Endpoints | None
) -> dict[Subject, frozenset[str]]:
    """The join's problems of one service, by the object each names, without the object's
    name (the Event's ``involvedObject`` says it)."""
    joined = join(service, endpoints, LocalNode(), rules=_RULES)
    found: dict[Subject, set[str]] = {}
    for problem in joined.problems:
        for kind in ("Service", "Endpoints"):
            prefix = f"{kind} {service.namespace}/{service.name} "
            if problem.startswith(prefix):
                subject = Subject(kind, service.namespace, service.name)
                found.setdefault(subject, set()).add(problem[len(prefix) :])
                break
    return {subject: frozenset(texts) for subject, texts in found.items()}


class ServiceEvents:
    """Posts the Events of refused Services (see the module doc)."""

    def __init__(
        self,
        store: Store,
        view: ReflectedView,
        kube: KubeWriter | None,
        *,
        fence: Compare,
        retry: Backoff,
    ) -> None:
        self._store = store
        self._view = view
        self._kube = kube
        self._fence = fence
        self._retry = retry
        # Service key -> (Service bytes, Endpoints bytes, its problems by subject)
        self._joined: dict[str, tuple[bytes, bytes | None, dict[Subject, frozenset[str]]]] = {}
        # per subject seen in this term: the problems posted (or found posted) ...
        self._reported: dict[Subject, frozenset[str]] = {}
        # ... and those reported in this term that went away since (their return is new)
        self._cleared: dict[Subject, frozenset[str]] = {}
        self._pending: set[Subject] = set()  # joined again, or not all posted: to report
        self.passes = 0
        self.synced: tuple[int, ...] = ()  # the view's versions the last whole pass covered
        self.events = 0  # Events created

    async def run(self) -> None:
        """Report until cancelled; raises ``LeadershipLostError`` when the fence fails."""
        await self._view.wait_all_listed()
        kinds = tuple(kind for kind in KINDS if kind in self._view.kinds)
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
            if subject not in wanted:  # the service is gone
                self._reported.pop(subject, None)
                self._cleared.pop(subject, None)
            elif not await self._report(subject, wanted[subject]):
                done = False
                continue  # still pending
            self._pending.discard(subject)
        return done

    def _problems(self) -> dict[Subject, frozenset[str]]:
        """Every service's problems by subject (an empty set for a subject without any)."""
        services = self._view.objects(SERVICE) if SERVICE in self._view.kinds else {}
        endpoints: dict[str, bytes] = {}
        if ENDPOINTS in self._view.kinds:
            for key, value in self._view.objects(ENDPOINTS).items():
                endpoints[key.replace(_ENDPOINTS_PREFIX, _SERVICE_PREFIX, 1)] = value
        for key in self._joined.keys() - services.keys():
            self._pending.update(self._joined.pop(key)[2])
        wanted: dict[Subject, frozenset[str]] = {}
        for key, value in services.items():
            theirs = endpoints.get(key)
            cached = self._joined.get(key)
            if cached is None or cached[0] != value or cached[1] != theirs:
                old = cached[2] if cached is not None else {}
                cached = (value, theirs, _problems_of(key, value, theirs))
                self._joined[key] = cached
                self._pending.update(old.keys() | cached[2].keys())
            wanted.update(cached[2])
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


def _problems_of(key: str, value: bytes, theirs: bytes | None) -> dict[Subject, frozenset[str]]:
    service = decoded_as(key, value, Service)
    if service is None:
        return {}
    endpoints = None
    if theirs is not None:
        endpoints_key = key.replace(_SERVICE_PREFIX, _ENDPOINTS_PREFIX, 1)
        endpoints = decoded_as(endpoints_key, theirs, Endpoints)
    found = problems_by_subject(service, endpoints)
    for kind in ("Service", "Endpoints"):  # a subject without problems: known, empty
        found.setdefault(Subject(kind, service.namespace, service.name), frozenset())
    return found


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
            "apiVersion": "v1",
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
