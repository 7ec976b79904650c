"""The Services' checker of the refusal Events: what a Service, its EndpointSlices and its
Endpoints are refused for.

In: the view's ``service``, ``endpoints`` and ``endpointslice`` bytes of each Service (its
slices by their ``kubernetes.io/service-name``). Out: its problems by subject
(``refusal_events.Subject``) — the core Service (reason ``InvalidService``), its Endpoints
(``InvalidEndpoints``) or one of its slices (``InvalidEndpointSlice``) — posted as Warning
Events by ``refusal_events``. A service with slices is joined with them (its Endpoints are
then not looked at, as by the agents).

The problems are the service processor's (``contivpy.services.processor.join``) and are the
ones every node agent finds too (its ``ctl events``): the join's checks do not depend on a
node (``LocalNode`` and the node IPs only set the backends' flags). The NodePort range is the
one input that is the agents' configuration (``services.nodePortRange``), not the
reflector's: it is not checked here (the API server checks its own range anyway).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from contivpy.models.k8s_codec import Endpoints, EndpointSlice, Service, key_for
from contivpy.reflector.crd_status import decoded_as
from contivpy.reflector.refusal_events import Problems, Subject
from contivpy.reflector.view import ReflectedView
from contivpy.services.model import LocalNode
from contivpy.services.processor import JoinRules, join

SERVICE = "service"
ENDPOINTS = "endpoints"
ENDPOINT_SLICE = "endpointslice"
KINDS = (SERVICE, ENDPOINTS, ENDPOINT_SLICE)
_SUBJECTS = ("Service", "Endpoints", "EndpointSlice")
# The agents' NodePort range is their configuration: every port is in this one.
_RULES = JoinRules(node_port_range=(1, 65535))
_SERVICE_PREFIX = "k8s/service/"
_ENDPOINTS_PREFIX = "k8s/endpoints/"


def problems_by_subject(
    service: Service, endpoints: Endpoints | None, slices: Sequence[EndpointSlice] = ()
) -> Problems:
    """The join's problems of one service, by the object each names, without the object's
    name (the Event's ``involvedObject`` says it)."""
    joined = join(service, endpoints, LocalNode(), rules=_RULES, slices=slices)
    names = {"Service": [service.name], "Endpoints": [service.name]}
    names["EndpointSlice"] = [s.name for s in slices]
    found: dict[Subject, set[str]] = {}
    for problem in joined.problems:
        subject = _subject_of(problem, service.namespace, names)
        if subject is not None:
            prefix = f"{subject.kind} {subject.namespace}/{subject.name} "
            found.setdefault(subject, set()).add(problem[len(prefix) :])
    return {subject: frozenset(texts) for subject, texts in found.items()}


def _subject_of(problem: str, namespace: str, names: Mapping[str, list[str]]) -> Subject | None:
    for kind in _SUBJECTS:
        for name in names[kind]:
            if problem.startswith(f"{kind} {namespace}/{name} "):
                return Subject(kind, namespace, name)
    return None


class ServiceChecker:
    """A Service joined with its slices or Endpoints (``refusal_events.Checker``); the
    inputs are the Service's bytes, its Endpoints' and then each slice's key and bytes."""

    kinds = KINDS

    def __init__(self) -> None:
        # slice key -> (its bytes, the service key it belongs to): decoded once per change
        self._slice_owner: dict[str, tuple[bytes, str | None]] = {}

    def inputs(self, view: ReflectedView) -> Mapping[str, tuple[bytes | None, ...]]:
        if SERVICE not in view.kinds:
            return {}
        endpoints: dict[str, bytes] = {}
        if ENDPOINTS in view.kinds:
            for key, value in view.objects(ENDPOINTS).items():
                endpoints[key.replace(_ENDPOINTS_PREFIX, _SERVICE_PREFIX, 1)] = value
        slices = self._slices_by_service(view)
        return {
            key: (value, endpoints.get(key), *slices.get(key, ()))
            for key, value in view.objects(SERVICE).items()
        }

    def _slices_by_service(self, view: ReflectedView) -> dict[str, list[bytes]]:
        if ENDPOINT_SLICE not in view.kinds:
            return {}
        current = view.objects(ENDPOINT_SLICE)
        for gone in self._slice_owner.keys() - current.keys():
            del self._slice_owner[gone]
        found: dict[str, list[bytes]] = {}
        for key, value in sorted(current.items()):
            cached = self._slice_owner.get(key)
            if cached is None or (cached[0] is not value and cached[0] != value):
                model = decoded_as(key, value, EndpointSlice)
                owner = None
                if model is not None and model.service_name:
                    with contextlib.suppress(ValueError):  # no name a Service can have
                        owner = key_for(SERVICE, model.service_name, model.namespace)
                cached = (value, owner)
                self._slice_owner[key] = cached
            if cached[1] is not None:
                found.setdefault(cached[1], []).extend((key.encode(), value))
        return found

    def problems(self, key: str, inputs: tuple[bytes | None, ...]) -> Problems:
        value, theirs, *slice_items = inputs
        service = decoded_as(key, value, Service) if value is not None else None
        if service is None:
            return {}
        endpoints = None
        if theirs is not None:
            endpoints_key = key.replace(_SERVICE_PREFIX, _ENDPOINTS_PREFIX, 1)
            endpoints = decoded_as(endpoints_key, theirs, Endpoints)
        slices = []
        for index in range(0, len(slice_items) - 1, 2):
            slice_key, slice_value = slice_items[index], slice_items[index + 1]
            if slice_key is not None and slice_value is not None:
                model = decoded_as(slice_key.decode(), slice_value, EndpointSlice)
                if model is not None:
                    slices.append(model)
        found = problems_by_subject(service, endpoints, slices)
        for kind in ("Service", "Endpoints"):  # a subject without problems: known, empty
            found.setdefault(Subject(kind, service.namespace, service.name), frozenset())
        for one in slices:
            found.setdefault(Subject("EndpointSlice", one.namespace, one.name), frozenset())
        return found
