"""Errors of the reflector.

::

    ContivpyError (contivpy.errors)
    └── ReflectorError                 base of the reflector's own errors
        ├── KubeApiUnavailableError    no answer, a timeout, 429 or 5xx (retriable: back off)
        ├── ResourceExpiredError       410 Gone: the resourceVersion is too old; relist
        ├── ResourceNotServedError     404 on a collection: the kind (a CRD) is not installed
        ├── KubeApiRequestError        any other refusal (401, 403, 400, ...): permanent
        ├── ConversionError            a Kubernetes object that does not fit its model
        └── LeadershipLostError        a fenced etcd write found that we no longer lead

Only ``contivpy.reflector.watching`` turns kubernetes_asyncio and aiohttp errors into these,
with the original chained as ``__cause__``. Store errors keep their own tree
(``contivpy.store.errors``).
"""

from __future__ import annotations

from contivpy.errors import ContivpyError, PermanentError, RetriableError


class ReflectorError(ContivpyError):
    """Base of the reflector's errors."""


class KubeApiUnavailableError(ReflectorError, RetriableError):
    """The API server did not answer usefully; the same request may work later."""


class ResourceExpiredError(ReflectorError, PermanentError):
    """The watch or list asked for a resourceVersion the API server no longer has (410)."""


class ResourceNotServedError(ReflectorError, PermanentError):
    """The API server does not serve this resource (404): its CRD is not installed."""


class KubeApiRequestError(ReflectorError, PermanentError):
    """The API server refused the request; ``status`` is the HTTP status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class ConversionError(ReflectorError, PermanentError):
    """A Kubernetes object that cannot be reflected: the message names the resource, the
    object and the field (``service default/web: field 'spec.ports[0].port': expected an
    integer, got 'http'``). ``key`` is the object's etcd key when its name could be read."""

    def __init__(self, resource: str, name: str, problem: str, *, key: str | None = None) -> None:
        super().__init__(f"{resource} {name}: {problem}")
        self.resource = resource
        self.name = name
        self.problem = problem
        self.key = key


class LeadershipLostError(ReflectorError, RetriableError):
    """A write guarded by the leader key failed its compare: another instance leads now."""
