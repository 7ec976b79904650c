"""Refusals of the Kubernetes API stand-in, shaped like the real API server's Status objects.

In: what went wrong (a code, a reason, a message, optional details). Out: an exception the HTTP
module turns into a ``Status`` response (or, inside a watch, an ERROR event) and that the
Python API raises to tests unchanged::

    ContivpyError
    └── KubeApiError            code + reason + message + details, rendered by to_status()
        ├── ManifestError       a manifest file that is not a list of Kubernetes objects
        └── ServerUnreachable   (client side) no HTTP answer at all from the server

The helper functions build the errors the real API server returns, with its wording, so a
client that parses ``reason`` or ``code`` sees the same thing it would in a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contivpy.errors import ContivpyError
from contivpy.sim.kube.objects import JsonObject


class KubeApiError(ContivpyError):
    """The API server refused a request; ``code`` is the HTTP status it answers with."""

    def __init__(
        self, code: int, reason: str, message: str, *, details: JsonObject | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self) -> JsonObject:
        """The ``Status`` object the real API server sends for this failure."""
        status: JsonObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


class ManifestError(KubeApiError):
    """A manifest that cannot be applied (not YAML, not an object, no kind)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


class ServerUnreachable(KubeApiError):
    """The client got no HTTP answer (connection refused, reset, DNS); 503 by convention."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "ServiceUnavailable", message)


def qualified_resource(plural: str, group: str) -> str:
    """``pods`` or ``customnetworks.contivpp.io``: how messages name a resource."""
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str) -> JsonObject:
    details: JsonObject = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(plural: str, group: str, name: str) -> KubeApiError:
    return KubeApiError(
        404,
        "NotFound",
        f'{qualified_resource(plural, group)} "{name}" not found',
        details=_details(name, group, plural),
    )


def already_exists(plural: str, group: str, name: str) -> KubeApiError:
    return KubeApiError(
        409,
        "AlreadyExists",
        f'{qualified_resource(plural, group)} "{name}" already exists',
        details=_details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> KubeApiError:
    return KubeApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified_resource(plural, group)} "{name}": {why}',
        details=_details(name, group, plural),
    )


MODIFIED_SINCE_READ = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(kind: str, group: str, name: str, causes: Sequence[JsonObject]) -> KubeApiError:
    """422: the object failed validation; ``causes`` carry field, reason and message."""
    summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    details = _details(name, group, kind)
    details["causes"] = list(causes)
    qualified_kind = f"{kind}.{group}" if group else kind
    return KubeApiError(
        422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details=details
    )


def cause(field: str, reason: str, message: str) -> JsonObject:
    """One validation cause; ``reason`` is e.g. FieldValueRequired or FieldValueInvalid."""
    return {"field": field, "reason": reason, "message": message}


def required(field: str) -> JsonObject:
    return cause(field, "FieldValueRequired", "Required value")


def invalid_value(field: str, value: Any, why: str) -> JsonObject:
    return cause(field, "FieldValueInvalid", f"Invalid value: {_render(value)}: {why}")


def unsupported_value(field: str, value: Any, allowed: Sequence[str]) -> JsonObject:
    supported = ", ".join(f'"{a}"' for a in allowed)
    return cause(
        field,
        "FieldValueNotSupported",
        f"Unsupported value: {_render(value)}: supported values: {supported}",
    )


def forbidden(field: str, why: str) -> JsonObject:
    return cause(field, "FieldValueForbidden", f"Forbidden: {why}")


def _render(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def bad_request(message: str) -> KubeApiError:
    return KubeApiError(400, "BadRequest", message)


def expired(message: str) -> KubeApiError:
    """410 Gone: the requested resourceVersion or continue token has been compacted away."""
    return KubeApiError(410, "Expired", message)


def too_large_resource_version(requested: int, current: int) -> KubeApiError:
    return KubeApiError(
        504,
        "Timeout",
        f"Too large resource version: {requested}, current: {current}",
        details={"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large"}]},
    )


def method_not_allowed(verb: str, what: str) -> KubeApiError:
    return KubeApiError(405, "MethodNotAllowed", f"{verb} is not supported on {what}")


def unsupported_media_type(content_type: str) -> KubeApiError:
    return KubeApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format: "{content_type}"',
    )
