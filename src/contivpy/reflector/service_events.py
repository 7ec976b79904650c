"""The Services' checker of the refusal Events: what a Service and its Endpoints are refused for.

In: the view's ``service`` and ``endpoints`` bytes of each Service. Out: its problems by
subject (``refusal_events.Subject``) — the core Service (reason ``InvalidService``) or its
Endpoints (``InvalidEndpoints``) — posted as Warning Events by ``refusal_events``.

The problems are the service processor's (``contivpy.services.processor.join``) and are the
ones every node agent finds too (its ``ctl events``): the join's checks do not depend on a
node (``LocalNode`` and the node IPs only set the backends' flags). The NodePort range is the
one input that is the agents' configuration (``services.nodePortRange``), not the
reflector's: it is not checked here (the API server checks its own range anyway).
"""

from __future__ import annotations

from collections.abc import Mapping

from contivpy.models.k8s_codec import Endpoints, Service
from contivpy.reflector.crd_status import decoded_as
from contivpy.reflector.refusal_events import Problems, Subject
from contivpy.reflector.view import ReflectedView
from contivpy.services.model import LocalNode
from contivpy.services.processor import JoinRules, join

SERVICE = "service"
ENDPOINTS = "endpoints"
KINDS = (SERVICE, ENDPOINTS)
# The agents' NodePort range is their configuration: every port is in this one.
_RULES = JoinRules(node_port_range=(1, 65535))
_SERVICE_PREFIX = "k8s/service/"
_ENDPOINTS_PREFIX = "k8s/endpoints/"


def problems_by_subject(service: Service, endpoints: Endpoints | None) -> Problems:
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


class ServiceChecker:
    """A Service joined with its Endpoints (``refusal_events.Checker``)."""

    kinds = KINDS

    def inputs(self, view: ReflectedView) -> Mapping[str, tuple[bytes | None, ...]]:
        if SERVICE not in view.kinds:
            return {}
        endpoints: dict[str, bytes] = {}
        if ENDPOINTS in view.kinds:
            for key, value in view.objects(ENDPOINTS).items():
                endpoints[key.replace(_ENDPOINTS_PREFIX, _SERVICE_PREFIX, 1)] = value
        return {key: (value, endpoints.get(key)) for key, value in view.objects(SERVICE).items()}

    def problems(self, key: str, inputs: tuple[bytes | None, ...]) -> Problems:
        value, theirs = inputs
        service = decoded_as(key, value, Service) if value is not None else None
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
